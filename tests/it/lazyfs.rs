//! A FUSE passthrough filesystem that forgets what was not `fsync`ed when the power is cut —
//! the approach of LazyFS (which Jepsen uses), in about three hundred lines.
//!
//! * **Data.** A `write` is kept in memory, per inode, as a list of pending operations (writes and
//!   truncations) and served merged over the backing file by `read` and `getattr`. `fsync` or
//!   `fdatasync` of any handle of the inode applies that inode's pending operations to the
//!   backing file. A power cut ([`Disk::power_cut`]) drops every pending operation.
//! * **Metadata** (create, mkdir, rename, unlink) is applied to the backing directory at once
//!   (so that names resolve) but journaled, and it is durable only once its parent directory is
//!   `fsync`ed (POSIX's rule, which ext4 and XFS only approximate): a power cut undoes the
//!   journaled operations not yet made durable, newest first — a created file or directory
//!   disappears, a rename is reversed, an unlinked (or overwritten) file comes back from the
//!   graveyard. A truncation (`setattr` of the size) is data: durable with the file's `fsync`.
//!   This is stricter than a journaling file system that commits metadata in order, so it also
//!   catches a missing directory `fsync`.
//!
//! The backing directory holds, at every moment, exactly what the "disk" would show after a
//! power cut — so the test reads it directly once the filesystem is unmounted and cut.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use fuser::{
    FileAttr, FileType, Filesystem, MountOption, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyEmpty, ReplyEntry, ReplyOpen, ReplyWrite, Request, TimeOrNow,
};

const TTL: Duration = Duration::ZERO;
const ROOT: u64 = fuser::FUSE_ROOT_ID;

/// A write or a truncation not yet `fsync`ed.
enum Op {
    Write(u64, Vec<u8>),
    Truncate(u64),
}

/// A name change not yet made durable by an `fsync` of its directory (`dir` is its inode).
enum Meta {
    Created {
        dir: u64,
        path: PathBuf,
    },
    Renamed {
        dir: u64,
        from: PathBuf,
        to: PathBuf,
        overwritten: Option<PathBuf>,
    },
    Unlinked {
        dir: u64,
        path: PathBuf,
        grave: PathBuf,
    },
}

impl Meta {
    fn dir(&self) -> u64 {
        match self {
            Meta::Created { dir, .. } | Meta::Renamed { dir, .. } | Meta::Unlinked { dir, .. } => {
                *dir
            }
        }
    }
}

/// Counters of one mount, for the test's report.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counts {
    pub writes: u64,
    pub fsyncs: u64,
    pub dir_fsyncs: u64,
    /// Bytes of writes dropped by power cuts.
    pub dropped_bytes: u64,
    /// Name changes undone by power cuts.
    pub undone: u64,
}

/// The state shared by the mounted filesystem and the test.
pub(crate) struct Disk {
    graveyard: PathBuf,
    paths: HashMap<u64, PathBuf>,
    inos: HashMap<PathBuf, u64>,
    next_ino: u64,
    next_grave: u64,
    pending: HashMap<u64, Vec<Op>>,
    journal: Vec<Meta>,
    pub counts: Counts,
}

impl Disk {
    /// `backing` is the "device"; `graveyard` (outside it) keeps unlinked files until durable.
    pub(crate) fn new(backing: &Path, graveyard: &Path) -> Arc<Mutex<Disk>> {
        let mut d = Disk {
            graveyard: graveyard.to_owned(),
            paths: HashMap::new(),
            inos: HashMap::new(),
            next_ino: ROOT + 1,
            next_grave: 0,
            pending: HashMap::new(),
            journal: Vec::new(),
            counts: Counts::default(),
        };
        d.paths.insert(ROOT, backing.to_owned());
        d.inos.insert(backing.to_owned(), ROOT);
        Arc::new(Mutex::new(d))
    }

