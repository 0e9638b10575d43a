use super::*;
use std::os::unix::fs::symlink;

fn n(p: &str) -> PathBuf {
    normalize(Path::new(p))
}

#[test]
fn normalize_folds_dots_lexically() {
    assert_eq!(n("a/./b/../c"), PathBuf::from("a/c"));
    assert_eq!(n("/a/./b/../c"), PathBuf::from("/a/c"));
    assert_eq!(n("a//b"), PathBuf::from("a/b"));
    assert_eq!(n("a/b/.."), PathBuf::from("a"));
}

#[test]
fn normalize_keeps_a_leading_parent_that_has_nothing_to_remove() {
    assert_eq!(n("a/../.."), PathBuf::from(".."));
    assert_eq!(n("./x/../../y"), PathBuf::from("../y"));
    assert_eq!(n("../a/../b"), PathBuf::from("../b"));
}

/// The checks crate's old normaliser let the second `..` remove the first, so `../..` came out
/// empty, i.e. "the root itself", and `../../x` came out `x`: a path two levels above the
/// submission looked inside it. The loader's normaliser (kept) never removes a `..`.
#[test]
fn normalize_never_lets_a_parent_cancel_a_parent() {
    assert_eq!(n("../.."), PathBuf::from("../.."));
    assert_eq!(n("../../x"), PathBuf::from("../../x"));
    assert_eq!(lexically_inside(Path::new("/r"), Path::new("../..")), None);
}

#[test]
fn normalize_stops_absolute_paths_at_the_file_system_root() {
    assert_eq!(n("/.."), PathBuf::from("/"));
    assert_eq!(n("/../.."), PathBuf::from("/"));
    assert_eq!(n("/a/../../b"), PathBuf::from("/b"));
}

#[test]
fn normalize_drops_trailing_slashes_and_keeps_empty_empty() {
    assert_eq!(n("a/b/"), PathBuf::from("a/b"));
    assert_eq!(n("/a/b/"), PathBuf::from("/a/b"));
    assert_eq!(n("a/b/./"), PathBuf::from("a/b"));
    assert_eq!(n(""), PathBuf::new());
    assert_eq!(n("."), PathBuf::new());
    assert_eq!(n("./"), PathBuf::new());
    assert_eq!(n("a/.."), PathBuf::new());
}

#[test]
fn lexically_inside_never_climbs_above_the_root() {
    let root = Path::new("/r/sub");
    let inside = |p: &str| lexically_inside(root, Path::new(p));
    assert_eq!(inside("a/../.."), None);
    assert_eq!(inside("./x/../../y"), None);
    assert_eq!(inside(".."), None);
    assert_eq!(inside("x/../y"), Some(PathBuf::from("y")));
    assert_eq!(inside("a/"), Some(PathBuf::from("a")));
    assert_eq!(inside(""), Some(PathBuf::new()));
    assert_eq!(inside("."), Some(PathBuf::new()));
    assert_eq!(inside("/r/sub"), Some(PathBuf::new()));
    assert_eq!(inside("/r/sub/"), Some(PathBuf::new()));
    assert_eq!(inside("/r/sub/a/../b"), Some(PathBuf::from("b")));
    assert_eq!(inside("/r/sub/../sub/a"), Some(PathBuf::from("a")));
    assert_eq!(inside("/r/sub/../other"), None);
    assert_eq!(
        inside("/r/subway/a"),
        None,
        "a prefix of the name is not the root"
    );
    assert_eq!(inside("/etc/passwd"), None);
    assert_eq!(inside("/"), None);
}

/// A temp dir holding `sub/` (the root) and `outside/` beside it.
struct Fixture {
    _dir: tempfile::TempDir,
    root: SubmissionRoot,
    outside: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(sub.join("data/deep")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(sub.join("data/deep/f.txt"), "hello").unwrap();
    std::fs::write(sub.join("top.txt"), "top").unwrap();
    std::fs::write(outside.join("secret"), "s3cret").unwrap();
    let root = SubmissionRoot::open(&sub).unwrap();
    let outside = outside.canonicalize().unwrap();
    Fixture {
        _dir: dir,
        root,
        outside,
    }
}

impl Fixture {
    fn p(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }
}

fn fifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        FileType::Fifo,
        Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
}

fn kind(r: Result<impl fmt::Debug, RootError>) -> RootErrorKind {
    r.expect_err("expected an error").kind
}

