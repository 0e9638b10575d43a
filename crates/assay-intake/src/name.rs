//! Entry names: what a safe relative path is, and when two names mean the same file.

use assay_core::IntakeLimits;
use unicode_normalization::UnicodeNormalization;

/// Longest path component we accept, in bytes (what ext4, APFS and NTFS allow).
pub(crate) const MAX_COMPONENT_BYTES: usize = 255;

/// A validated relative path: no `..`, no empty or `.` parts, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryPath {
    pub components: Vec<String>,
    pub is_dir: bool,
}

impl EntryPath {
    /// The path with `/` separators.
    pub fn joined(&self) -> String {
        self.components.join("/")
    }
}

/// Checks an archive entry name (already decoded to text) and turns it into an [`EntryPath`].
/// Backslashes count as separators (some Windows archivers write them). The error is the reason,
/// ready to be shown next to the entry's name.
pub(crate) fn parse_entry_name(name: &str, limits: &IntakeLimits) -> Result<EntryPath, String> {
    if name.len() > limits.max_name_bytes {
        return Err(format!(
            "name is {} bytes long; the limit is {} bytes",
            name.len(),
            limits.max_name_bytes
        ));
    }
    check_chars(name)?;
    let unified = name.replace('\\', "/");
    if unified.starts_with('/') {
        return Err("absolute path: entries must be relative to the archive root".into());
    }
    let is_dir = unified.ends_with('/');
    let mut components = Vec::new();
    for (i, part) in unified.split('/').enumerate() {
        match part {
            "" | "." => continue,
            ".." => return Err("path traversal: the name contains a `..` component".into()),
            _ => {}
        }
        if i == 0 && is_drive_prefix(part) {
            return Err(format!(
                "Windows drive path `{part}`: entries must be relative to the archive root"
            ));
        }
        if part.len() > MAX_COMPONENT_BYTES {
            return Err(format!(
                "a path component is {} bytes long; the limit is {MAX_COMPONENT_BYTES} bytes",
                part.len()
            ));
        }
        components.push(part.to_string());
    }
    if components.len() > limits.max_depth {
        return Err(format!(
            "path is {} levels deep; the limit is {}",
            components.len(),
            limits.max_depth
        ));
    }
    if components.is_empty() && !is_dir {
        return Err("empty file name".into());
    }
    Ok(EntryPath { components, is_dir })
}

/// Rejects NUL, newlines and every other control character (C0, DEL, C1).
pub(crate) fn check_chars(name: &str) -> Result<(), String> {
    for c in name.chars() {
        if c == '\0' {
            return Err("name contains a NUL character".into());
        }
        if c == '\n' || c == '\r' {
            return Err("name contains a line break".into());
        }
        if c.is_control() {
            return Err(format!(
                "name contains the control character U+{:04X}",
                c as u32
            ));
        }
    }
    Ok(())
}

/// `C:` or `c:foo`: a Windows drive designator.
fn is_drive_prefix(part: &str) -> bool {
    let b = part.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// The key under which two names count as the same file on a case-insensitive or
/// normalising file system (macOS, Windows): NFC, then lower case, then NFC again.
pub(crate) fn collision_key(path: &str) -> String {
    let nfc: String = path.nfc().collect();
    nfc.to_lowercase().nfc().collect()
}

/// Folders never taken in: version control and build output (they are not the candidate's
/// answer and can be huge).
pub(crate) const SKIPPED_DIRS: [&str; 3] = [".git", "target", "node_modules"];

/// Why an entry is left out, if it is: junk an archiver adds (`__MACOSX/`, `.DS_Store`) or a
/// folder in [`SKIPPED_DIRS`]. Returns the path prefix that is skipped.
pub(crate) fn skipped_prefix(components: &[String]) -> Option<String> {
    if components.first().is_some_and(|c| c == "__MACOSX") {
        return Some("__MACOSX/".into());
    }
    if components.last().is_some_and(|c| c == ".DS_Store") {
        return Some(components.join("/"));
    }
    components
        .iter()
        .position(|c| SKIPPED_DIRS.contains(&c.as_str()))
        .map(|i| format!("{}/", components[..=i].join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str) -> Result<EntryPath, String> {
        parse_entry_name(name, &IntakeLimits::default())
    }

    #[test]
    fn plain_names_are_split_into_components() {
        let p = parse("a/b/c.txt").unwrap();
        assert_eq!(p.components, ["a", "b", "c.txt"]);
        assert!(!p.is_dir);
        assert!(parse("a/b/").unwrap().is_dir);
        assert_eq!(parse("./a//b").unwrap().joined(), "a/b");
        assert_eq!(parse("dir\\file.md").unwrap().joined(), "dir/file.md");
    }

    #[test]
    fn hostile_names_are_refused_with_a_reason() {
        assert!(parse("../evil.txt").unwrap_err().contains("traversal"));
        assert!(parse("a/../../x").unwrap_err().contains("traversal"));
        assert!(parse("..\\..\\x").unwrap_err().contains("traversal"));
        assert!(parse("/etc/passwd").unwrap_err().contains("absolute"));
        assert!(parse("\\etc\\passwd").unwrap_err().contains("absolute"));
        assert!(parse("C:\\x").unwrap_err().contains("drive"));
        assert!(parse("c:x").unwrap_err().contains("drive"));
        assert!(parse("a\0b").unwrap_err().contains("NUL"));
        assert!(parse("a\nb").unwrap_err().contains("line break"));
        assert!(parse("a\u{1b}[31m").unwrap_err().contains("U+001B"));
        assert!(parse("a\u{85}").unwrap_err().contains("U+0085"));
        assert!(parse(&"x".repeat(256)).unwrap_err().contains("component"));
        assert!(parse(&"a/".repeat(33)).unwrap_err().contains("levels deep"));
        assert!(parse(&"abc/".repeat(300))
            .unwrap_err()
            .contains("bytes long"));
        assert!(parse("./").unwrap().components.is_empty());
        assert!(parse(".").is_err());
    }

    #[test]
    fn collision_keys_fold_case_and_normalisation() {
        assert_eq!(collision_key("README.md"), collision_key("readme.MD"));
        // "é" precomposed vs "e" + combining acute accent
        assert_eq!(
            collision_key("caf\u{e9}.md"),
            collision_key("cafe\u{301}.md")
        );
        assert_ne!(collision_key("a.md"), collision_key("b.md"));
    }

    #[test]
    fn junk_and_build_output_are_skipped() {
        let c = |p: &str| p.split('/').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            skipped_prefix(&c("__MACOSX/a/._b")),
            Some("__MACOSX/".into())
        );
        assert_eq!(
            skipped_prefix(&c("a/.DS_Store")),
            Some("a/.DS_Store".into())
        );
        assert_eq!(
            skipped_prefix(&c("app/target/debug/x")),
            Some("app/target/".into())
        );
        assert_eq!(skipped_prefix(&c(".git/config")), Some(".git/".into()));
        assert_eq!(skipped_prefix(&c("web/src/main.rs")), None);
    }
}