    /// The power goes: every write not `fsync`ed is lost, every name change not made durable
    /// is undone. Call with the filesystem unmounted.
    pub(crate) fn power_cut(&mut self) {
        for ops in self.pending.values() {
            for op in ops {
                if let Op::Write(_, data) = op {
                    self.counts.dropped_bytes += data.len() as u64;
                }
            }
        }
        self.pending.clear();
        while let Some(m) = self.journal.pop() {
            self.counts.undone += 1;
            match m {
                Meta::Created { path, .. } => {
                    if path.is_dir() {
                        fs::remove_dir_all(&path).unwrap();
                    } else if path.exists() {
                        fs::remove_file(&path).unwrap();
                    }
                }
                Meta::Renamed {
                    from,
                    to,
                    overwritten,
                    ..
                } => {
                    fs::rename(&to, &from).unwrap();
                    if let Some(g) = overwritten {
                        fs::rename(&g, &to).unwrap();
                    }
                }
                Meta::Unlinked { path, grave, .. } => fs::rename(&grave, &path).unwrap(),
            }
        }
        self.paths.retain(|&ino, _| ino == ROOT);
        self.inos.retain(|_, &mut ino| ino == ROOT);
    }

    fn ino_of(&mut self, path: &Path) -> u64 {
        if let Some(&ino) = self.inos.get(path) {
            return ino;
        }
        let ino = self.next_ino;
        self.next_ino += 1;
        self.paths.insert(ino, path.to_owned());
        self.inos.insert(path.to_owned(), ino);
        ino
    }

    fn path(&self, ino: u64) -> Option<PathBuf> {
        self.paths.get(&ino).cloned()
    }

    fn move_ino(&mut self, from: &Path, to: &Path) {
        if let Some(ino) = self.inos.remove(from) {
            self.inos.insert(to.to_owned(), ino);
            self.paths.insert(ino, to.to_owned());
        }
    }

    fn grave(&mut self) -> PathBuf {
        self.next_grave += 1;
        self.graveyard.join(self.next_grave.to_string())
    }

    /// The file's size with its pending operations.
    fn size(&self, ino: u64, backing_len: u64) -> u64 {
        let mut size = backing_len;
        for op in self.pending.get(&ino).into_iter().flatten() {
            match op {
                Op::Write(off, data) => size = size.max(off + data.len() as u64),
                Op::Truncate(len) => size = *len,
            }
        }
        size
    }

    fn attr(&mut self, ino: u64) -> std::io::Result<FileAttr> {
        let path = self.path(ino).ok_or(std::io::ErrorKind::NotFound)?;
        let md = fs::symlink_metadata(&path)?;
        let kind = if md.is_dir() {
            FileType::Directory
        } else {
            FileType::RegularFile
        };
        let size = if md.is_dir() {
            md.len()
        } else {
            self.size(ino, md.len())
        };
        let time = |s: i64| UNIX_EPOCH + Duration::from_secs(s.max(0) as u64);
        Ok(FileAttr {
            ino,
            size,
            blocks: size.div_ceil(512),
            atime: time(md.atime()),
            mtime: time(md.mtime()),
            ctime: time(md.ctime()),
            crtime: time(md.ctime()),
            kind,
            perm: (md.mode() & 0o7777) as u16,
            nlink: md.nlink() as u32,
            uid: md.uid(),
            gid: md.gid(),
            rdev: 0,
            blksize: 4096,
            flags: 0,
        })
    }

    fn read(&self, ino: u64, path: &Path, offset: u64, size: u64) -> std::io::Result<Vec<u8>> {
        let backing_len = fs::metadata(path)?.len();
        let end = self.size(ino, backing_len).min(offset + size);
        if end <= offset {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; (end - offset) as usize];
        let from_backing = backing_len.min(end).saturating_sub(offset) as usize;
        File::open(path)?.read_exact_at(&mut buf[..from_backing], offset)?;
        for op in self.pending.get(&ino).into_iter().flatten() {
            match op {
                Op::Write(off, data) => {
                    let (lo, hi) = ((*off).max(offset), (off + data.len() as u64).min(end));
                    if lo < hi {
                        buf[(lo - offset) as usize..(hi - offset) as usize]
                            .copy_from_slice(&data[(lo - off) as usize..(hi - off) as usize]);
                    }
                }
                Op::Truncate(len) if *len < end => {
                    let lo = (*len).max(offset);
                    buf[(lo - offset) as usize..].fill(0);
                }
                Op::Truncate(_) => {}
            }
        }
        Ok(buf)
    }

