//! What the platform's snapshot files share (the trace index's and the national registry's): a checksum kept
//! while the bytes pass, a private temporary file, and the sync-and-rename that makes the new file whole or absent.

use std::io::{Read, Write};
use std::path::Path;

/// A reader or writer that keeps the CRC-32 and the count of what passed through it.
pub(crate) struct Crc<T> {
    pub inner: T,
    pub crc: crc32fast::Hasher,
    pub bytes: u64,
}

impl<T> Crc<T> {
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            crc: crc32fast::Hasher::new(),
            bytes: 0,
        }
    }
}

impl<W: Write> Write for Crc<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Crc<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Creates (or empties) `tmp`, readable by the platform's user only: snapshots hold names and phone numbers.
pub(crate) fn create_private(tmp: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(tmp)
}

/// Syncs `file` (written at `tmp`) and renames it over `path`, then syncs the folder, so that after a crash
/// `path` holds either the old snapshot or the new one, whole.
pub(crate) fn replace(file: std::fs::File, tmp: &Path, path: &Path) -> std::io::Result<()> {
    file.sync_all()?;
    drop(file);
    std::fs::rename(tmp, path)?;
    if let Some(parent) = path.parent()
        && let Ok(d) = std::fs::File::open(if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        })
    {
        let _ = d.sync_all();
    }
    Ok(())
}
