//! YAML text → spanned [`Node`] tree, with compose's YAML rules and hostile-input budgets.
//!
//! Why not `serde_yaml`: it is archived, and it and its forks decode into typed structs in a way
//! that silently drops merge keys (`<<`) and lets a repeated mapping key overwrite the first one.
//! A grader must see what Docker Compose (Go's `yaml.v3`) sees, and locate every problem, so we
//! build our own tree from `saphyr-parser`'s event stream, which gives a marker for every event.
//! That puts merge keys, anchors/aliases (with an expansion budget against alias bombs),
//! duplicate keys, tags and nesting depth under our control.
//!
//! Scalars resolve like `yaml.v3` decoding into `interface{}` (YAML 1.2 core schema): only
//! `true`/`false` are booleans; `yes`/`no`/`on`/`off` stay strings (the compose stage casts them
//! where the compose schema says boolean, as compose-go does).

use crate::node::{Key, MergeTag, Node, NodeKind};
use assay_core::{Diagnostic, Location};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;

/// Limits that keep a hostile file bounded in time and memory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    /// Largest accepted file, bytes.
    pub max_bytes: usize,
    /// Most nodes in a document, counting every node an alias expands to.
    pub max_nodes: usize,
    /// Deepest nesting of mappings/sequences.
    pub max_depth: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_bytes: 4 * 1024 * 1024,
            max_nodes: 100_000,
            max_depth: 64,
        }
    }
}

/// Parses every document of `src`. Errors are located in `file`; a fatal error (syntax, budget)
/// ends the parse, others (duplicate keys, bad merges) are collected and parsing continues.
pub(crate) fn parse_documents(
    src: &str,
    file: &str,
    budget: Budget,
) -> (Vec<Node>, Vec<Diagnostic>) {
    let mut b = Builder {
        file,
        budget,
        diags: Vec::new(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        docs: Vec::new(),
    };
    if src.len() > budget.max_bytes {
        b.diags.push(
            Diagnostic::error(format!(
                "file is {} bytes, more than the {} bytes a compose file may have",
                src.len(),
                budget.max_bytes
            ))
            .at(Location::file(file)),
        );
        return (Vec::new(), b.diags);
    }
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut parser = Parser::new_from_str(src);
    loop {
        match parser.next_event() {
            None => break,
            Some(Err(e)) => {
                let m = e.marker();
                let loc = Location::at(file, m.line() as u32, m.col() as u32 + 1);
                b.diags
                    .push(Diagnostic::error(format!("YAML syntax error: {}", e.info())).at(loc));
                return (Vec::new(), b.diags);
            }
            Some(Ok((ev, span))) => {
                if let Err(d) = b.event(ev, span) {
                    b.diags.push(d);
                    return (Vec::new(), b.diags);
                }
            }
        }
    }
    (b.docs, b.diags)
}

enum Frame {
    Seq {
        items: Vec<Node>,
        loc: Location,
        anchor: usize,
        start_count: usize,
        tag: Option<MergeTag>,
    },
    Map {
        entries: Vec<(Key, Node)>,
        /// key → line of its first definition (duplicate detection in O(1))
        index: HashMap<String, u32>,
        pending: Option<PendingKey>,
        merges: Vec<Node>,
        loc: Location,
        anchor: usize,
        start_count: usize,
        tag: Option<MergeTag>,
    },
}

enum PendingKey {
    Key(Key),
    Merge(Location),
    /// A key that was not a scalar (already reported); its value is dropped.
    Invalid,
}

struct Builder<'a> {
    file: &'a str,
    budget: Budget,
    diags: Vec<Diagnostic>,
    stack: Vec<Frame>,
    /// anchor id → (node, number of nodes in it)
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    docs: Vec<Node>,
}

/// What a completed node was, for the key position of a mapping.
struct Done {
    node: Node,
    /// Plain `<<` scalar (a merge key).
    merge_key: bool,
    is_scalar: bool,
}

