//! The province contacts registry at the national platform: append-only versions per province.

use async_trait::async_trait;
use coldtrace_domain::contacts::{ContactsVersion, ProvinceContacts};
use coldtrace_store::ContactsStore;

use crate::{Error, PgStore};

type StoreResult<T> = coldtrace_store::Result<T>;

const COLUMNS: &str = "province, version, body, updated_at, updated_by";

fn version(r: &tokio_postgres::Row) -> StoreResult<ContactsVersion> {
    Ok(ContactsVersion {
        province: r.get(0),
        version: r.get::<_, i64>(1) as u64,
        contacts: serde_json::from_str(r.get::<_, &str>(2))?,
        updated_at_ms: r.get(3),
        updated_by: r.get(4),
    })
}

#[async_trait]
impl ContactsStore for PgStore {
    async fn put_contacts(
        &self,
        province: String,
        contacts: ProvinceContacts,
        by: String,
        now_ms: i64,
    ) -> StoreResult<ContactsVersion> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(Error::from)?;
        // Two nodes storing the same province's entry at once number their versions one after the other.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('coldtrace:contacts:' || current_schema() || ':' || $1)::bigint)",
            &[&province],
        )
        .await
        .map_err(Error::from)?;
        let current = tx
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM province_contacts WHERE province = $1 ORDER BY version DESC LIMIT 1"
                ),
                &[&province],
            )
            .await
            .map_err(Error::from)?
            .as_ref()
            .map(version)
            .transpose()?;
        if let Some(cur) = current.as_ref().filter(|c| c.contacts == contacts) {
            return Ok(cur.clone());
        }
        let next = current.map_or(1, |c| c.version + 1);
        let body = serde_json::to_string(&contacts)?;
        tx.execute(
            &format!("INSERT INTO province_contacts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5)"),
            &[&province, &(next as i64), &body, &now_ms, &by],
        )
        .await
        .map_err(Error::from)?;
        tx.commit().await.map_err(Error::from)?;
        Ok(ContactsVersion {
            province,
            version: next,
            contacts,
            updated_at_ms: now_ms,
            updated_by: by,
        })
    }

    async fn contacts(&self) -> StoreResult<Vec<ContactsVersion>> {
        let c = self.client().await?;
        c.query(
            &format!(
                "SELECT DISTINCT ON (province) {COLUMNS} FROM province_contacts ORDER BY province, version DESC"
            ),
            &[],
        )
        .await
        .map_err(Error::from)?
        .iter()
        .map(version)
        .collect()
    }

    async fn contacts_history(&self, province: String) -> StoreResult<Vec<ContactsVersion>> {
        let c = self.client().await?;
        c.query(
            &format!(
                "SELECT {COLUMNS} FROM province_contacts WHERE province = $1 ORDER BY version"
            ),
            &[&province],
        )
        .await
        .map_err(Error::from)?
        .iter()
        .map(version)
        .collect()
    }
}
