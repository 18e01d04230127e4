//! The province contacts registry at the national platform: append-only versions per province.

use async_trait::async_trait;
use coldtrace_domain::contacts::{ContactsVersion, ProvinceContacts};
use rusqlite::{OptionalExtension, params};

use super::*;

pub(crate) const SCHEMA: &str = r#"
-- The province contacts registry (省级联络名录): every version of every province's entry.
CREATE TABLE IF NOT EXISTS province_contacts (
    province TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (province, version)
) WITHOUT ROWID;
"#;

type Row = (String, i64, String, i64, String);

fn version((province, version, body, at, by): Row) -> Result<ContactsVersion> {
    Ok(ContactsVersion {
        province,
        version: version as u64,
        contacts: serde_json::from_str(&body)?,
        updated_at_ms: at,
        updated_by: by,
    })
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

const COLUMNS: &str = "province, version, body, updated_at, updated_by";

fn latest(c: &rusqlite::Connection, province: &str) -> Result<Option<ContactsVersion>> {
    let r = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM province_contacts WHERE province = ?1 ORDER BY version DESC LIMIT 1"
        ))?
        .query_row([province], row)
        .optional()?;
    r.map(version).transpose()
}

#[async_trait]
impl ContactsStore for SqliteStore {
    async fn put_contacts(
        &self,
        province: String,
        contacts: ProvinceContacts,
        by: String,
        now_ms: i64,
    ) -> StoreResult<ContactsVersion> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let current = latest(&tx, &province)?;
            if let Some(cur) = &current
                && cur.contacts == contacts
            {
                return Ok(cur.clone());
            }
            let next = current.map_or(1, |c| c.version + 1);
            tx.execute(
                &format!("INSERT INTO province_contacts ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"),
                params![
                    province,
                    next as i64,
                    serde_json::to_string(&contacts)?,
                    now_ms,
                    by
                ],
            )?;
            let v = latest(&tx, &province)?.expect("just written");
            tx.commit()?;
            Ok(v)
        })
        .await
    }

    async fn contacts(&self) -> StoreResult<Vec<ContactsVersion>> {
        self.read(|c| {
            let mut s = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM province_contacts p
                 WHERE version = (SELECT MAX(version) FROM province_contacts q WHERE q.province = p.province)
                 ORDER BY province"
            ))?;
            let rows = s.query_map([], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(version).collect()
        })
        .await
    }

    async fn contacts_history(&self, province: String) -> StoreResult<Vec<ContactsVersion>> {
        self.read(move |c| {
            let mut s = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM province_contacts WHERE province = ?1 ORDER BY version"
            ))?;
            let rows = s
                .query_map([province], row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(version).collect()
        })
        .await
    }
}
