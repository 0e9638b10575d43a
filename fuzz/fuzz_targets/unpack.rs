//! Arbitrary bytes as a submission zip: intake must never panic, never blame itself (an
//! `Internal` error here is a bug), stay within its caps, and leave nothing behind.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run unpack -- -max_total_time=300`
#![no_main]

use assay_core::IntakeLimits;
use assay_intake::{open_in, DiscoverOptions, IntakeError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let case = tempfile::tempdir().expect("temp dir");
    let zip = case.path().join("submission.zip");
    std::fs::write(&zip, data).expect("write input");
    let work = case.path().join("work");
    std::fs::create_dir(&work).expect("work dir");
    let limits = IntakeLimits {
        max_entries: 64,
        max_total_bytes: 4 << 20,
        max_file_bytes: 1 << 20,
        max_depth: 8,
        max_name_bytes: 256,
        max_compression_ratio: 100,
    };
    let opts = DiscoverOptions { webapp_package: "sample-webapp".into() };
    match open_in(&zip, &limits, &opts, &work) {
        Ok(ws) => assert!(ws.bytes_written <= limits.max_total_bytes),
        Err(IntakeError::Rejected { .. }) => {}
        Err(e) => panic!("intake blamed itself on fuzzed input: {e}"),
    }
    assert!(work.read_dir().expect("work dir").next().is_none(), "intake left files behind");
});
