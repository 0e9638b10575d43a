//! Merging two compose trees (an override file over its base, a service over the one it extends),
//! with compose-go's rules: mappings merge key by key, scalars are replaced, `!reset` removes and
//! `!override` replaces; service lists merge by identity (volumes by target, secrets/configs by
//! source), `command`/`entrypoint`/`healthcheck.test` are replaced, other lists are unioned;
//! the short and long forms of `environment`, `labels`, `depends_on`, `networks`, `build` merge
//! as mappings.

use crate::node::{Key, MergeTag, Node, NodeKind};

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
            let mut entries = b;
            for (k, v) in o {
                if let Some(pos) = entries.iter().position(|(e, _)| e.name == k.name) {
                    let (bk, bv) = entries.remove(pos);
                    let mut child = path.to_vec();
                    child.push(k.name.clone());
                    if let Some(merged) = merge(bv, v, &child) {
                        entries.insert(pos, (bk, merged));
                    }
                } else if v.tag != Some(MergeTag::Reset) {
                    entries.push((k, strip_tags(v)));
                }
            }
            Some(Node { kind: NodeKind::Map(entries), location: base.location, origin: base.origin, tag: None })
        }
        (NodeKind::Seq(b), NodeKind::Seq(o)) => {
            let items = match field {
                Some("command" | "entrypoint") => o,
                _ if path.len() == 4 && path[0] == "services" && path[2] == "healthcheck" && path[3] == "test" => o,
                Some("volumes") => merge_by(b, o, volume_target),
                Some("secrets" | "configs") => merge_by(b, o, |n| n.scalar_text().or_else(|| n.get("source").and_then(Node::scalar_text))),
                Some("env_file") => append_unique(b, o),
                _ => append_unique(b, o),
            };
            Some(Node { kind: NodeKind::Seq(items), location: over.location, origin: over.origin, tag: None })
        }
        (_, kind) => Some(Node { kind, location: over.location, origin: over.origin, tag: None }),
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
    matches!(field, "environment" | "labels" | "annotations" | "sysctls" | "depends_on" | "networks" | "build" | "ulimits")
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
                let Some(text) = item.scalar_text() else { continue };
                let (k, v) = match field {
                    "depends_on" => (
                        text,
                        Node::new(
                            NodeKind::Map(vec![(
                                Key { name: "condition".into(), location: item.location.clone() },
                                Node::new(NodeKind::Str("service_started".into()), item.location.clone()),
                            )]),
                            item.location.clone(),
                        ),
                    ),
                    "networks" => (text, Node::new(NodeKind::Null, item.location.clone())),
                    _ => match text.split_once('=') {
                        Some((k, v)) => {
                            let mut n = Node::new(NodeKind::Str(v.to_string()), item.location.clone());
                            n.origin = item.origin.clone();
                            (k.to_string(), n)
                        }
                        None => (text, Node::new(NodeKind::Null, item.location.clone())),
                    },
                };
                entries.retain(|(e, _)| e.name != k);
                entries.push((Key { name: k, location: item.location }, v));
            }
            Node::new(NodeKind::Map(entries), loc)
        }
        NodeKind::Str(s) if field == "build" => Node::new(
            NodeKind::Map(vec![(Key { name: "context".into(), location: loc.clone() }, Node::new(NodeKind::Str(s), loc.clone()))]),
            loc,
        ),
        kind => Node { kind, location: loc, origin: node.origin, tag: node.tag },
    }
}

/// Two nodes with the same value, ignoring where they were written.
pub(crate) fn same_value(a: &Node, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (NodeKind::Map(x), NodeKind::Map(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.iter().any(|(k2, v2)| k.name == k2.name && same_value(v, v2)))
        }
        (NodeKind::Seq(x), NodeKind::Seq(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_value(p, q)),
        (x, y) => x == y,
    }
}

fn append_unique(mut base: Vec<Node>, over: Vec<Node>) -> Vec<Node> {
    for item in over {
        if !base.iter().any(|b| same_value(b, &item)) {
            base.push(strip_tags(item));
        }
    }
    base
}

fn merge_by(mut base: Vec<Node>, over: Vec<Node>, id: impl Fn(&Node) -> Option<String>) -> Vec<Node> {
    for item in over {
        let key = id(&item);
        match key.and_then(|k| base.iter().position(|b| id(b).as_deref() == Some(k.as_str()))) {
            Some(pos) => base[pos] = strip_tags(item),
            None => base.push(strip_tags(item)),
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
    let parts = crate::canonical::split_volume_spec(&text);
    match parts.len() {
        1 => Some(parts[0].clone()),
        _ => Some(parts[1].clone()),
    }
}
