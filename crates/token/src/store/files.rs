//! File-system primitives for the key directory: a private directory, atomic writes of
//! owner-only files, and the permission check on private keys.
//!
//! Every write goes to a temporary file in the same directory, is flushed to disk, then
//! renamed over the target, and the directory itself is flushed; a crash leaves either the old
//! file or the new one, never half a key.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::error::KeyStoreError;

/// Creates `dir` (and its parents) if missing; a directory it creates is owner-only (0700).
pub(super) fn create_private_dir(dir: &Path) -> Result<(), KeyStoreError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|source| io_error("create", dir, source))
}

/// Replaces `path` with `bytes` atomically; the file is owner read/write only (0600).
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), KeyStoreError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.tmp"));

    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&temporary)
        .map_err(|source| io_error("create", &temporary, source))?;
    // A temporary left by a crash may have other permission bits; the mode above only applies
    // to a file this call creates.
    restrict(&file, &temporary)?;
    file.write_all(bytes)
        .map_err(|source| io_error("write", &temporary, source))?;
    file.sync_all()
        .map_err(|source| io_error("sync", &temporary, source))?;
    drop(file);

    fs::rename(&temporary, path).map_err(|source| io_error("rename", &temporary, source))?;
    sync_dir(dir)
}

/// Removes `path`; a file that is already gone is not an error.
pub(super) fn remove(path: &Path) -> Result<(), KeyStoreError> {
    match fs::remove_file(path) {
        Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
            Err(io_error("remove", path, source))
        }
        _ => Ok(()),
    }
}

/// Reads a private key file, refusing one that other users can read or write.
pub(super) fn read_private(path: &Path) -> Result<Vec<u8>, KeyStoreError> {
    let file = File::open(path).map_err(|source| io_error("read", path, source))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let metadata = file
            .metadata()
            .map_err(|source| io_error("read", path, source))?;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyStoreError::InsecurePermissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut &file, &mut bytes)
        .map_err(|source| io_error("read", path, source))?;
    Ok(bytes)
}

/// Reads a file in full.
pub(super) fn read(path: &Path) -> Result<Vec<u8>, KeyStoreError> {
    fs::read(path).map_err(|source| io_error("read", path, source))
}

/// The names of the files in `dir`.
pub(super) fn list(dir: &Path) -> Result<Vec<String>, KeyStoreError> {
    let entries = fs::read_dir(dir).map_err(|source| io_error("list", dir, source))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| io_error("list", dir, source))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

pub(super) fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> KeyStoreError {
    KeyStoreError::Io {
        action,
        path: PathBuf::from(path),
        source,
    }
}

#[cfg(unix)]
fn restrict(file: &File, path: &Path) -> Result<(), KeyStoreError> {
    use std::os::unix::fs::PermissionsExt as _;
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(|source| io_error("create", path, source))
}

#[cfg(not(unix))]
fn restrict(_file: &File, _path: &Path) -> Result<(), KeyStoreError> {
    Ok(())
}

/// Flushes a directory so a rename in it survives a crash (POSIX needs the directory fsync).
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), KeyStoreError> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|source| io_error("sync", dir, source))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), KeyStoreError> {
    Ok(())
}