impl Builder<'_> {
    fn loc(&self, span: &Span) -> Location {
        Location::at(
            self.file,
            span.start.line() as u32,
            span.start.col() as u32 + 1,
        )
    }

    fn count(&mut self, n: usize, loc: &Location) -> Result<(), Diagnostic> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.budget.max_nodes {
            return Err(Diagnostic::error(format!(
                "the document expands to more than {} YAML nodes (alias bomb or oversized file)",
                self.budget.max_nodes
            ))
            .at(loc.clone())
            .with_hint("anchors and aliases may not multiply the document beyond the budget"));
        }
        Ok(())
    }

    fn event(&mut self, ev: Event<'_>, span: Span) -> Result<(), Diagnostic> {
        match ev {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => Ok(()),
            Event::DocumentStart(_) => {
                self.anchors.clear();
                self.nodes = 0;
                Ok(())
            }
            Event::Alias(id) => {
                let loc = self.loc(&span);
                let Some((node, size)) = self.anchors.get(&id) else {
                    return Err(Diagnostic::error("unknown anchor referenced by alias").at(loc));
                };
                let (mut node, size) = (node.clone(), *size);
                self.count(size, &loc)?;
                node.location = loc;
                self.complete(Done {
                    node,
                    merge_key: false,
                    is_scalar: false,
                })
            }
            Event::Scalar(value, style, anchor, tag) => {
                let loc = self.loc(&span);
                self.count(1, &loc)?;
                let tag_suffix = tag.as_ref().map(|t| (t.handle.clone(), t.suffix.clone()));
                let merge_tag = merge_tag(tag_suffix.as_ref());
                let merge_key =
                    style == ScalarStyle::Plain && value == "<<" && tag_suffix.is_none();
                let kind = resolve_scalar(&value, style, tag_suffix.as_ref());
                let mut node = Node::new(kind, loc);
                node.tag = merge_tag;
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), 1));
                }
                self.complete(Done {
                    node,
                    merge_key,
                    is_scalar: true,
                })
            }
            Event::SequenceStart(anchor, tag) => {
                let loc = self.loc(&span);
                self.count(1, &loc)?;
                self.check_depth(&loc)?;
                let tag = merge_tag(
                    tag.as_ref()
                        .map(|t| (t.handle.clone(), t.suffix.clone()))
                        .as_ref(),
                );
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    loc,
                    anchor,
                    start_count: self.nodes,
                    tag,
                });
                Ok(())
            }
            Event::MappingStart(anchor, tag) => {
                let loc = self.loc(&span);
                self.count(1, &loc)?;
                self.check_depth(&loc)?;
                let tag = merge_tag(
                    tag.as_ref()
                        .map(|t| (t.handle.clone(), t.suffix.clone()))
                        .as_ref(),
                );
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    index: HashMap::new(),
                    pending: None,
                    merges: Vec::new(),
                    loc,
                    anchor,
                    start_count: self.nodes,
                    tag,
                });
                Ok(())
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq {
                    items,
                    loc,
                    anchor,
                    start_count,
                    tag,
                }) => {
                    let mut node = Node::new(NodeKind::Seq(items), loc);
                    node.tag = tag;
                    self.close_collection(node, anchor, start_count)
                }
                _ => Err(Diagnostic::error("unbalanced YAML sequence").at(self.loc(&span))),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map {
                    mut entries,
                    merges,
                    loc,
                    anchor,
                    start_count,
                    tag,
                    ..
                }) => {
                    apply_merges(&mut entries, merges);
                    let mut node = Node::new(NodeKind::Map(entries), loc);
                    node.tag = tag;
                    self.close_collection(node, anchor, start_count)
                }
                _ => Err(Diagnostic::error("unbalanced YAML mapping").at(self.loc(&span))),
            },
        }
    }

    /// A finished sequence or mapping: remember it under its anchor (with its size, for the
    /// alias budget) and hand it to its parent.
    fn close_collection(
        &mut self,
        node: Node,
        anchor: usize,
        start_count: usize,
    ) -> Result<(), Diagnostic> {
        if anchor > 0 {
            let size = self.nodes - start_count + 1;
            self.anchors.insert(anchor, (node.clone(), size));
        }
        self.complete(Done {
            node,
            merge_key: false,
            is_scalar: false,
        })
    }

    fn check_depth(&self, loc: &Location) -> Result<(), Diagnostic> {
        if self.stack.len() >= self.budget.max_depth {
            return Err(Diagnostic::error(format!(
                "YAML nesting deeper than {} levels",
                self.budget.max_depth
            ))
            .at(loc.clone()));
        }
        Ok(())
    }

    fn complete(&mut self, done: Done) -> Result<(), Diagnostic> {
        let Some(top) = self.stack.last_mut() else {
            self.docs.push(done.node);
            return Ok(());
        };
        match top {
            Frame::Seq { items, .. } => items.push(done.node),
            Frame::Map {
                entries,
                index,
                pending,
                merges,
                ..
            } => match pending.take() {
                None => {
                    if done.merge_key {
                        *pending = Some(PendingKey::Merge(done.node.location));
                    } else if done.is_scalar
                        || done.node.scalar_text().is_some()
                        || done.node.is_null()
                    {
                        let name = done.node.scalar_text().unwrap_or_default();
                        *pending = Some(PendingKey::Key(Key {
                            name,
                            location: done.node.location,
                        }));
                    } else {
                        self.diags.push(
                            Diagnostic::error(format!(
                                "a mapping key must be a scalar, not a {}",
                                done.node.type_name()
                            ))
                            .at(done.node.location),
                        );
                        *pending = Some(PendingKey::Invalid);
                    }
                }
                Some(PendingKey::Invalid) => {}
                Some(PendingKey::Merge(key_loc)) => {
                    let ok = match &done.node.kind {
                        NodeKind::Map(_) => true,
                        NodeKind::Seq(items) => {
                            items.iter().all(|i| matches!(i.kind, NodeKind::Map(_)))
                        }
                        _ => false,
                    };
                    if ok {
                        merges.push(done.node);
                    } else {
                        self.diags.push(
                            Diagnostic::error("map merge requires map or sequence of maps as the value")
                                .at(done.node.location)
                                .with_hint(format!("the merge key `<<` at line {} takes an alias of a mapping, e.g. `<<: *defaults`", key_loc.line.unwrap_or(0))),
                        );
                    }
                }
                Some(PendingKey::Key(key)) => {
                    if let Some(first_line) = index.get(&key.name) {
                        self.diags.push(
                            Diagnostic::error(format!(
                                "mapping key {:?} already defined at line {first_line}",
                                key.name
                            ))
                            .at(key.location),
                        );
                    } else {
                        index.insert(key.name.clone(), key.location.line.unwrap_or(0));
                        entries.push((key, done.node));
                    }
                }
            },
        }
        Ok(())
    }
}