#[test]
fn open_refuses_a_missing_root_and_a_file() {
    let f = fixture();
    assert!(matches!(
        SubmissionRoot::open(&f.p("nope")).unwrap_err().kind,
        RootErrorKind::NotFound { .. }
    ));
    assert!(matches!(
        SubmissionRoot::open(&f.p("top.txt")).unwrap_err().kind,
        RootErrorKind::NotADirectory { .. }
    ));
}

#[test]
fn resolve_classifies_relative_and_absolute_paths() {
    let f = fixture();
    let r = &f.root;
    assert_eq!(
        r.resolve(Path::new("./data")),
        Resolved::Inside(PathBuf::from("data"))
    );
    assert_eq!(
        r.resolve(Path::new("./missing/x")),
        Resolved::Inside(PathBuf::from("missing/x"))
    );
    assert_eq!(r.resolve(Path::new("")), Resolved::Inside(PathBuf::new()));
    assert_eq!(
        r.resolve(&f.p("data/deep/")),
        Resolved::Inside(PathBuf::from("data/deep"))
    );
    assert_eq!(
        r.resolve(Path::new("../outside/secret")),
        Resolved::Outside(f.outside.join("secret"))
    );
    assert!(!r.is_inside(Path::new("a/../..")));
    assert!(!r.is_inside(Path::new("./x/../../y")));
    assert_eq!(
        r.resolve(Path::new("/etc")),
        Resolved::Outside(PathBuf::from("/etc"))
    );
    assert!(r.is_inside(Path::new("data/deep/f.txt")));
}

#[test]
fn resolve_follows_links_as_the_daemon_would() {
    let f = fixture();
    symlink("/etc", f.p("etc-link")).unwrap();
    symlink("../..", f.p("up")).unwrap();
    symlink("data/deep", f.p("deep-link")).unwrap();
    symlink("nowhere", f.p("dangling")).unwrap();
    symlink("loop", f.p("loop")).unwrap();
    let r = &f.root;
    assert_eq!(
        r.resolve(Path::new("etc-link/passwd")),
        Resolved::Outside(PathBuf::from("/etc/passwd"))
    );
    assert!(!r.is_inside(Path::new("up/x")));
    assert_eq!(
        r.resolve(Path::new("deep-link/f.txt")),
        Resolved::Inside(PathBuf::from("data/deep/f.txt"))
    );
    assert_eq!(
        r.resolve(Path::new("dangling")),
        Resolved::Inside(PathBuf::from("nowhere"))
    );
    // A self-loop resolves to nothing, but stays a path inside the root (bounded, no hang).
    assert!(r.is_inside(Path::new("loop/x")));
}

#[test]
fn a_root_given_through_a_link_anchors_paths_built_from_either_name() {
    let f = fixture();
    let alias = f.root.path().parent().unwrap().join("alias");
    symlink(f.root.path(), &alias).unwrap();
    let r = SubmissionRoot::open(&alias).unwrap();
    assert_eq!(r.path(), f.root.path());
    assert_eq!(
        r.resolve(&alias.join("top.txt")),
        Resolved::Inside(PathBuf::from("top.txt"))
    );
    assert_eq!(r.read(&alias.join("top.txt"), 10).unwrap(), b"top");
}

#[test]
fn display_is_relative_inside_and_beside_the_root() {
    let f = fixture();
    let r = &f.root;
    assert_eq!(r.display(&f.p("data/deep")), "data/deep");
    assert_eq!(r.display(r.path()), ".");
    assert_eq!(r.display(&f.outside.join("x")), "../outside/x");
    assert_eq!(r.display(Path::new("/etc/passwd")), "/etc/passwd");
}

#[test]
fn read_returns_the_bytes_within_the_cap() {
    let f = fixture();
    let r = &f.root;
    assert_eq!(r.read(Path::new("data/deep/f.txt"), 5).unwrap(), b"hello");
    assert_eq!(r.read(&f.p("data/deep/f.txt"), 64).unwrap(), b"hello");
    assert_eq!(
        r.read_to_string(Path::new("./data/../top.txt"), 64)
            .unwrap(),
        "top"
    );
}

#[test]
fn read_refuses_a_file_over_the_cap_instead_of_truncating_it() {
    let f = fixture();
    let e = f.root.read(Path::new("data/deep/f.txt"), 4).unwrap_err();
    assert!(matches!(
        e.kind,
        RootErrorKind::TooLarge { size: 5, cap: 4 }
    ));
    assert_eq!(e.to_string(), "`data/deep/f.txt` is larger than 4 bytes");
}

