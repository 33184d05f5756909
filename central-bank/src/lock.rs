//! One writer per ledger: an exclusive lock on `dfc-bank.lock` in the data directory.
//!
//! Two nodes committing to one SQLite file each believe they own the chain: both seal the next
//! height, one fails with `UNIQUE constraint failed: blocks.height` and stops while its clients
//! keep seeing a stale ledger. SQLite's own locking serialises transactions, not sequencers, so
//! the node takes an advisory `flock` on a lock file before it opens the ledger for writing and
//! keeps it for as long as its sequencer runs. The holder writes its PID into the file so a
//! refused second writer can say who holds the ledger.
//!
//! The kernel drops the lock when the holder's file descriptor closes, also on SIGKILL, so a
//! crashed node never leaves a stale lock behind (the PID left in the file is then just text).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Name of the lock file inside the data directory.
pub const LOCK_FILE: &str = "dfc-bank.lock";

/// Why the ledger lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process holds the lock: it is the ledger's writer.
    #[error(
        "the ledger in {dir} is already in use by another node (process {holder}, lock file {path}); \
         stop that node first, or point this one at another data directory"
    )]
    Held {
        /// The data directory.
        dir: PathBuf,
        /// The lock file.
        path: PathBuf,
        /// The PID the holder wrote into the lock file, or `unknown` if it has not written it yet.
        holder: String,
    },
    /// The lock file cannot be created or written: the data directory is not writable, so the
    /// ledger cannot be either.
    #[error("the ledger in {dir} cannot be opened for writing: lock file {path}: {source}")]
    NotWritable {
        /// The data directory.
        dir: PathBuf,
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The held lock; dropping it (closing the file) releases it.
#[derive(Debug)]
pub struct LedgerLock {
    _file: File,
    path: PathBuf,
}

impl LedgerLock {
    /// Takes the exclusive lock on `dir`'s ledger without waiting, or says who holds it.
    pub fn acquire(dir: &Path) -> Result<LedgerLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let not_writable = |source| LockError::NotWritable {
            dir: dir.to_path_buf(),
            path: path.clone(),
            source,
        };
        // Not truncated on open: a refused contender must not erase the holder's PID.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(not_writable)?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let holder = match file.read_to_string(&mut text) {
                    Ok(_) if !text.trim().is_empty() => text.trim().to_string(),
                    _ => "unknown".to_string(),
                };
                return Err(LockError::Held {
                    dir: dir.to_path_buf(),
                    path,
                    holder,
                });
            }
            Err(fs4::TryLockError::Error(e)) => return Err(not_writable(e)),
        }
        file.set_len(0).map_err(not_writable)?;
        file.seek(SeekFrom::Start(0)).map_err(not_writable)?;
        writeln!(file, "{}", std::process::id()).map_err(not_writable)?;
        file.sync_all().map_err(not_writable)?;
        Ok(LedgerLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_directory_is_refused_with_the_holders_pid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = LedgerLock::acquire(dir.path()).expect("the first writer locks");
        let err = LedgerLock::acquire(dir.path()).expect_err("a second writer is refused");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("process {}", std::process::id())),
            "{msg}"
        );
        assert!(matches!(err, LockError::Held { .. }));
        drop(first);
        let again = LedgerLock::acquire(dir.path()).expect("free again once released");
        assert!(again.path().ends_with(LOCK_FILE));
    }
}
