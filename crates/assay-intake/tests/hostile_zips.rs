//! Hostile archives: traversal and absolute or control-character names, links and special
//! files, bombs and declared sizes that lie, nested zips, names equal after case-folding or NFC,
//! local/central header mismatches and prepended bytes, permission bits, over-long names, fuzzed
//! bytes. Each hostile archive is built byte by byte, and each test asserts the outcome: `Rejected` naming the entry,
//! nothing written outside the work dir, the temp dir removed.

use assay_core::IntakeLimits;
use assay_intake::{open_in, DiscoverOptions, IntakeError, Workspace};
use assay_testkit::zipgen::*;

fn opts() -> DiscoverOptions {
    DiscoverOptions {
        webapp_package: "sample-webapp".into(),
    }
}

fn open_zip(case: &Case, zip: &Zip, limits: &IntakeLimits) -> Result<Workspace, IntakeError> {
    zip.write(&case.path("submission.zip"));
    open_in(&case.path("submission.zip"), limits, &opts(), &case.work())
}

/// Asserts a rejection naming `entry` with a reason containing `reason`, and a clean case dir.
#[track_caller]
fn assert_rejected(case: &Case, result: Result<Workspace, IntakeError>, entry: &str, reason: &str) {
    match result {
        Err(IntakeError::Rejected {
            entry: e,
            reason: r,
        }) => {
            assert_eq!(e, entry, "wrong entry named (reason: {r})");
            assert!(
                r.contains(reason),
                "reason {r:?} does not contain {reason:?}"
            );
        }
        Err(other) => panic!("expected Rejected({entry}), got {other:?}"),
        Ok(ws) => panic!(
            "expected Rejected({entry}), got a workspace: {:?}",
            tree(ws.root.path())
        ),
    }
    case.assert_clean(&["submission.zip"]);
}

fn one(entry: Entry) -> Zip {
    Zip::new().file("ok.txt", b"fine").entry(entry)
}

// 1. `../../x`, `..\..\x`, `/etc/x`, `C:\x`, names with NUL / control chars / newlines → reject.
#[test]
fn item01_traversal_absolute_drive_and_control_names_are_rejected() {
    let cases: [(&[u8], &str, &str); 10] = [
        (b"../evil.txt", "../evil.txt", "traversal"),
        (b"../../x", "../../x", "traversal"),
        (b"a/../../x", "a/../../x", "traversal"),
        (b"..\\..\\x", "..\\\\..\\\\x", "traversal"),
        (b"/etc/x", "/etc/x", "absolute"),
        (b"C:\\x", "C:\\\\x", "drive"),
        (b"a\0b.txt", "a\\u{0}b.txt", "NUL"),
        (b"a\nb.txt", "a\\nb.txt", "line break"),
        (b"a\rb.txt", "a\\rb.txt", "line break"),
        (b"a\x1b[31mb.txt", "a\\u{1b}[31mb.txt", "control character"),
    ];
    for (raw, shown, reason) in cases {
        let case = Case::new();
        let result = open_zip(
            &case,
            &one(Entry::stored_raw(raw, b"pwned")),
            &IntakeLimits::default(),
        );
        assert_rejected(&case, result, shown, reason);
        assert!(!case.path("evil.txt").exists() && !case.work().join("evil.txt").exists());
    }
}

// 2. Symlink entries (any target), hard links, device/FIFO/socket modes → reject.
#[test]
fn item02_links_devices_fifos_and_sockets_are_rejected() {
    let modes = [
        (0o120777, "symbolic link"),
        (0o020644, "character device"),
        (0o060644, "block device"),
        (0o010644, "FIFO"),
        (0o140644, "socket"),
        (0o170644, "unknown file type"),
    ];
    for (mode, reason) in modes {
        let case = Case::new();
        let entry = Entry::stored("link", b"/etc/passwd").mode(mode);
        assert_rejected(
            &case,
            open_zip(&case, &one(entry), &IntakeLimits::default()),
            "link",
            reason,
        );
    }
    // A hard link as PKWARE's Unix extra field carries it: the link target after 12 fixed bytes.
    let case = Case::new();
    let mut entry = Entry::stored("hard", b"");
    let target = b"/etc/shadow";
    entry
        .central
        .extra
        .extend_from_slice(&0x000du16.to_le_bytes());
    entry
        .central
        .extra
        .extend_from_slice(&((12 + target.len()) as u16).to_le_bytes());
    entry.central.extra.extend_from_slice(&[0; 12]);
    entry.central.extra.extend_from_slice(target);
    assert_rejected(
        &case,
        open_zip(&case, &one(entry), &IntakeLimits::default()),
        "hard",
        "link",
    );
    // A Windows reparse point (NTFS host, FILE_ATTRIBUTE_REPARSE_POINT).
    let case = Case::new();
    let mut entry = Entry::stored("junction", b"C:\\Windows");
    entry.central.made_by = 10 << 8 | 30;
    entry.central.external_attrs = 0x400;
    assert_rejected(
        &case,
        open_zip(&case, &one(entry), &IntakeLimits::default()),
        "junction",
        "reparse point",
    );
}

