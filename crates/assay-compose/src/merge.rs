//! Merging two compose trees (an override file over its base, a service over the one it extends),
//! with compose-go's rules: mappings merge key by key, scalars are replaced, `!reset` removes and
//! `!override` replaces; service lists merge by identity (volumes by target, secrets/configs by
//! source), `command`/`entrypoint`/`healthcheck.test` are replaced, other lists are unioned;
//! the short and long forms of `environment`, `labels`, `depends_on`, `networks`, `build` merge
//! as mappings.

use crate::node::{Key, MergeTag, Node, NodeKind};
use std::collections::{HashMap, HashSet};

/// Merges `over` on top of `base`; `path` is the key path of both (e.g. `["services", "web"]`).
pub(crate) fn merge(base: Node, over: Node, path: &[String]) -> Option<Node> {
    match over.tag {
        Some(MergeTag::Reset) => return None,
        Some(MergeTag::Override) => return Some(strip_tags(over)),
        None => {}
    }
    let field = service_field(path);
    let (base, over) = if both_differ_in_shape(&base, &over) {
        match field {
            Some(f) if is_map_like(f) => (to_map(base, f), to_map(over, f)),
            _ => (base, over),
        }
    } else {
        (base, over)
    };
    match (base.kind, over.kind) {
        (NodeKind::Map(b), NodeKind::Map(o)) => {
            let index: HashMap<String, usize> = b
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.name.clone(), i))
                .collect();
            let mut slots: Vec<Option<(Key, Node)>> = b.into_iter().map(Some).collect();
            let mut added = Vec::new();
            for (k, v) in o {
                match index.get(&k.name).copied() {
                    Some(pos) => {
                        if let Some((bk, bv)) = slots[pos].take() {
                            let mut child = path.to_vec();
                            child.push(k.name.clone());
                            slots[pos] = merge(bv, v, &child).map(|m| (bk, m));
                        }
                    }
                    None if v.tag != Some(MergeTag::Reset) => added.push((k, strip_tags(v))),
                    None => {}
                }
            }
            let entries: Vec<(Key, Node)> = slots.into_iter().flatten().chain(added).collect();
            Some(Node {
                kind: NodeKind::Map(entries),
                location: base.location,
                origin: base.origin,
                tag: None,
            })
        }
        (NodeKind::Seq(b), NodeKind::Seq(o)) => {
            let items = match field {
                Some("command" | "entrypoint") => o,
                _ if path.len() == 4
                    && path[0] == "services"
                    && path[2] == "healthcheck"
                    && path[3] == "test" =>
                {
                    o
                }
                Some("volumes") => merge_by(b, o, volume_target),
                Some("secrets" | "configs") => merge_by(b, o, |n| {
                    n.scalar_text()
                        .or_else(|| n.get("source").and_then(Node::scalar_text))
                }),
                Some("env_file") => append_unique(b, o),
                _ => append_unique(b, o),
            };
            Some(Node {
                kind: NodeKind::Seq(items),
                location: over.location,
                origin: over.origin,
                tag: None,
            })
        }
        (_, kind) => Some(Node {
            kind,
            location: over.location,
            origin: over.origin,
            tag: None,
        }),
    }
}

fn strip_tags(mut n: Node) -> Node {
    n.tag = None;
    n
}

/// `Some(field)` when `path` is `services.<name>.<field>`.
fn service_field(path: &[String]) -> Option<&str> {
    if path.len() == 3 && path[0] == "services" {
        Some(path[2].as_str())
    } else {
        None
    }
}

fn is_map_like(field: &str) -> bool {
    matches!(
        field,
        "environment"
            | "labels"
            | "annotations"
            | "sysctls"
            | "depends_on"
            | "networks"
            | "build"
            | "ulimits"
    )
}

fn both_differ_in_shape(a: &Node, b: &Node) -> bool {
    std::mem::discriminant(&a.kind) != std::mem::discriminant(&b.kind)
}

