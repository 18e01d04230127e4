//! Credentials: API keys (by their hash), console accounts, docking clients.

use async_trait::async_trait;
use coldtrace_domain::{ProvinceCode, Role};
use coldtrace_store::{Account, Credential, CredentialInfo, CredentialStore};
use uuid::Uuid;

use crate::{Error, PgStore, Result, now_ms};

type StoreResult<T> = coldtrace_store::Result<T>;

fn role(s: &str) -> Result<Role> {
    Role::parse(s).map_err(|e| Error::Unreadable(format!("role {s:?}: {e}")))
}

fn province(s: Option<String>) -> Result<Option<ProvinceCode>> {
    s.map(|p| {
        ProvinceCode::parse(&p).map_err(|e| Error::Unreadable(format!("province {p:?}: {e}")))
    })
    .transpose()
}

const CREDENTIAL: &str =
    "id, key_hash, role, enterprise_id, province, label, revoked, expires_at, account";
const INFO: &str =
    "id, role, enterprise_id, province, label, revoked, created_at, expires_at, account";
const ACCOUNT: &str =
    "id, login, name, role, enterprise_id, province, password_hash, disabled, created_at";

fn credential(r: &tokio_postgres::Row) -> Result<Credential> {
    Ok(Credential {
        id: r.get(0),
        key_hash: r.get(1),
        role: role(r.get(2))?,
        enterprise: r.get(3),
        province: province(r.get(4))?,
        label: r.get(5),
        revoked: r.get(6),
        expires_at_ms: r.get(7),
        account: r.get(8),
    })
}

fn info(r: &tokio_postgres::Row) -> Result<CredentialInfo> {
    Ok(CredentialInfo {
        id: r.get(0),
        role: role(r.get(1))?,
        enterprise: r.get(2),
        province: province(r.get(3))?,
        label: r.get(4),
        revoked: r.get(5),
        created_at_ms: r.get(6),
        expires_at_ms: r.get(7),
        account: r.get(8),
    })
}

fn account(r: &tokio_postgres::Row) -> Result<Account> {
    Ok(Account {
        id: r.get(0),
        login: r.get(1),
        name: r.get(2),
        role: role(r.get(3))?,
        enterprise: r.get(4),
        province: province(r.get(5))?,
        password_hash: r.get(6),
        disabled: r.get(7),
        created_at_ms: r.get(8),
    })
}

impl PgStore {
    async fn one<T>(
        &self,
        sql: &str,
        param: &(dyn tokio_postgres::types::ToSql + Sync),
        read: fn(&tokio_postgres::Row) -> Result<T>,
    ) -> StoreResult<Option<T>> {
        let c = self.client().await?;
        let row = c.query_opt(sql, &[param]).await.map_err(Error::from)?;
        Ok(row.as_ref().map(read).transpose()?)
    }

    async fn all<T>(
        &self,
        sql: &str,
        read: fn(&tokio_postgres::Row) -> Result<T>,
    ) -> StoreResult<Vec<T>> {
        let c = self.client().await?;
        let rows = c.query(sql, &[]).await.map_err(Error::from)?;
        Ok(rows.iter().map(read).collect::<Result<Vec<_>>>()?)
    }
}

#[async_trait]
impl CredentialStore for PgStore {
    async fn create_credential(&self, cr: Credential) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO credentials (id, key_hash, role, enterprise_id, province, label, revoked, created_at, expires_at, account)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &cr.id,
                &cr.key_hash,
                &cr.role.as_str(),
                &cr.enterprise,
                &cr.province.as_ref().map(|p| p.as_str()),
                &cr.label,
                &cr.revoked,
                &now_ms(),
                &cr.expires_at_ms,
                &cr.account,
            ],
        )
        .await
        .map_err(Error::from)?;
        Ok(())
    }

    async fn credential_by_hash(&self, key_hash: &str) -> StoreResult<Option<Credential>> {
        self.one(
            &format!("SELECT {CREDENTIAL} FROM credentials WHERE key_hash = $1"),
            &key_hash,
            credential,
        )
        .await
    }

    async fn credential(&self, id: Uuid) -> StoreResult<Option<CredentialInfo>> {
        self.one(
            &format!("SELECT {INFO} FROM credentials WHERE id = $1"),
            &id,
            info,
        )
        .await
    }

    async fn credentials(&self) -> StoreResult<Vec<CredentialInfo>> {
        self.all(
            &format!("SELECT {INFO} FROM credentials ORDER BY created_at DESC, id DESC"),
            info,
        )
        .await
    }

    async fn revoke_credential(&self, id: Uuid) -> StoreResult<bool> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE credentials SET revoked = TRUE WHERE id = $1",
                &[&id],
            )
            .await
            .map_err(Error::from)?;
        Ok(n > 0)
    }

    async fn create_account(&self, a: Account) -> StoreResult<bool> {
        let c = self.client().await?;
        let n = c
            .execute(
                "INSERT INTO accounts (id, login, name, role, enterprise_id, province, password_hash, disabled, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (login) DO NOTHING",
                &[
                    &a.id,
                    &a.login,
                    &a.name,
                    &a.role.as_str(),
                    &a.enterprise,
                    &a.province.as_ref().map(|p| p.as_str()),
                    &a.password_hash,
                    &a.disabled,
                    &a.created_at_ms,
                ],
            )
            .await
            .map_err(Error::from)?;
        Ok(n > 0)
    }

    async fn account_by_login(&self, login: &str) -> StoreResult<Option<Account>> {
        self.one(
            &format!("SELECT {ACCOUNT} FROM accounts WHERE login = $1"),
            &login,
            account,
        )
        .await
    }

    async fn account(&self, id: Uuid) -> StoreResult<Option<Account>> {
        self.one(
            &format!("SELECT {ACCOUNT} FROM accounts WHERE id = $1"),
            &id,
            account,
        )
        .await
    }

    async fn accounts(&self) -> StoreResult<Vec<Account>> {
        self.all(
            &format!("SELECT {ACCOUNT} FROM accounts ORDER BY created_at, id"),
            account,
        )
        .await
    }

    async fn disable_account(&self, id: Uuid) -> StoreResult<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(Error::from)?;
        let login: Option<String> = tx
            .query_opt(
                "UPDATE accounts SET disabled = TRUE WHERE id = $1 RETURNING login",
                &[&id],
            )
            .await
            .map_err(Error::from)?
            .map(|r| r.get(0));
        let Some(login) = login else {
            return Ok(false);
        };
        // The sessions opened for the person end with the account.
        tx.execute(
            "UPDATE credentials SET revoked = TRUE WHERE account = $1",
            &[&login],
        )
        .await
        .map_err(Error::from)?;
        tx.commit().await.map_err(Error::from)?;
        Ok(true)
    }

    async fn put_docking_client(
        &self,
        client_id: String,
        province: String,
        secret_hash: String,
    ) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO docking_clients (client_id, province, secret_hash, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (client_id) DO UPDATE SET province = excluded.province, secret_hash = excluded.secret_hash",
            &[&client_id, &province, &secret_hash, &now_ms()],
        )
        .await
        .map_err(Error::from)?;
        Ok(())
    }

    async fn docking_client(&self, client_id: String) -> StoreResult<Option<(String, String)>> {
        let c = self.client().await?;
        Ok(c.query_opt(
            "SELECT province, secret_hash FROM docking_clients WHERE client_id = $1",
            &[&client_id],
        )
        .await
        .map_err(Error::from)?
        .map(|r| (r.get(0), r.get(1))))
    }
}
