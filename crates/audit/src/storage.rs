//! Where the log's bytes live: a small trait, the real file, and an in-memory double.
//!
//! The writer needs only to append, make durable, cut back a failed append and start over
//! with a fresh handle; startup recovery also reads the end of the log. Keeping that behind
//! [`Storage`] lets tests inject failures and hold a sync open, and lets the writer be tested
//! without a disk.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The operations the writer performs on the log's bytes.
///
/// Implementations are used from one thread at a time (the writer's); each call either
/// succeeds completely or returns an error, after which the writer truncates back to the last
/// durable length and calls [`reopen`](Storage::reopen) before its next write.
pub trait Storage {
    /// The current length in bytes.
    ///
    /// # Errors
    ///
    /// Any I/O error.
    fn size(&mut self) -> io::Result<u64>;

    /// Reads up to `buf.len()` bytes at `offset`, returning how many were read (0 at the end).
    ///
    /// # Errors
    ///
    /// Any I/O error.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// Appends all of `bytes` at the end.
    ///
    /// # Errors
    ///
    /// Any I/O error; part of `bytes` may have been written.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;

    /// Makes everything appended so far durable (`fdatasync`), returning only once it is.
    ///
    /// # Errors
    ///
    /// Any I/O error; nothing since the last successful sync may be assumed durable.
    fn sync(&mut self) -> io::Result<()>;

    /// Cuts the log back to `len` bytes.
    ///
    /// # Errors
    ///
    /// Any I/O error.
    fn truncate(&mut self, len: u64) -> io::Result<()>;

    /// Drops the current handle and opens the log again, after a failure.
    ///
    /// # Errors
    ///
    /// Any I/O error.
    fn reopen(&mut self) -> io::Result<()>;
}

/// The audit log as a file on disk, opened for appending and locked against other writers.
///
/// Opening creates missing parent directories and the file, and takes an exclusive advisory
/// lock (`flock` on Unix), so that a second scopegate process pointed at the same file fails
/// to start instead of interleaving its chain with this one.
#[derive(Debug)]
pub struct FileStorage {
    path: PathBuf,
    file: Option<File>,
}

impl FileStorage {
    /// Opens (creating if needed) and locks the file at `path`.
    ///
    /// # Errors
    ///
    /// [`FileOpenError::Locked`] if another process holds the lock, [`FileOpenError::Io`]
    /// for anything else.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, FileOpenError> {
        let path = path.into();
        let file = open_locked(&path)?;
        Ok(Self {
            path,
            file: Some(file),
        })
    }

    /// The path of the file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("the audit log file is not open"))
    }
}

impl Storage for FileStorage {
    fn size(&mut self) -> io::Result<u64> {
        Ok(self.file()?.metadata()?.len())
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        // The file is opened for appending, so moving the cursor here never moves writes.
        let file = self.file()?;
        file.seek(SeekFrom::Start(offset))?;
        file.read(buf)
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file()?.write_all(bytes)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file()?.sync_data()
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.file()?.set_len(len)
    }

    fn reopen(&mut self) -> io::Result<()> {
        // Release the old handle, and with it the lock, before locking the new one.
        self.file = None;
        self.file = Some(open_locked(&self.path).map_err(FileOpenError::into_io)?);
        Ok(())
    }
}

/// Why the audit log file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum FileOpenError {
    /// Another process holds the file's lock.
    #[error("audit log `{path}` is locked by another process", path = path.display())]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// Creating, opening or locking the file failed.
    #[error("cannot open audit log `{path}`: {source}", path = path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

impl FileOpenError {
    fn into_io(self) -> io::Error {
        match self {
            Self::Locked { .. } => io::Error::new(io::ErrorKind::WouldBlock, self),
            Self::Io { source, .. } => source,
        }
    }
}

fn open_locked(path: &Path) -> Result<File, FileOpenError> {
    let io_error = |source| FileOpenError::Io {
        path: path.to_owned(),
        source,
    };
    let directory = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty());
    if let Some(directory) = directory {
        std::fs::create_dir_all(directory).map_err(io_error)?;
    }

    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(io_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(FileOpenError::Locked {
                path: path.to_owned(),
            });
        }
        Err(TryLockError::Error(source)) => return Err(io_error(source)),
    }

    // A file that was just created exists durably only once its directory entry does.
    sync_directory(directory.unwrap_or(Path::new("."))).map_err(io_error)?;
    Ok(file)
}

#[cfg(unix)]
fn sync_directory(directory: &Path) -> io::Result<()> {
    File::open(directory)?.sync_all()
}

