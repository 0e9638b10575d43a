//! Rebasing of relative paths written in an included or extended file, so that every relative
//! path in the merged tree resolves against the main project directory (compose-go makes them
//! absolute instead; keeping them relative keeps the values readable for reviewers), and the
//! lexical path syntax the other stages share: host path or named volume, remote resource,
//! Windows drive, a short volume spec's parts, one path relative to another.

use crate::node::{Node, NodeKind};
use assay_core::normalize;
use std::path::{Path, PathBuf};

/// Whether a build context or include path names a remote resource.
pub(crate) fn is_remote(s: &str) -> bool {
    s.contains("://")
        || s.starts_with("git@")
        || s.starts_with("github.com/")
        || s.starts_with("oci:")
}

/// Whether a volume source is a host path (not a named volume).
pub(crate) fn is_host_path(s: &str) -> bool {
    s.starts_with('.') || s.starts_with('/') || s.starts_with('~') || is_windows_path(s)
}

pub(crate) fn is_windows_path(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphabetic()
        && b[1] == b':'
        && (b.len() == 2 || b[2] == b'\\' || b[2] == b'/')
}

/// Splits a short volume spec on `:`, keeping a Windows drive letter with its path.
pub(crate) fn split_volume_spec(spec: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for piece in spec.split(':') {
        let n = parts.len();
        if let Some(last) = parts.last_mut() {
            if n <= 2
                && last.len() == 1
                && last.as_bytes()[0].is_ascii_alphabetic()
                && (piece.starts_with('\\') || piece.starts_with('/'))
            {
                let joined = format!("{last}:{piece}");
                *last = joined;
                continue;
            }
        }
        parts.push(piece.to_string());
    }
    parts
}

/// `to` relative to `from` (both absolute and normalised), lexically.
pub(crate) fn relative_to(to: &Path, from: &Path) -> PathBuf {
    let t: Vec<_> = to.components().collect();
    let f: Vec<_> = from.components().collect();
    let common = t.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c.as_os_str());
    }
    out
}

fn rebase_text(text: &str, base: &Path) -> String {
    if text.starts_with('/') || text.starts_with('~') || is_windows_path(text) || is_remote(text) {
        return text.to_string();
    }
    let joined = normalize(&base.join(text));
    let s = joined.to_string_lossy().replace('\\', "/");
    if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

fn rebase_node(n: &mut Node, base: &Path) {
    if let NodeKind::Str(s) = &mut n.kind {
        *s = rebase_text(s, base);
    }
}

/// Rebases the relative paths of a file's tree by `base` (the file's project directory relative
/// to the main project directory). A no-op when `base` is empty.
pub(crate) fn rebase(tree: &mut Node, base: &Path) {
    if base.as_os_str().is_empty() {
        return;
    }
    let NodeKind::Map(top) = &mut tree.kind else {
        return;
    };
    for (section, content) in top.iter_mut() {
        let NodeKind::Map(items) = &mut content.kind else {
            continue;
        };
        match section.name.as_str() {
            "services" => {
                for (_, svc) in items.iter_mut() {
                    rebase_service(svc, base);
                }
            }
            "secrets" | "configs" => {
                for (_, def) in items.iter_mut() {
                    if let NodeKind::Map(fields) = &mut def.kind {
                        for (k, v) in fields.iter_mut() {
                            if k.name == "file" {
                                rebase_node(v, base);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for (section, content) in top.iter_mut() {
        if section.name != "include" {
            continue;
        }
        let NodeKind::Seq(items) = &mut content.kind else {
            continue;
        };
        for item in items.iter_mut() {
            match &mut item.kind {
                NodeKind::Str(_) => rebase_node(item, base),
                NodeKind::Map(fields) => {
                    for (k, v) in fields.iter_mut() {
                        if matches!(k.name.as_str(), "path" | "env_file" | "project_directory") {
                            match &mut v.kind {
                                NodeKind::Seq(list) => {
                                    list.iter_mut().for_each(|x| rebase_node(x, base))
                                }
                                _ => rebase_node(v, base),
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

fn rebase_service(svc: &mut Node, base: &Path) {
    let NodeKind::Map(fields) = &mut svc.kind else {
        return;
    };
    for (k, v) in fields.iter_mut() {
        match k.name.as_str() {
            "build" => match &mut v.kind {
                NodeKind::Str(_) => rebase_node(v, base),
                NodeKind::Map(b) => {
                    if let Some((_, c)) = b.iter_mut().find(|(k, _)| k.name == "context") {
                        rebase_node(c, base);
                    } else {
                        let loc = v.location.clone();
                        if let NodeKind::Map(b) = &mut v.kind {
                            b.push((
                                crate::node::Key {
                                    name: "context".into(),
                                    location: loc.clone(),
                                },
                                Node::new(NodeKind::Str(rebase_text(".", base)), loc),
                            ));
                        }
                    }
                }
                _ => {}
            },
            "env_file" => match &mut v.kind {
                NodeKind::Str(_) => rebase_node(v, base),
                NodeKind::Seq(items) => {
                    for item in items.iter_mut() {
                        match &mut item.kind {
                            NodeKind::Str(_) => rebase_node(item, base),
                            NodeKind::Map(f) => {
                                if let Some((_, p)) = f.iter_mut().find(|(k, _)| k.name == "path") {
                                    rebase_node(p, base);
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            },
            "extends" => {
                if let NodeKind::Map(f) = &mut v.kind {
                    if let Some((_, p)) = f.iter_mut().find(|(k, _)| k.name == "file") {
                        rebase_node(p, base);
                    }
                }
            }
            "volumes" => {
                let NodeKind::Seq(items) = &mut v.kind else {
                    continue;
                };
                for item in items.iter_mut() {
                    match &mut item.kind {
                        NodeKind::Str(s) => {
                            let parts = split_volume_spec(s);
                            if parts.len() >= 2 && parts[0].starts_with('.') {
                                let mut rebuilt = vec![rebase_text(&parts[0], base)];
                                rebuilt.extend(parts[1..].iter().cloned());
                                *s = rebuilt.join(":");
                            }
                        }
                        NodeKind::Map(f) => {
                            let is_bind = f
                                .iter()
                                .any(|(k, v)| k.name == "type" && v.as_str() == Some("bind"));
                            if is_bind {
                                if let Some((_, src)) =
                                    f.iter_mut().find(|(k, _)| k.name == "source")
                                {
                                    rebase_node(src, base);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}
