//! Credentials: API keys and docking clients.

use async_trait::async_trait;
use coldtrace_domain::{ProvinceCode, Role};
use rusqlite::{OptionalExtension, params};

use super::*;
use crate::{Account, Credential, CredentialInfo, StoreError};

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn create_credential(&self, cr: Credential) -> StoreResult<()> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO credentials (id, key_hash, role, enterprise_id, province, label, revoked, created_at, expires_at, account)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                cr.id.to_string(),
                cr.key_hash,
                cr.role.as_str(),
                cr.enterprise.map(|e| e.to_string()),
                cr.province.as_ref().map(|p| p.as_str().to_string()),
                cr.label,
                cr.revoked,
                now_ms(),
                cr.expires_at_ms,
                cr.account
            ])?;
            Ok(())
        })
        .await
    }

    async fn credential_by_hash(&self, key_hash: &str) -> StoreResult<Option<Credential>> {
        let h = key_hash.to_string();
        self.read(move |c| {
            type Row = (String, String, String, Option<String>, Option<String>, String, bool, Option<i64>, Option<String>);
            let row: Option<Row> = c
                .prepare_cached(
                    "SELECT id, key_hash, role, enterprise_id, province, label, revoked, expires_at, account FROM credentials WHERE key_hash = ?1",
                )?
                .query_row([h], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?)))
                .optional()?;
            let Some((id, key_hash, role, ent, prov, label, revoked, expires_at_ms, account)) = row else { return Ok(None) };
            Ok(Some(Credential {
                id: parse_uuid(&id)?,
                key_hash,
                role: Role::parse(&role).map_err(StoreError::Task)?,
                enterprise: ent.map(|e| parse_uuid(&e)).transpose()?,
                province: prov.map(|p| ProvinceCode::parse(&p).map_err(|e| StoreError::Task(e.to_string()))).transpose()?,
                label,
                revoked,
                expires_at_ms,
                account,
            }))
        })
        .await
    }

    async fn credential(&self, id: Uuid) -> StoreResult<Option<CredentialInfo>> {
        self.read(move |c| {
            let sql = format!("SELECT {INFO} FROM credentials WHERE id = ?1");
            let row = c
                .prepare_cached(&sql)?
                .query_row([id.to_string()], info_row)
                .optional()?;
            row.map(info).transpose()
        })
        .await
    }

    async fn credentials(&self) -> StoreResult<Vec<CredentialInfo>> {
        self.read(move |c| {
            let sql = format!("SELECT {INFO} FROM credentials ORDER BY created_at DESC, id DESC");
            let rows = c
                .prepare_cached(&sql)?
                .query_map([], info_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(info).collect()
        })
        .await
    }

    async fn revoke_credential(&self, id: Uuid) -> StoreResult<bool> {
        self.write(move |c| {
            Ok(
                c.prepare_cached("UPDATE credentials SET revoked = 1 WHERE id = ?1")?
                    .execute([id.to_string()])?
                    > 0,
            )
        })
        .await
    }

    async fn create_account(&self, a: Account) -> StoreResult<bool> {
        self.write(move |c| {
            Ok(c.prepare_cached(
                "INSERT INTO accounts (id, login, name, role, enterprise_id, province, password_hash, disabled, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(login) DO NOTHING",
            )?
            .execute(params![
                a.id.to_string(),
                a.login,
                a.name,
                a.role.as_str(),
                a.enterprise.map(|e| e.to_string()),
                a.province.as_ref().map(|p| p.as_str().to_string()),
                a.password_hash,
                a.disabled,
                a.created_at_ms
            ])? > 0)
        })
        .await
    }

    async fn account_by_login(&self, login: &str) -> StoreResult<Option<Account>> {
        let login = login.to_string();
        self.read(move |c| one_account(c, "login", login)).await
    }

    async fn account(&self, id: Uuid) -> StoreResult<Option<Account>> {
        self.read(move |c| one_account(c, "id", id.to_string()))
            .await
    }

    async fn accounts(&self) -> StoreResult<Vec<Account>> {
        self.read(move |c| {
            let sql = format!("SELECT {ACCOUNT} FROM accounts ORDER BY created_at, id");
            let rows = c
                .prepare_cached(&sql)?
                .query_map([], account_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(account).collect()
        })
        .await
    }

    async fn disable_account(&self, id: Uuid) -> StoreResult<bool> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let login: Option<String> = tx
                .prepare_cached("SELECT login FROM accounts WHERE id = ?1")?
                .query_row([id.to_string()], |r| r.get(0))
                .optional()?;
            let Some(login) = login else { return Ok(false) };
            tx.prepare_cached("UPDATE accounts SET disabled = 1 WHERE id = ?1")?
                .execute([id.to_string()])?;
            tx.prepare_cached("UPDATE credentials SET revoked = 1 WHERE account = ?1")?
                .execute([login])?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn put_docking_client(
        &self,
        client_id: String,
        province: String,
        secret_hash: String,
    ) -> StoreResult<()> {
        self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO docking_clients (client_id, province, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(client_id) DO UPDATE SET province = excluded.province, secret_hash = excluded.secret_hash",
            )?
            .execute(params![client_id, province, secret_hash, now_ms()])?;
            Ok(())
        })
        .await
    }

    async fn docking_client(&self, client_id: String) -> StoreResult<Option<(String, String)>> {
        self.read(move |c| {
            Ok(c.prepare_cached(
                "SELECT province, secret_hash FROM docking_clients WHERE client_id = ?1",
            )?
            .query_row([client_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
        })
        .await
    }
}

const INFO: &str =
    "id, role, enterprise_id, province, label, revoked, created_at, expires_at, account";

type InfoRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    bool,
    i64,
    Option<i64>,
    Option<String>,
);

fn info_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<InfoRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

fn info(
    (id, role, ent, prov, label, revoked, created_at_ms, expires_at_ms, account): InfoRow,
) -> crate::Result<CredentialInfo> {
    Ok(CredentialInfo {
        id: parse_uuid(&id)?,
        role: Role::parse(&role).map_err(StoreError::Task)?,
        enterprise: ent.map(|e| parse_uuid(&e)).transpose()?,
        province: prov
            .map(|p| ProvinceCode::parse(&p).map_err(|e| StoreError::Task(e.to_string())))
            .transpose()?,
        label,
        revoked,
        created_at_ms,
        expires_at_ms,
        account,
    })
}

const ACCOUNT: &str =
    "id, login, name, role, enterprise_id, province, password_hash, disabled, created_at";

type AccountRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    bool,
    i64,
);

fn account_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AccountRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

fn account(
    (id, login, name, role, ent, prov, password_hash, disabled, created_at_ms): AccountRow,
) -> crate::Result<Account> {
    Ok(Account {
        id: parse_uuid(&id)?,
        login,
        name,
        role: Role::parse(&role).map_err(StoreError::Task)?,
        enterprise: ent.map(|e| parse_uuid(&e)).transpose()?,
        province: prov
            .map(|p| ProvinceCode::parse(&p).map_err(|e| StoreError::Task(e.to_string())))
            .transpose()?,
        password_hash,
        disabled,
        created_at_ms,
    })
}

/// The account whose `column` (`id` or `login`, both unique) is `value`.
fn one_account(
    c: &rusqlite::Connection,
    column: &'static str,
    value: String,
) -> crate::Result<Option<Account>> {
    let sql = format!("SELECT {ACCOUNT} FROM accounts WHERE {column} = ?1");
    let row = c
        .prepare_cached(&sql)?
        .query_row([value], account_row)
        .optional()?;
    row.map(account).transpose()
}