#[cfg(not(unix))]
fn sync_directory(_directory: &Path) -> io::Result<()> {
    // Directories cannot be opened as files here; the platform keeps entries durable itself.
    Ok(())
}

/// An in-memory log with switchable failures, for tests of code that writes audit records.
///
/// Clones share the same bytes and switches: hand one clone to
/// [`AuditLog::with_storage`](crate::AuditLog::with_storage) and keep another to look at the
/// contents or to make the next writes fail.
#[derive(Debug, Clone, Default)]
pub struct MemoryStorage {
    state: Arc<Mutex<MemoryState>>,
}

/// Which [`MemoryStorage`] operations fail, with an I/O error, until switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Faults {
    /// `append` writes the first half of its bytes, then fails.
    pub append: bool,
    /// `sync` fails.
    pub sync: bool,
    /// `truncate` fails.
    pub truncate: bool,
    /// `reopen` fails.
    pub reopen: bool,
}

#[derive(Debug, Default)]
struct MemoryState {
    bytes: Vec<u8>,
    faults: Faults,
    syncs: u64,
}

impl MemoryStorage {
    /// An empty log.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A log that already holds `bytes`.
    #[must_use]
    pub fn with_contents(bytes: Vec<u8>) -> Self {
        let storage = Self::default();
        storage.lock().bytes = bytes;
        storage
    }

    /// A copy of the current bytes.
    #[must_use]
    pub fn contents(&self) -> Vec<u8> {
        self.lock().bytes.clone()
    }

    /// Sets which operations fail from now on.
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// How many times `sync` has succeeded.
    #[must_use]
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    fn lock(&self) -> MutexGuard<'_, MemoryState> {
        // The state stays consistent at every await-free step, so a panic elsewhere
        // while holding the lock leaves nothing half-done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Storage for MemoryStorage {
    fn size(&mut self) -> io::Result<u64> {
        Ok(self.lock().bytes.len() as u64)
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let state = self.lock();
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(state.bytes.len());
        let available = &state.bytes[start..];
        let count = available.len().min(buf.len());
        buf[..count].copy_from_slice(&available[..count]);
        Ok(count)
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut state = self.lock();
        if state.faults.append {
            state.bytes.extend_from_slice(&bytes[..bytes.len() / 2]);
            return Err(injected("append"));
        }
        state.bytes.extend_from_slice(bytes);
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        let mut state = self.lock();
        if state.faults.sync {
            return Err(injected("sync"));
        }
        state.syncs += 1;
        Ok(())
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        let mut state = self.lock();
        if state.faults.truncate {
            return Err(injected("truncate"));
        }
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        state.bytes.truncate(len);
        Ok(())
    }

    fn reopen(&mut self) -> io::Result<()> {
        if self.lock().faults.reopen {
            return Err(injected("reopen"));
        }
        Ok(())
    }
}

fn injected(operation: &str) -> io::Error {
    io::Error::other(format!("injected {operation} failure"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_open_of_the_same_file_is_refused_while_the_first_holds_it() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("audit.jsonl");
        let _first = FileStorage::open(&path).unwrap();

        let error = FileStorage::open(&path).unwrap_err();

        assert!(matches!(error, FileOpenError::Locked { path: locked } if locked == path));
    }

    #[test]
    fn opening_creates_missing_directories() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("logs").join("audit.jsonl");

        let mut storage = FileStorage::open(&path).unwrap();

        assert_eq!(storage.size().unwrap(), 0);
        assert!(path.exists());
    }

    #[test]
    fn file_storage_appends_reads_truncates_and_reopens() {
        let directory = tempfile::tempdir().unwrap();
        let mut storage = FileStorage::open(directory.path().join("audit.jsonl")).unwrap();

        storage.append(b"first\nsecond\n").unwrap();
        storage.sync().unwrap();
        storage.truncate(6).unwrap();
        storage.reopen().unwrap();
        storage.append(b"third\n").unwrap();

        let mut buf = [0; 32];
        let count = storage.read_at(0, &mut buf).unwrap();
        assert_eq!(&buf[..count], b"first\nthird\n");
    }

    #[test]
    fn a_failing_memory_append_leaves_half_of_its_bytes() {
        let mut storage = MemoryStorage::new();
        storage.set_faults(Faults {
            append: true,
            ..Faults::default()
        });

        let error = storage.append(b"abcd").unwrap_err();

        assert_eq!(error.to_string(), "injected append failure");
        assert_eq!(storage.contents(), b"ab");
    }
}