// 3. Bombs: entries cap, bytes actually written, compression ratio, overlapping entries.
#[test]
fn item03_a_gibibyte_of_zeros_is_rejected_before_inflating() {
    let case = Case::new();
    write_zero_bomb(&case.path("submission.zip"), "zeros.bin", 1 << 30, None);
    let result = open_in(
        &case.path("submission.zip"),
        &IntakeLimits::default(),
        &opts(),
        &case.work(),
    );
    assert_rejected(&case, result, "zeros.bin", "per-file limit");
}

#[test]
fn item03_a_bomb_that_lies_about_its_size_stops_at_the_counting_copy() {
    let case = Case::new();
    // Declares 60 MiB (under the 64 MiB per-file cap), inflates to 1 GiB.
    write_zero_bomb(
        &case.path("submission.zip"),
        "zeros.bin",
        1 << 30,
        Some(60 << 20),
    );
    let result = open_in(
        &case.path("submission.zip"),
        &IntakeLimits::default(),
        &opts(),
        &case.work(),
    );
    assert_rejected(&case, result, "zeros.bin", "declared uncompressed size");
    // With a ratio cap below what zeros reach, the ratio check trips first.
    let case = Case::new();
    write_zero_bomb(
        &case.path("submission.zip"),
        "zeros.bin",
        64 << 20,
        Some(60 << 20),
    );
    let limits = IntakeLimits {
        max_compression_ratio: 50,
        ..IntakeLimits::default()
    };
    let result = open_in(&case.path("submission.zip"), &limits, &opts(), &case.work());
    assert_rejected(&case, result, "zeros.bin", "compression ratio above 50:1");
}

#[test]
fn item03_entry_and_total_caps() {
    let limits = IntakeLimits {
        max_entries: 5,
        max_total_bytes: 10_000,
        ..IntakeLimits::default()
    };
    let case = Case::new();
    let mut zip = Zip::new();
    for i in 0..6 {
        zip = zip.file(&format!("f{i}.txt"), b"x");
    }
    assert_rejected(
        &case,
        open_zip(&case, &zip, &limits),
        "submission.zip",
        "declares 6 entries; the limit is 5",
    );
    // Honest sizes over the total: refused from the declared sizes.
    let case = Case::new();
    let zip = Zip::new()
        .file("a.bin", &[1; 6000])
        .file("b.bin", &[2; 6000]);
    assert_rejected(
        &case,
        open_zip(&case, &zip, &limits),
        "b.bin",
        "total limit",
    );
    // Lying sizes over the total: refused by the counting copy.
    let case = Case::new();
    let zip = Zip::new()
        .file("a.bin", &[1; 6000])
        .entry(Entry::deflated("b.bin", &[2; 6000]).declared_size(10))
        .entry(Entry::deflated("c.bin", &[3; 1000]));
    assert_rejected(
        &case,
        open_zip(&case, &zip, &limits),
        "b.bin",
        "declared uncompressed size",
    );
}

