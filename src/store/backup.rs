//! Online backup: a file copy of the sled directory taken while no write is applied.
//!
//! The caller (the engine) holds its write lock and has just synced (`Store::flush`), so sled's
//! files hold every applied write and nothing changes them but sled's own housekeeping: the
//! flusher finds nothing to write, a snapshot may be generated in the background (a
//! `snap.*.generating` file, then a rename — we skip half-written ones; any complete snapshot is
//! consistent with the log, which holds everything), and a blob superseded by a newer page may
//! be deleted (recovery skips a dangling blob of a superseded page, as after a crash). The
//! copy is therefore what a power cut at that instant would have left, which sled recovers
//! from; sled's id generator is in the copied log, so the copy never hands out an id twice.
//!
//! A physical copy rather than a logical one (every key into a fresh sled): it keeps ids,
//! uuids and the on-disk format exactly, and costs a sequential read of the files.
//! It is written to `<dest>.partial` beside `dest`, synced, then renamed to `dest` and the
//! parent directory synced: an interrupted backup never looks like a complete one.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// Copies the quiescent sled directory `src` to the new directory `dest`.
pub(crate) fn copy_quiescent(src: &Path, dest: &Path) -> io::Result<()> {
    if fs::symlink_metadata(dest).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("backup destination {} already exists", dest.display()),
        ));
    }
    let mut partial: PathBuf = dest.to_owned().into_os_string().into();
    partial.as_mut_os_string().push(".partial");
    if fs::symlink_metadata(&partial).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} exists (an interrupted backup?): remove it first",
                partial.display()
            ),
        ));
    }
    let result = copy_dir(src, &partial).and_then(|()| {
        fs::rename(&partial, dest)?;
        sync_dir(parent(dest))
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&partial);
    }
    result
}

fn parent(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Copies the files of `src` (and of its subdirectories: `blobs/`) into the new `dest`, each
/// synced, then the directories.
fn copy_dir(src: &Path, dest: &Path) -> io::Result<()> {
    fs::create_dir(dest)?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name();
        if is_half_written(&name) {
            continue;
        }
        let file_type = match entry.file_type() {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let to = dest.join(&name);
        if file_type.is_dir() {
            copy_dir(&entry.path(), &to)?;
            continue;
        }
        match fs::copy(entry.path(), &to) {
            Ok(_) => File::open(&to)?.sync_all()?,
            // Removed by sled since the listing: an old snapshot or a superseded blob.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    sync_dir(dest)
}

/// A snapshot being generated (renamed into place only once complete and synced).
fn is_half_written(name: &OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.ends_with(".generating") || n.ends_with(".in___motion"))
}
