//! Process and file-system measurements (Linux): resident memory from `/proc/self/status`,
//! sizes of database files.

use std::path::Path;

/// A `kB` field of `/proc/self/status` (`VmRSS`, `VmHWM`, …) in bytes; `None` off Linux.
pub fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        let kb: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb * 1024)
    })
}

/// Current resident set size in bytes.
pub fn rss() -> Option<u64> {
    status_bytes("VmRSS")
}

/// Peak resident set size ("high water mark") in bytes.
pub fn peak_rss() -> Option<u64> {
    status_bytes("VmHWM")
}

/// Size of a file or of every file under a directory: `(apparent bytes, allocated bytes)`.
pub fn disk_size(path: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return (0, 0);
    };
    if meta.is_dir() {
        let mut total = (0, 0);
        if let Ok(entries) = std::fs::read_dir(path) {
            for e in entries.flatten() {
                let (a, b) = disk_size(&e.path());
                total.0 += a;
                total.1 += b;
            }
        }
        total
    } else {
        (meta.len(), meta.blocks() * 512)
    }
}

/// `bytes` as MiB.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
