//! Online backups of the embedded store (备份与恢复): `VACUUM INTO` writes a consistent, compacted copy of the
//! store while the platform keeps serving (a reader's snapshot: writes committed after it began are not in it),
//! with the data directory's other files the platform needs (the audit trail's key and published checkpoints)
//! carried inside the copy. A restore puts them back into an empty data directory.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, params};

use super::{Error, Result, StoreResult, set_mode, store_path};

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub bytes: u64,
    /// The data directory's files carried in the backup.
    pub files: Vec<String>,
}

/// The data directory's files a backup carries beside the store.
pub const CARRIED: [&str; 2] = ["audit.key", "audit-checkpoints.jsonl"];

fn io(e: std::io::Error) -> Error {
    Error::from(e)
}

fn exists(what: String) -> Error {
    io(std::io::Error::new(std::io::ErrorKind::AlreadyExists, what))
}

/// Writes a backup of the store in `data` to `to` (which must not exist).
pub fn backup(data: &Path, to: &Path) -> StoreResult<BackupReport> {
    Ok(backup_at(data, to)?)
}

/// Restores a backup into `data`, which must hold no store yet; answers the files put back beside it.
pub fn restore(from: &Path, data: &Path) -> StoreResult<Vec<String>> {
    Ok(restore_at(from, data)?)
}

fn backup_at(data: &Path, to: &Path) -> Result<BackupReport> {
    if to.exists() {
        return Err(exists(format!(
            "{} exists; a backup does not overwrite",
            to.display()
        )));
    }
    let src = Connection::open_with_flags(
        store_path(data),
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    src.busy_timeout(std::time::Duration::from_secs(30))?;
    src.execute("VACUUM INTO ?1", [to.to_string_lossy()])?;
    set_mode(to, 0o600)?;
    let dst = Connection::open(to)?;
    dst.execute_batch("CREATE TABLE backup_files (name TEXT PRIMARY KEY, body BLOB NOT NULL)")?;
    let mut files = Vec::new();
    for name in CARRIED {
        let p = data.join(name);
        if p.exists() {
            let body = std::fs::read(&p).map_err(io)?;
            dst.execute(
                "INSERT INTO backup_files (name, body) VALUES (?1, ?2)",
                params![name, body],
            )?;
            files.push(name.to_string());
        }
    }
    drop(dst);
    let bytes = std::fs::metadata(to).map_err(io)?.len();
    Ok(BackupReport { bytes, files })
}

fn restore_at(from: &Path, data: &Path) -> Result<Vec<String>> {
    let target = store_path(data);
    if target.exists() {
        return Err(exists(format!(
            "{} holds a store; restore into an empty data directory",
            data.display()
        )));
    }
    crate::create_private_dir(data)?;
    std::fs::copy(from, &target).map_err(io)?;
    set_mode(&target, 0o600)?;
    let c = Connection::open(&target)?;
    let rows: Vec<(String, Vec<u8>)> = c
        .prepare("SELECT name, body FROM backup_files ORDER BY name")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut files = Vec::new();
    for (name, body) in rows {
        if !CARRIED.contains(&name.as_str()) {
            continue;
        }
        let p = data.join(&name);
        std::fs::write(&p, body).map_err(io)?;
        set_mode(&p, 0o600)?;
        files.push(name);
    }
    c.execute_batch("DROP TABLE backup_files")?;
    Ok(files)
}
