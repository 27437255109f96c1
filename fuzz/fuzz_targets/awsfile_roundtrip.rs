//! cargo fuzz run awsfile_roundtrip — the property lives in `fuzz/checks.rs`, shared
//! with the stable replay test `tests/fuzz_corpus_replay.rs`.
#![no_main]
#![allow(dead_code)]

include!("../checks.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    check_awsfile_roundtrip(data);
});
