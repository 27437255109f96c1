//! Replays the fuzz corpus (`fuzz/corpus/<target>/*`, minimized with
//! `cargo fuzz cmin`, plus the inputs that once crashed) through the same
//! property checks the fuzz targets run (`fuzz/checks.rs`), on the stable
//! toolchain and without cargo-fuzz: a fixed bug stays fixed.

include!("../../fuzz/checks.rs");

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let name = f
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if let Err(e) = std::panic::catch_unwind(|| check(&data)) {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{target}: corpus file {name} fails: {msg}");
        }
    }
    println!("{target}: {} corpus inputs replayed", files.len());
}

#[test]
fn awsfile_roundtrip_corpus() {
    replay("awsfile_roundtrip", check_awsfile_roundtrip);
}

#[test]
fn awsfile_edit_corpus() {
    replay("awsfile_edit", check_awsfile_edit);
}

#[test]
fn credential_json_corpus() {
    replay("credential_json", check_credential_json);
}

#[test]
fn sts_response_corpus() {
    replay("sts_response", check_sts_response);
}