/// Converts a short form to its mapping form for merging.
pub(crate) fn to_map(node: Node, field: &str) -> Node {
    let loc = node.location.clone();
    match node.kind {
        NodeKind::Seq(items) => {
            let mut entries: Vec<(Key, Node)> = Vec::new();
            for item in items {
                let Some(text) = item.scalar_text() else {
                    continue;
                };
                let (k, v) = match field {
                    "depends_on" => (
                        text,
                        Node::new(
                            NodeKind::Map(vec![(
                                Key {
                                    name: "condition".into(),
                                    location: item.location.clone(),
                                },
                                Node::new(
                                    NodeKind::Str("service_started".into()),
                                    item.location.clone(),
                                ),
                            )]),
                            item.location.clone(),
                        ),
                    ),
                    "networks" => (text, Node::new(NodeKind::Null, item.location.clone())),
                    _ => match text.split_once('=') {
                        Some((k, v)) => {
                            let mut n =
                                Node::new(NodeKind::Str(v.to_string()), item.location.clone());
                            n.origin = item.origin.clone();
                            (k.to_string(), n)
                        }
                        None => (text, Node::new(NodeKind::Null, item.location.clone())),
                    },
                };
                entries.retain(|(e, _)| e.name != k);
                entries.push((
                    Key {
                        name: k,
                        location: item.location,
                    },
                    v,
                ));
            }
            Node::new(NodeKind::Map(entries), loc)
        }
        NodeKind::Str(s) if field == "build" => Node::new(
            NodeKind::Map(vec![(
                Key {
                    name: "context".into(),
                    location: loc.clone(),
                },
                Node::new(NodeKind::Str(s), loc.clone()),
            )]),
            loc,
        ),
        kind => Node {
            kind,
            location: loc,
            origin: node.origin,
            tag: node.tag,
        },
    }
}

/// A text that is equal for two nodes exactly when their values are (locations ignored).
fn fingerprint(n: &Node, out: &mut String) {
    match &n.kind {
        NodeKind::Map(entries) => {
            let mut keys: Vec<&(Key, Node)> = entries.iter().collect();
            keys.sort_by(|a, b| a.0.name.cmp(&b.0.name));
            out.push('{');
            for (k, v) in keys {
                out.push_str(&format!("{:?}:", k.name));
                fingerprint(v, out);
                out.push(',');
            }
            out.push('}');
        }
        NodeKind::Seq(items) => {
            out.push('[');
            for i in items {
                fingerprint(i, out);
                out.push(',');
            }
            out.push(']');
        }
        other => out.push_str(&format!("{other:?}")),
    }
}

fn key_of(n: &Node) -> String {
    let mut s = String::new();
    fingerprint(n, &mut s);
    s
}

fn append_unique(mut base: Vec<Node>, over: Vec<Node>) -> Vec<Node> {
    let mut seen: HashSet<String> = base.iter().map(key_of).collect();
    for item in over {
        if seen.insert(key_of(&item)) {
            base.push(strip_tags(item));
        }
    }
    base
}

fn merge_by(
    mut base: Vec<Node>,
    over: Vec<Node>,
    id: impl Fn(&Node) -> Option<String>,
) -> Vec<Node> {
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, b) in base.iter().enumerate() {
        if let Some(k) = id(b) {
            index.entry(k).or_insert(i);
        }
    }
    for item in over {
        match id(&item).and_then(|k| index.get(&k).copied()) {
            Some(pos) => base[pos] = strip_tags(item),
            None => {
                if let Some(k) = id(&item) {
                    index.insert(k, base.len());
                }
                base.push(strip_tags(item));
            }
        }
    }
    base
}

/// The container path of a service volume entry (short or long syntax).
pub(crate) fn volume_target(n: &Node) -> Option<String> {
    if let Some(t) = n.get("target") {
        return t.scalar_text();
    }
    let text = n.scalar_text()?;
    let parts = crate::paths::split_volume_spec(&text);
    match parts.len() {
        1 => Some(parts[0].clone()),
        _ => Some(parts[1].clone()),
    }
}
