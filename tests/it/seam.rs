//! The storage seam (issue 11): the engine and the in-memory index speak records through the
//! backend trait of `store/`; they never name the byte layout (`keys`, `segment`, `codec`) nor
//! the pinned, unmaintained crates behind it (`sled`, `bincode`).

use std::path::Path;

/// The forbidden names found in the code (not the comments) of `src/engine/*.rs` and
/// `src/index.rs`, as `file:line: text`.
fn layout_names_outside_the_store(root: &Path) -> Vec<String> {
    const FORBIDDEN: [&str; 5] = ["sled", "bincode", "keys::", "segment::", "codec::"];
    let mut files: Vec<_> = std::fs::read_dir(root.join("src/engine"))
        .expect("src/engine")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.push(root.join("src/index.rs"));
    assert!(files.len() > 5, "the engine's files: {files:?}");
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("source file");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if FORBIDDEN.iter().any(|w| code.contains(w)) {
                found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn the_engine_names_no_byte_layout_nor_storage_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = layout_names_outside_the_store(root);
    assert!(
        found.is_empty(),
        "engine/ and index.rs must go through store's Backend trait:\n{}",
        found.join("\n")
    );
}