/// Merge-key semantics of yaml.v3: explicit keys win; among merged maps the first one wins.
fn apply_merges(entries: &mut Vec<(Key, Node)>, merges: Vec<Node>) {
    if merges.is_empty() {
        return;
    }
    let mut present: std::collections::HashSet<String> =
        entries.iter().map(|(k, _)| k.name.clone()).collect();
    for merge in merges {
        let maps: Vec<Node> = match merge.kind {
            NodeKind::Map(_) => vec![merge],
            NodeKind::Seq(items) => items,
            _ => Vec::new(),
        };
        for map in maps {
            if let NodeKind::Map(src) = map.kind {
                for (k, v) in src {
                    if present.insert(k.name.clone()) {
                        entries.push((k, v));
                    }
                }
            }
        }
    }
}

fn merge_tag(tag: Option<&(String, String)>) -> Option<MergeTag> {
    match tag {
        Some((h, s)) if h == "!" && s == "reset" => Some(MergeTag::Reset),
        Some((h, s)) if h == "!" && s == "override" => Some(MergeTag::Override),
        _ => None,
    }
}

/// Resolves a scalar to a typed value (YAML 1.2 core schema, as `yaml.v3` into `interface{}`).
fn resolve_scalar(value: &str, style: ScalarStyle, tag: Option<&(String, String)>) -> NodeKind {
    if let Some((handle, suffix)) = tag {
        if handle == "tag:yaml.org,2002:" || handle == "!!" {
            match suffix.as_str() {
                "str" => return NodeKind::Str(value.to_string()),
                "null" => return NodeKind::Null,
                "bool" | "int" | "float" => {
                    let resolved = resolve_plain(value);
                    if !matches!(resolved, NodeKind::Str(_)) {
                        return resolved;
                    }
                }
                _ => {}
            }
        }
        if style != ScalarStyle::Plain {
            return NodeKind::Str(value.to_string());
        }
    }
    if style != ScalarStyle::Plain {
        return NodeKind::Str(value.to_string());
    }
    resolve_plain(value)
}