#[test]
fn item03_overlapping_entries_are_rejected() {
    // Entry `outer` (stored) holds entry `inner`'s whole local header and data in its own
    // data: both names agree with their local headers, but their bytes overlap.
    let inner_content = b"shared kernel of the bomb";
    let mut inner = Header::new(b"inner");
    inner.crc = crc32fast::hash(inner_content);
    inner.compressed_size = inner_content.len() as u32;
    inner.size = inner.compressed_size;
    let mut inner_bytes = inner.local();
    inner_bytes.extend_from_slice(inner_content);
    let outer = Entry::stored("outer", &inner_bytes);
    let mut zip_bytes = outer.central.local();
    zip_bytes.extend_from_slice(&inner_bytes);
    inner.offset = outer.central.local().len() as u32;
    let mut cd = outer.central.central();
    cd.extend_from_slice(&inner.central());
    let cd_offset = zip_bytes.len() as u32;
    zip_bytes.extend_from_slice(&cd);
    zip_bytes.extend_from_slice(&eocd(2, cd.len() as u32, cd_offset, b""));
    let case = Case::new();
    std::fs::write(case.path("submission.zip"), zip_bytes).unwrap();
    let result = open_in(
        &case.path("submission.zip"),
        &IntakeLimits::default(),
        &opts(),
        &case.work(),
    );
    assert_rejected(&case, result, "outer", "overlap entry `inner`");

    // Two central entries pointing at the same local header (the quoted-overlap family).
    let case = Case::new();
    let a = Entry::stored("same", b"data");
    let mut second = a.central.clone();
    let mut bytes = a.central.local();
    bytes.extend_from_slice(b"data");
    second.name = b"same".to_vec();
    let mut cd = a.central.central();
    second.name = b"other".to_vec();
    cd.extend_from_slice(&second.central());
    let cd_offset = bytes.len() as u32;
    bytes.extend_from_slice(&cd);
    bytes.extend_from_slice(&eocd(2, cd.len() as u32, cd_offset, b""));
    std::fs::write(case.path("submission.zip"), bytes).unwrap();
    let result = open_in(
        &case.path("submission.zip"),
        &IntakeLimits::default(),
        &opts(),
        &case.work(),
    );
    assert_rejected(&case, result, "other", "local header names it `same`");
}

// 4. Declared size lies, data descriptors with no size → the counting writer stops at the cap.
#[test]
fn item04_declared_size_lies_are_caught() {
    // Small declared, huge actual.
    let case = Case::new();
    let entry = Entry::deflated("lie.bin", &vec![0u8; 10 << 20]).declared_size(10);
    assert_rejected(
        &case,
        open_zip(&case, &one(entry), &IntakeLimits::default()),
        "lie.bin",
        "declared",
    );
    // Large declared, small actual.
    let case = Case::new();
    let entry = Entry::deflated("short.bin", b"tiny").declared_size(1000);
    assert_rejected(
        &case,
        open_zip(&case, &one(entry), &IntakeLimits::default()),
        "short.bin",
        "declares 1000 bytes but holds 4",
    );
    // A data descriptor whose central sizes lie.
    let case = Case::new();
    let entry = Entry::deflated("dd.bin", &vec![7u8; 1 << 20])
        .declared_size(100)
        .with_descriptor();
    assert_rejected(
        &case,
        open_zip(&case, &one(entry), &IntakeLimits::default()),
        "dd.bin",
        "declared",
    );
    // The per-file cap holds even when the declared size sits right at it.
    let case = Case::new();
    let limits = IntakeLimits {
        max_file_bytes: 4096,
        ..IntakeLimits::default()
    };
    let entry = Entry::deflated("cap.bin", &[5u8; 8192]).declared_size(4096);
    assert_rejected(
        &case,
        open_zip(&case, &one(entry), &limits),
        "cap.bin",
        "declared uncompressed size",
    );
}

#[test]
fn item04_an_honest_streamed_entry_with_a_data_descriptor_is_taken() {
    let case = Case::new();
    let content = b"written by a streaming archiver".repeat(100);
    let zip = one(Entry::deflated("stream.txt", &content).with_descriptor());
    let ws = open_zip(&case, &zip, &IntakeLimits::default()).expect("honest archive");
    assert_eq!(
        std::fs::read(ws.root.path().join("stream.txt")).unwrap(),
        content
    );
}

