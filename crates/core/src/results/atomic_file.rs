//! Writing a file so that no reader (and no crash) ever sees half of it: the bytes go to a
//! temporary file in the target's folder, which is synced and then renamed over the target.
//!
//! The temporary file is created with mode `0o666` less the process umask, as `cargo` and `git`
//! create files (0644 under the usual umask 022), so collaborators sharing a results directory
//! can read each other's runs. (`tempfile`'s default, 0600, would hide them.)

use anyhow::{Context, Result};
use std::fs::{self, Permissions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Prefix of in-flight temporary files: hidden, so listings and the report's folder walk skip
/// them.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Write `bytes` to `path` atomically (see the module docs), creating missing parent folders.
/// On any error the temporary file is removed and `path` is left as it was; the error names
/// `path` and carries the `std::io::Error` as its source.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let write = || -> std::io::Result<()> {
        fs::create_dir_all(dir)?;
        // The kernel applies the umask to the mode given at creation.
        let mut tmp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .permissions(Permissions::from_mode(0o666))
            .tempfile_in(dir)?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    write().with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_names_the_file_and_keeps_the_io_error() {
        let d = tempfile::tempdir().unwrap();
        let blocker = d.path().join("file");
        fs::write(&blocker, "x").unwrap();
        let e = write_atomic(&blocker.join("inside"), b"y").unwrap_err();
        assert!(e.to_string().contains("file/inside"), "{e}");
        assert!(e.downcast::<std::io::Error>().is_ok());
    }
}
