//! Embeds the handout webapp's source (sample-webapp/) into the binary for `assay kit`, so the
//! handout always matches the webapp this assay version grades against.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("sample-webapp");
    let mut files = Vec::new();
    for top in [
        "Cargo.toml",
        "Dockerfile",
        ".dockerignore",
        "README.md",
        "src",
    ] {
        collect(&root, &root.join(top), &mut files);
    }
    files.sort();
    let mut code = String::from("/// The handout webapp's files: (path relative to sample-webapp/, contents).\npub static WEBAPP_FILES: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        let _ = writeln!(code, "    ({rel:?}, include_bytes!({abs:?})),");
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("webapp_files.rs");
    std::fs::write(out, code).unwrap();
    println!("cargo:rerun-if-changed=sample-webapp");
    println!("cargo:rerun-if-changed=build.rs");
}

fn collect(root: &Path, path: &Path, out: &mut Vec<(String, String)>) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.is_dir() {
        println!("cargo:rerun-if-changed={}", path.display());
        let Ok(rd) = std::fs::read_dir(path) else {
            return;
        };
        for e in rd.flatten() {
            collect(root, &e.path(), out);
        }
    } else if meta.is_file() {
        println!("cargo:rerun-if-changed={}", path.display());
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        out.push((rel, path.display().to_string()));
    }
}