// 5. Nested zips are stored as files, never recursed into.
#[test]
fn item05_nested_zips_are_stored_as_files() {
    let inner = Zip::new()
        .entry(Entry::stored("../evil.txt", b"pwned"))
        .build();
    let case = Case::new();
    let zip = Zip::new()
        .entry(Entry::stored("inner.zip", &inner))
        .file("README.md", b"# hi");
    let ws = open_zip(&case, &zip, &IntakeLimits::default()).expect("a nested zip is just a file");
    assert_eq!(
        std::fs::read(ws.root.path().join("inner.zip")).unwrap(),
        inner
    );
    assert_eq!(tree(ws.root.path()), ["README.md", "inner.zip"]);
    drop(ws);
    case.assert_clean(&["submission.zip"]);
}

// 6. Duplicate names, and names equal after case-folding / Unicode NFC → reject as ambiguous.
#[test]
fn item06_duplicate_and_colliding_names_are_rejected() {
    let cases: [(&str, &str, &str, &str); 5] = [
        ("a.txt", "a.txt", "a.txt", "duplicate name"),
        (
            "README.md",
            "readme.md",
            "readme.md",
            "collides with `README.md`",
        ),
        (
            "caf\u{e9}.md",
            "cafe\u{301}.md",
            "cafe\u{301}.md",
            "Unicode normalisation",
        ),
        (
            "notes",
            "notes/q1.md",
            "notes/q1.md",
            "both a file and a folder",
        ),
        ("x.txt", "./x.txt", "./x.txt", "duplicate name once"),
    ];
    for (first, second, named, reason) in cases {
        let case = Case::new();
        let zip = Zip::new().file(first, b"one").file(second, b"two");
        assert_rejected(
            &case,
            open_zip(&case, &zip, &IntakeLimits::default()),
            named,
            reason,
        );
    }
}

// 7. Local header name ≠ central name, prepended garbage, two end records, huge comment,
//    polyglot files → reject the ambiguity.
#[test]
fn item07_local_and_central_names_must_agree() {
    let case = Case::new();
    let mut entry = Entry::stored("innocent.txt", b"x");
    let mut local = entry.central.clone();
    local.name = b"../evil.txt".to_vec();
    entry.local = Some(local);
    let result = open_zip(&case, &one(entry), &IntakeLimits::default());
    assert_rejected(
        &case,
        result,
        "innocent.txt",
        "local header names it `../evil.txt`",
    );
}

#[test]
fn item07_prepended_appended_and_doubled_structures_are_rejected() {
    let limits = IntakeLimits::default();
    let base = Zip::new().file("a.txt", b"alpha").file("b.txt", b"beta");

    // Prepended bytes with offsets that ignore them (the zip crate alone would "detect" these).
    let case = Case::new();
    let mut zip = base.clone();
    zip.prefix = b"#!/bin/sh\nexec something\n".to_vec();
    assert_rejected(
        &case,
        open_zip(&case, &zip, &limits),
        "submission.zip",
        "prepended",
    );
    // A self-extracting layout: offsets that count the stub.
    let case = Case::new();
    zip.offsets_include_prefix = true;
    assert_rejected(
        &case,
        open_zip(&case, &zip, &limits),
        "submission.zip",
        "before the first entry",
    );
    // A PDF/zip polyglot.
    let case = Case::new();
    let mut zip = base.clone();
    zip.prefix = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n".to_vec();
    zip.offsets_include_prefix = true;
    assert_rejected(
        &case,
        open_zip(&case, &zip, &limits),
        "submission.zip",
        "polyglot",
    );
    // Appended bytes.
    let case = Case::new();
    let mut zip = base.clone();
    zip.suffix = b"trailing".to_vec();
    assert_rejected(
        &case,
        open_zip(&case, &zip, &limits),
        "submission.zip",
        "bytes after the end",
    );
    // A second end record appended after the first.
    let case = Case::new();
    let mut bytes = base.build();
    let second = eocd(0, 0, 0, b"");
    bytes.extend_from_slice(&second);
    std::fs::write(case.path("submission.zip"), &bytes).unwrap();
    let result = open_in(&case.path("submission.zip"), &limits, &opts(), &case.work());
    assert_rejected(
        &case,
        result,
        "submission.zip",
        "more than one end-of-central-directory record",
    );
    // Two end records that both fit: the second hides in the first one's comment.
    let case = Case::new();
    let mut zip = base.clone();
    zip.comment = eocd(0, 0, 0, b"");
    assert_rejected(
        &case,
        open_zip(&case, &zip, &limits),
        "submission.zip",
        "two end-of-central-directory records",
    );
    // An end record hiding in a comment without fitting.
    let case = Case::new();
    let mut zip = base.clone();
    zip.comment = [eocd(0, 0, 0, b""), b"more".to_vec()].concat();
    assert_rejected(
        &case,
        open_zip(&case, &zip, &limits),
        "submission.zip",
        "hides in the archive comment",
    );
    // A huge comment.
    let case = Case::new();
    let mut zip = base.clone();
    zip.comment = vec![b'c'; 5000];
    assert_rejected(
        &case,
        open_zip(&case, &zip, &limits),
        "submission.zip",
        "archive comment of 5000 bytes",
    );
    // Hidden bytes between two entries.
    let case = Case::new();
    let mut zip = base.clone();
    zip.entries[0].descriptor = Some(b"hidden payload".to_vec());
    assert_rejected(
        &case,
        open_zip(&case, &zip, &limits),
        "a.txt",
        "14 unaccounted bytes",
    );
}