#[test]
fn read_refuses_what_is_not_a_regular_file_inside() {
    let f = fixture();
    let r = &f.root;
    let e = r.read(Path::new("data/nope.txt"), 64).unwrap_err();
    assert!(matches!(e.kind, RootErrorKind::NotFound { .. }));
    assert_eq!(e.to_string(), "`data/nope.txt` does not exist");
    assert!(matches!(
        kind(r.read(Path::new("data"), 64)),
        RootErrorKind::NotAFile
    ));
    assert!(matches!(
        kind(r.read(Path::new(""), 64)),
        RootErrorKind::NotAFile
    ));
    assert!(matches!(
        kind(r.read(Path::new("top.txt/x"), 64)),
        RootErrorKind::NotADirectory { at } if at == Path::new("top.txt")
    ));
    let e = r.read(Path::new("../outside/secret"), 64).unwrap_err();
    assert!(e.is_outside());
    assert_eq!(
        e.to_string(),
        "`../outside/secret` is outside the submission"
    );
    assert!(r
        .read(Path::new("/etc/hostname"), 64)
        .unwrap_err()
        .is_outside());
    assert!(r.read(Path::new("a/../../x"), 64).unwrap_err().is_outside());
}

#[test]
fn read_refuses_a_fifo_without_blocking() {
    let f = fixture();
    fifo(&f.p("pipe"));
    assert!(matches!(
        kind(f.root.read(Path::new("pipe"), 64)),
        RootErrorKind::NotAFile
    ));
}

#[test]
fn read_to_string_refuses_invalid_utf8() {
    let f = fixture();
    std::fs::write(f.p("bin"), [0xff, 0xfe]).unwrap();
    assert!(matches!(
        kind(f.root.read_to_string(Path::new("bin"), 64)),
        RootErrorKind::NotUtf8
    ));
}

// One test per shape of link: every one is refused by read, bind_source and walk, with the
// link named.

fn assert_link(r: Result<impl fmt::Debug, RootError>, at: &str) {
    let e = r.expect_err("a link must be refused");
    match &e.kind {
        RootErrorKind::Link { at: got } => assert_eq!(got, Path::new(at), "{e}"),
        other => panic!("expected a link at {at}, got {other:?}: {e}"),
    }
    assert!(e.to_string().contains(&format!("`{at}`")), "{e}");
    assert!(e.to_string().contains("symbolic link"), "{e}");
}

#[test]
fn a_link_as_the_last_component_is_refused() {
    let f = fixture();
    symlink("top.txt", f.p("last")).unwrap();
    assert_link(f.root.read(Path::new("last"), 64), "last");
    assert_link(f.root.bind_source(Path::new("last")), "last");
    assert_eq!(
        f.root.read(Path::new("last"), 64).unwrap_err().to_string(),
        "`last` is a symbolic link (assay never follows links in a submission)"
    );
}

#[test]
fn a_link_as_a_middle_directory_is_refused() {
    let f = fixture();
    symlink("data", f.p("middle")).unwrap();
    assert_link(f.root.read(Path::new("middle/deep/f.txt"), 64), "middle");
    assert_link(f.root.bind_source(Path::new("middle/deep")), "middle");
    assert_link(
        f.root.walk(Path::new("middle"), WalkLimits::default()),
        "middle",
    );
    assert_eq!(
        f.root
            .read(Path::new("middle/deep/f.txt"), 64)
            .unwrap_err()
            .to_string(),
        "`middle/deep/f.txt` is refused: `middle` is a symbolic link (assay never follows links in a submission)"
    );
}

#[test]
fn a_link_to_inside_is_refused() {
    let f = fixture();
    symlink(f.p("data/deep/f.txt"), f.p("data/alias")).unwrap();
    assert!(f.root.is_inside(Path::new("data/alias")));
    assert_link(f.root.read(Path::new("data/alias"), 64), "data/alias");
    assert_link(f.root.bind_source(Path::new("data/alias")), "data/alias");
    assert_link(
        f.root.walk(Path::new("data"), WalkLimits::default()),
        "data/alias",
    );
}