pub(crate) fn resolve_plain(value: &str) -> NodeKind {
    match value {
        "" | "~" | "null" | "Null" | "NULL" => return NodeKind::Null,
        "true" | "True" | "TRUE" => return NodeKind::Bool(true),
        "false" | "False" | "FALSE" => return NodeKind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return NodeKind::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return NodeKind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return NodeKind::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(value) {
        return NodeKind::Int(i);
    }
    if is_float(value) {
        if let Ok(f) = value.parse::<f64>() {
            return NodeKind::Float(f);
        }
    }
    NodeKind::Str(value.to_string())
}

fn parse_int(v: &str) -> Option<i64> {
    let (neg, digits) = match v.as_bytes().first()? {
        b'-' => (true, &v[1..]),
        b'+' => (false, &v[1..]),
        _ => (false, v),
    };
    let (radix, body) = if let Some(h) = digits.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = digits.strip_prefix("0o") {
        (8, o)
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let n = i64::from_str_radix(body, radix).ok()?;
    Some(if neg { -n } else { n })
}

fn is_float(v: &str) -> bool {
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let b = v.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - s;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> (Vec<Node>, Vec<Diagnostic>) {
        parse_documents(src, "c.yaml", Budget::default())
    }

    #[test]
    fn scalars_resolve_with_strict_booleans() {
        let (docs, diags) = parse("a: yes\nb: true\nc: 8080\nd: '8080'\ne: 1.5\nf:\ng: on\n");
        assert!(diags.is_empty());
        let d = &docs[0];
        assert_eq!(d.get("a").unwrap().kind, NodeKind::Str("yes".into()));
        assert_eq!(d.get("b").unwrap().kind, NodeKind::Bool(true));
        assert_eq!(d.get("c").unwrap().kind, NodeKind::Int(8080));
        assert_eq!(d.get("d").unwrap().kind, NodeKind::Str("8080".into()));
        assert_eq!(d.get("e").unwrap().kind, NodeKind::Float(1.5));
        assert!(d.get("f").unwrap().is_null());
        assert_eq!(d.get("g").unwrap().kind, NodeKind::Str("on".into()));
        assert_eq!(d.get("c").unwrap().location, Location::at("c.yaml", 3, 4));
    }

    #[test]
    fn duplicate_keys_are_located_errors() {
        let (_, diags) = parse("services:\n  a:\n    image: x\n    image: y\n");
        assert_eq!(diags.len(), 1);
        assert_eq!(
            diags[0].message,
            "mapping key \"image\" already defined at line 3"
        );
        assert_eq!(diags[0].location, Some(Location::at("c.yaml", 4, 5)));
    }

    #[test]
    fn merge_keys_mapping_and_sequence() {
        let src = "x: &a {p: 1, q: 2}\ny: &b {q: 3, r: 4}\nz:\n  <<: [*a, *b]\n  p: 9\n";
        let (docs, diags) = parse(src);
        assert!(diags.is_empty(), "{diags:?}");
        let z = docs[0].get("z").unwrap();
        assert_eq!(z.get("p").unwrap().kind, NodeKind::Int(9));
        assert_eq!(z.get("q").unwrap().kind, NodeKind::Int(2));
        assert_eq!(z.get("r").unwrap().kind, NodeKind::Int(4));
    }

    #[test]
    fn merge_of_a_scalar_is_an_error() {
        let (_, diags) = parse("x: &a 1\ny:\n  <<: *a\n");
        assert_eq!(
            diags[0].message,
            "map merge requires map or sequence of maps as the value"
        );
        assert_eq!(diags[0].location, Some(Location::at("c.yaml", 3, 7)));
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            src.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let (docs, diags) = parse(&src);
        assert!(docs.is_empty());
        assert!(
            diags[0].message.contains("more than 100000 YAML nodes"),
            "{diags:?}"
        );
        assert!(diags[0].location.as_ref().unwrap().line.is_some());
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let src = "[".repeat(100);
        let (docs, diags) = parse(&src);
        assert!(docs.is_empty());
        assert!(
            diags[0].message.contains("nesting deeper than 64"),
            "{diags:?}"
        );
    }

    #[test]
    fn syntax_errors_are_located() {
        let (_, diags) = parse("a: [1, 2\nb: c\n");
        assert_eq!(diags.len(), 1);
        assert!(diags[0].message.starts_with("YAML syntax error"));
        assert!(diags[0].location.as_ref().unwrap().line.is_some());
    }

    #[test]
    fn reset_tags_are_kept() {
        let (docs, _) = parse("a: !reset []\nb: !override {x: 1}\n");
        assert_eq!(docs[0].get("a").unwrap().tag, Some(MergeTag::Reset));
        assert_eq!(docs[0].get("b").unwrap().tag, Some(MergeTag::Override));
    }
}