#[test]
fn item07_other_ambiguities_garbage_and_encryption_are_rejected() {
    let limits = IntakeLimits::default();
    // A Unicode path field that names another file.
    let case = Case::new();
    let mut entry = Entry::stored("safe.txt", b"x");
    let other = b"../evil.txt";
    entry
        .central
        .extra
        .extend_from_slice(&0x7075u16.to_le_bytes());
    entry
        .central
        .extra
        .extend_from_slice(&((5 + other.len()) as u16).to_le_bytes());
    entry.central.extra.push(1);
    entry
        .central
        .extra
        .extend_from_slice(&crc32fast::hash(b"safe.txt").to_le_bytes());
    entry.central.extra.extend_from_slice(other);
    assert_rejected(
        &case,
        open_zip(&case, &one(entry), &limits),
        "safe.txt",
        "Unicode path field names another file",
    );
    // An encrypted entry.
    let case = Case::new();
    let mut entry = Entry::stored("secret.txt", b"xxxxxxxxxxxxxxxx");
    entry.central.flags |= 1;
    assert_rejected(
        &case,
        open_zip(&case, &one(entry), &limits),
        "secret.txt",
        "encrypted",
    );
    // A compression method we do not take.
    let case = Case::new();
    let mut entry = Entry::stored("b.bz2", b"BZh9");
    entry.central.method = 12;
    assert_rejected(
        &case,
        open_zip(&case, &one(entry), &limits),
        "b.bz2",
        "compression method 12",
    );
    // A local header that disagrees on the method.
    let case = Case::new();
    let mut entry = Entry::stored("m.txt", b"plain");
    let mut local = entry.central.clone();
    local.method = 8;
    entry.local = Some(local);
    assert_rejected(
        &case,
        open_zip(&case, &one(entry), &limits),
        "m.txt",
        "disagree on compression",
    );
    // Garbage bytes named .zip: a rejection with a clear reason, not a usage error.
    for garbage in [
        &b""[..],
        b"PK",
        b"this is not a zip file at all, just some text\n",
        b"PK\x03\x04garbage",
    ] {
        let case = Case::new();
        std::fs::write(case.path("submission.zip"), garbage).unwrap();
        let result = open_in(&case.path("submission.zip"), &limits, &opts(), &case.work());
        match &result {
            Err(IntakeError::Rejected { reason, .. }) => assert!(
                reason.contains("not a zip archive")
                    || reason.contains("truncated")
                    || reason.contains("empty file"),
                "{reason}"
            ),
            other => panic!("{other:?}"),
        }
        assert_rejected(&case, result, "submission.zip", "");
    }
}