#[test]
fn a_link_to_outside_is_refused() {
    let f = fixture();
    symlink(&f.outside, f.p("out")).unwrap();
    symlink(f.outside.join("secret"), f.p("data/secret")).unwrap();
    assert_eq!(
        f.root.resolve(Path::new("out/secret")),
        Resolved::Outside(f.outside.join("secret"))
    );
    assert_link(f.root.read(Path::new("out/secret"), 64), "out");
    assert_link(f.root.read(Path::new("data/secret"), 64), "data/secret");
    assert_link(f.root.bind_source(Path::new("out")), "out");
    assert_link(
        f.root.walk(Path::new("data"), WalkLimits::default()),
        "data/secret",
    );
}

#[test]
fn a_dangling_link_is_refused_as_a_link_not_as_missing() {
    let f = fixture();
    symlink("nowhere", f.p("data/dangling")).unwrap();
    assert_link(f.root.read(Path::new("data/dangling"), 64), "data/dangling");
    assert_link(
        f.root.bind_source(Path::new("data/dangling")),
        "data/dangling",
    );
    assert_link(
        f.root.walk(Path::new(""), WalkLimits::default()),
        "data/dangling",
    );
}

/// Time of check is not time of use: a file that `resolve` found inside and link-free is
/// swapped for a link to outside before the read. The read itself refuses it.
#[test]
fn a_path_swapped_for_a_link_after_the_check_is_refused_by_the_read() {
    let f = fixture();
    let rel = Path::new("data/deep/f.txt");
    assert_eq!(f.root.resolve(rel), Resolved::Inside(rel.to_path_buf()));
    std::fs::remove_dir_all(f.p("data/deep")).unwrap();
    symlink(&f.outside, f.p("data/deep")).unwrap();
    assert_link(f.root.read(rel, 64), "data/deep");
}

#[test]
fn bind_source_names_a_directory_or_a_file_inside() {
    let f = fixture();
    let r = &f.root;
    assert_eq!(
        r.bind_source(Path::new("./data/")).unwrap(),
        BindSource {
            rel: PathBuf::from("data"),
            real: f.p("data"),
            kind: EntryKind::Dir
        }
    );
    assert_eq!(
        r.bind_source(&f.p("top.txt")).unwrap().kind,
        EntryKind::File
    );
    assert_eq!(r.bind_source(Path::new(".")).unwrap().kind, EntryKind::Dir);
    assert!(matches!(
        kind(r.bind_source(Path::new("data/missing"))),
        RootErrorKind::NotFound { at } if at == Path::new("data/missing")
    ));
    assert!(r
        .bind_source(Path::new("../outside"))
        .unwrap_err()
        .is_outside());
    assert!(r.bind_source(Path::new("/")).unwrap_err().is_outside());
}

#[test]
fn walk_lists_the_tree_in_order_without_following_links() {
    let f = fixture();
    std::fs::write(f.p("data/a.txt"), "aa").unwrap();
    let entries = f
        .root
        .walk(Path::new("data"), WalkLimits::default())
        .unwrap();
    let listed: Vec<(String, EntryKind, u64)> = entries
        .iter()
        .map(|e| (e.rel.display().to_string(), e.kind, e.size))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("data/a.txt".into(), EntryKind::File, 2),
            ("data/deep".into(), EntryKind::Dir, 0),
            ("data/deep/f.txt".into(), EntryKind::File, 5),
        ]
    );
    assert!(entries.iter().all(|e| e.mode & 0o400 != 0));
    // Every file listed reads back through the same rule.
    for e in entries.iter().filter(|e| e.kind == EntryKind::File) {
        assert_eq!(f.root.read(&e.rel, e.size).unwrap().len() as u64, e.size);
    }
}

#[test]
fn walk_refuses_special_files_a_file_and_trees_past_the_limits() {
    let f = fixture();
    assert!(matches!(
        kind(f.root.walk(Path::new("top.txt"), WalkLimits::default())),
        RootErrorKind::NotADirectory { .. }
    ));
    let few = WalkLimits {
        max_entries: 2,
        max_depth: 32,
    };
    assert!(matches!(
        kind(f.root.walk(Path::new(""), few)),
        RootErrorKind::TooManyEntries { max: 2 }
    ));
    let shallow = WalkLimits {
        max_entries: 100,
        max_depth: 1,
    };
    assert!(matches!(
        kind(f.root.walk(Path::new("data"), shallow)),
        RootErrorKind::TooDeep { at, max: 1 } if at == Path::new("data/deep/f.txt")
    ));
    fifo(&f.p("data/pipe"));
    assert!(matches!(
        kind(f.root.walk(Path::new("data"), WalkLimits::default())),
        RootErrorKind::Special { at } if at == Path::new("data/pipe")
    ));
}
