//! The spanned YAML tree every later stage works on.
//!
//! Every node carries the [`Location`] it was written at (file relative to the submission root,
//! 1-based line and column), so a finding about any key — modelled or not — can point at it.
//! Mapping keys are strings (compose has no other kind of key); their own location is kept.

use assay_core::Location;
use serde::Serialize;

/// One YAML node with its place and, for scalars produced by interpolation, where the value
/// came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub location: Location,
    /// How the value was produced (a literal, interpolated from variables, an env_file line).
    pub origin: Origin,
    /// compose's merge tags (`!reset`, `!override`), consumed when files are merged.
    pub(crate) tag: Option<MergeTag>,
}

/// The YAML tags compose gives a meaning when merging override files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MergeTag {
    /// `!reset`: drop the value inherited from the base file.
    Reset,
    /// `!override`: replace the base value instead of merging into it.
    Override,
}

/// The value of a [`Node`]. Scalars are resolved with YAML 1.2 core rules: only `true`/`false`
/// are booleans (`yes`/`on` stay strings until a compose boolean field casts them).
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string scalar (quoted, or plain text that is no other type).
    Str(String),
    Seq(Vec<Node>),
    /// Entries in source order; keys are unique (a duplicate is a located error at parse time).
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its own location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub name: String,
    pub location: Location,
}

/// How a value was produced.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Origin {
    /// Written literally in a compose file.
    #[default]
    Literal,
    /// The text contains `$VAR` substitutions; `variables` lists the names used, in order, and
    /// `from_dotenv` the subset whose value came from the submission's `.env` (the rest came from
    /// `--env` overrides, defaults, or were unset).
    Interpolated {
        variables: Vec<String>,
        from_dotenv: Vec<String>,
    },
    /// Read from an `env_file` (path relative to the submission root; the location is the line).
    EnvFile { file: String },
}

impl Origin {
    /// True for a value written literally in the compose file (no interpolation, no env_file).
    pub fn is_literal(&self) -> bool {
        matches!(self, Origin::Literal)
    }
}

impl Default for Node {
    fn default() -> Self {
        Node::new(NodeKind::Null, Location::file(""))
    }
}

impl Node {
    /// A new literal node.
    pub fn new(kind: NodeKind, location: Location) -> Self {
        Node {
            kind,
            location,
            origin: Origin::Literal,
            tag: None,
        }
    }

    /// Where the node was written.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The entries of a mapping, `None` for any other kind.
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The items of a sequence, `None` for any other kind.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The string of a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Looks up a key of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    /// Looks up a key of a mapping, returning the key too (for the key's location).
    pub fn get_entry(&self, key: &str) -> Option<(&Key, &Node)> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, v)| (k, v))
    }

    /// Whether the node is a null scalar.
    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Null)
    }

    /// The scalar as text the way compose stringifies it (`None` for null, mappings, sequences).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.kind {
            NodeKind::Str(s) => Some(s.clone()),
            NodeKind::Bool(b) => Some(b.to_string()),
            NodeKind::Int(i) => Some(i.to_string()),
            NodeKind::Float(f) => Some(format_float(*f)),
            NodeKind::Null | NodeKind::Seq(_) | NodeKind::Map(_) => None,
        }
    }

    /// A short name of the node's type, as used in error messages (`string`, `mapping`, ...).
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "boolean",
            NodeKind::Int(_) => "integer",
            NodeKind::Float(_) => "number",
            NodeKind::Str(_) => "string",
            NodeKind::Seq(_) => "array",
            NodeKind::Map(_) => "mapping",
        }
    }

    /// Walks the tree depth-first, calling `f` with the key path (`services.web.ports[0]`) of
    /// every node.
    pub fn walk(&self, f: &mut dyn FnMut(&str, &Node)) {
        fn go(node: &Node, path: &mut String, f: &mut dyn FnMut(&str, &Node)) {
            f(path, node);
            let len = path.len();
            match &node.kind {
                NodeKind::Map(entries) => {
                    for (k, v) in entries {
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(&k.name);
                        go(v, path, f);
                        path.truncate(len);
                    }
                }
                NodeKind::Seq(items) => {
                    for (i, v) in items.iter().enumerate() {
                        path.push_str(&format!("[{i}]"));
                        go(v, path, f);
                        path.truncate(len);
                    }
                }
                _ => {}
            }
        }
        let mut path = String::new();
        go(self, &mut path, f);
    }
}

/// Formats a float the way Go's `strconv.FormatFloat(f, 'g', -1, 64)` would for common values.
pub(crate) fn format_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    format!("{f}")
}