// 8. Permission bits: files 0644, dirs 0755, whatever the archive says.
#[test]
fn item08_permissions_are_forced() {
    use std::os::unix::fs::PermissionsExt;
    let case = Case::new();
    let zip = Zip::new()
        .entry(Entry::dir("locked/").mode(0o040000))
        .entry(Entry::stored("locked/setuid", b"#!/bin/sh\n").mode(0o106777))
        .entry(Entry::stored("world-writable", b"x").mode(0o100777))
        .entry(Entry::stored("unreadable", b"x").mode(0o100000));
    let ws =
        open_zip(&case, &zip, &IntakeLimits::default()).expect("modes are not a reason to reject");
    let mode = |p: &str| {
        std::fs::metadata(ws.root.path().join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("locked"), 0o755);
    assert_eq!(mode("locked/setuid"), 0o644);
    assert_eq!(mode("world-writable"), 0o644);
    assert_eq!(mode("unreadable"), 0o644);
    let root = ws.root.path().to_path_buf();
    drop(ws);
    assert!(
        !root.exists(),
        "the temp dir is removed on drop, even with a 0000 dir in the archive"
    );
    case.assert_clean(&["submission.zip"]);
}

// 9. Over-long names (component > 255 B, path over the limit, depth over the limit) → reject.
#[test]
fn item09_over_long_names_are_rejected_cleanly() {
    let limits = IntakeLimits::default();
    let long_component = format!("{}.txt", "c".repeat(256));
    let case = Case::new();
    let result = open_zip(&case, &one(Entry::stored(&long_component, b"x")), &limits);
    assert_rejected(&case, result, &long_component, "component is 260 bytes");

    let deep = format!("{}f.txt", "d/".repeat(40));
    let case = Case::new();
    assert_rejected(
        &case,
        open_zip(&case, &one(Entry::stored(&deep, b"x")), &limits),
        &deep,
        "41 levels deep",
    );

    // A 2000-byte name: refused from the central directory, named by its first 1024 bytes.
    let long_path = format!("{}end.txt", "abcdefghi/".repeat(200));
    let case = Case::new();
    let result = open_zip(&case, &one(Entry::stored(&long_path, b"x")), &limits);
    let shown = &long_path[..300];
    match result {
        Err(IntakeError::Rejected { entry, reason }) => {
            assert!(entry.starts_with(shown) && entry.ends_with('…'), "{entry}");
            assert!(
                reason.contains("2007 bytes long; the limit is 1024"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    case.assert_clean(&["submission.zip"]);
}

// 10. Random / fuzzed bytes → no panic, bounded time and memory. (The cargo-fuzz target
//     `fuzz/fuzz_targets/unpack.rs` runs this for minutes; this is the quick deterministic form.)
#[test]
fn item10_mutated_archives_never_panic_nor_blame_assay() {
    let limits = IntakeLimits {
        max_entries: 50,
        max_total_bytes: 1 << 20,
        max_file_bytes: 256 << 10,
        ..IntakeLimits::default()
    };
    let seed_zip = Zip::new()
        .file(
            "compose.yaml",
            b"services:\n  db:\n    image: postgres:16\n",
        )
        .entry(Entry::dir("answers/"))
        .file("answers/q2.md", &b"word ".repeat(300))
        .entry(Entry::stored("a/b.txt", b"stored").with_descriptor())
        .build();
    let case = Case::new();
    let path = case.path("submission.zip");
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let (mut accepted, mut rejected) = (0, 0);
    for round in 0..1500 {
        let mut bytes = seed_zip.clone();
        match round % 4 {
            // flip a few bytes
            0 | 1 => {
                for _ in 0..1 + next() % 4 {
                    let at = (next() % bytes.len() as u64) as usize;
                    bytes[at] = next() as u8;
                }
            }
            // truncate
            2 => bytes.truncate((next() % bytes.len() as u64) as usize),
            // random bytes with a zip-looking start
            _ => {
                let len = (next() % 400) as usize;
                bytes = b"PK\x03\x04"
                    .iter()
                    .copied()
                    .chain((0..len).map(|_| next() as u8))
                    .collect();
            }
        }
        std::fs::write(&path, &bytes).unwrap();
        match open_in(&path, &limits, &opts(), &case.work()) {
            Ok(ws) => {
                accepted += 1;
                assert!(ws.bytes_written <= limits.max_total_bytes);
            }
            Err(IntakeError::Rejected { .. }) => rejected += 1,
            Err(other) => panic!("round {round}: {other} is assay's fault, not the archive's"),
        }
        case.assert_clean(&["submission.zip"]);
    }
    assert!(rejected > 1000, "accepted {accepted}, rejected {rejected}");
}