    fn sync(&mut self, ino: u64) -> std::io::Result<()> {
        let Some(ops) = self.pending.remove(&ino) else {
            return Ok(());
        };
        let path = self.path(ino).ok_or(std::io::ErrorKind::NotFound)?;
        let f = OpenOptions::new().write(true).open(path)?;
        for op in ops {
            match op {
                Op::Write(off, data) => f.write_all_at(&data, off)?,
                Op::Truncate(len) => f.set_len(len)?,
            }
        }
        Ok(())
    }

    fn child(&self, parent: u64, name: &OsStr) -> Option<PathBuf> {
        self.paths.get(&parent).map(|p| p.join(name))
    }
}

/// The FUSE side: every call locks the shared [`Disk`].
pub(crate) struct LazyFs(pub Arc<Mutex<Disk>>);

/// Mounts `disk` at `mountpoint` (served by a background thread until the session drops).
pub(crate) fn mount(
    disk: &Arc<Mutex<Disk>>,
    mountpoint: &Path,
) -> std::io::Result<fuser::BackgroundSession> {
    fuser::spawn_mount2(
        LazyFs(disk.clone()),
        mountpoint,
        &[
            MountOption::FSName("lazyfs".into()),
            MountOption::DefaultPermissions,
        ],
    )
}

fn errno(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc_eio())
}

const fn libc_eio() -> i32 {
    5
}

impl Filesystem for LazyFs {
    fn lookup(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEntry) {
        let mut d = self.0.lock().unwrap();
        let Some(path) = d.child(parent, name) else {
            return reply.error(2);
        };
        if fs::symlink_metadata(&path).is_err() {
            return reply.error(2);
        }
        let ino = d.ino_of(&path);
        match d.attr(ino) {
            Ok(a) => reply.entry(&TTL, &a, 0),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn getattr(&mut self, _req: &Request<'_>, ino: u64, _fh: Option<u64>, reply: ReplyAttr) {
        match self.0.lock().unwrap().attr(ino) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn setattr(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<std::time::SystemTime>,
        _fh: Option<u64>,
        _crtime: Option<std::time::SystemTime>,
        _chgtime: Option<std::time::SystemTime>,
        _bkuptime: Option<std::time::SystemTime>,
        _flags: Option<u32>,
        reply: ReplyAttr,
    ) {
        let mut d = self.0.lock().unwrap();
        if let Some(len) = size {
            d.pending.entry(ino).or_default().push(Op::Truncate(len));
        }
        match d.attr(ino) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn mkdir(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        let mut d = self.0.lock().unwrap();
        let Some(path) = d.child(parent, name) else {
            return reply.error(2);
        };
        if let Err(e) = fs::create_dir(&path) {
            return reply.error(errno(&e));
        }
        d.journal.push(Meta::Created {
            dir: parent,
            path: path.clone(),
        });
        let ino = d.ino_of(&path);
        match d.attr(ino) {
            Ok(a) => reply.entry(&TTL, &a, 0),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn create(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let mut d = self.0.lock().unwrap();
        let Some(path) = d.child(parent, name) else {
            return reply.error(2);
        };
        if let Err(e) = OpenOptions::new().write(true).create_new(true).open(&path) {
            return reply.error(errno(&e));
        }
        d.journal.push(Meta::Created {
            dir: parent,
            path: path.clone(),
        });
        let ino = d.ino_of(&path);
        match d.attr(ino) {
            Ok(a) => reply.created(&TTL, &a, 0, 0, 0),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn unlink(&mut self, _req: &Request<'_>, parent: u64, name: &OsStr, reply: ReplyEmpty) {
        let mut d = self.0.lock().unwrap();
        let Some(path) = d.child(parent, name) else {
            return reply.error(2);
        };
        let grave = d.grave();
        if let Err(e) = fs::rename(&path, &grave) {
            return reply.error(errno(&e));
        }
        d.move_ino(&path, &grave);
        d.journal.push(Meta::Unlinked {
            dir: parent,
            path,
            grave,
        });
        reply.ok();
    }

    fn rename(
        &mut self,
        _req: &Request<'_>,
        parent: u64,
        name: &OsStr,
        newparent: u64,
        newname: &OsStr,
        _flags: u32,
        reply: ReplyEmpty,
    ) {
        let mut d = self.0.lock().unwrap();
        let (Some(from), Some(to)) = (d.child(parent, name), d.child(newparent, newname)) else {
            return reply.error(2);
        };
        let overwritten = if to.exists() {
            let g = d.grave();
            if let Err(e) = fs::rename(&to, &g) {
                return reply.error(errno(&e));
            }
            d.move_ino(&to, &g);
            Some(g)
        } else {
            None
        };
        if let Err(e) = fs::rename(&from, &to) {
            return reply.error(errno(&e));
        }
        d.move_ino(&from, &to);
        // Durable with the destination directory's fsync (sled renames within one directory).
        d.journal.push(Meta::Renamed {
            dir: newparent,
            from,
            to,
            overwritten,
        });
        reply.ok();
    }

    fn open(&mut self, _req: &Request<'_>, _ino: u64, _flags: i32, reply: ReplyOpen) {
        reply.opened(0, 0);
    }

    fn read(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        let d = self.0.lock().unwrap();
        let Some(path) = d.path(ino) else {
            return reply.error(2);
        };
        match d.read(ino, &path, offset as u64, u64::from(size)) {
            Ok(buf) => reply.data(&buf),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn write(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        data: &[u8],
        _write_flags: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        let mut d = self.0.lock().unwrap();
        d.counts.writes += 1;
        d.pending
            .entry(ino)
            .or_default()
            .push(Op::Write(offset as u64, data.to_vec()));
        reply.written(data.len() as u32);
    }

    fn flush(&mut self, _req: &Request<'_>, _ino: u64, _fh: u64, _lock: u64, reply: ReplyEmpty) {
        // close(2) persists nothing.
        reply.ok();
    }

    fn fsync(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let mut d = self.0.lock().unwrap();
        d.counts.fsyncs += 1;
        match d.sync(ino) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn opendir(&mut self, _req: &Request<'_>, _ino: u64, _flags: i32, reply: ReplyOpen) {
        reply.opened(0, 0);
    }

    fn readdir(
        &mut self,
        _req: &Request<'_>,
        ino: u64,
        _fh: u64,
        offset: i64,
        mut reply: ReplyDirectory,
    ) {
        let mut d = self.0.lock().unwrap();
        let Some(path) = d.path(ino) else {
            return reply.error(2);
        };
        let mut entries = vec![
            (ino, FileType::Directory, OsStr::new(".").to_owned()),
            (ino, FileType::Directory, OsStr::new("..").to_owned()),
        ];
        let listing = match fs::read_dir(&path) {
            Ok(l) => l,
            Err(e) => return reply.error(errno(&e)),
        };
        let mut names: Vec<_> = listing.filter_map(Result::ok).collect();
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let kind = if e.path().is_dir() {
                FileType::Directory
            } else {
                FileType::RegularFile
            };
            let child = d.ino_of(&e.path());
            entries.push((child, kind, e.file_name()));
        }
        for (i, (ino, kind, name)) in entries.into_iter().enumerate().skip(offset as usize) {
            if reply.add(ino, i as i64 + 1, kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn fsyncdir(&mut self, _req: &Request<'_>, ino: u64, _fh: u64, _ds: bool, reply: ReplyEmpty) {
        let mut d = self.0.lock().unwrap();
        d.counts.dir_fsyncs += 1;
        d.journal.retain(|m| m.dir() != ino);
        reply.ok();
    }

    fn statfs(&mut self, _req: &Request<'_>, _ino: u64, reply: fuser::ReplyStatfs) {
        reply.statfs(1 << 20, 1 << 19, 1 << 19, 1 << 16, 1 << 15, 4096, 255, 4096);
    }
}
