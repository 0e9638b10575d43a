//! The load pipeline, in compose-go's stage order (`loader/loader.go`):
//! `.env` → for each file: parse → interpolate → (rebase paths) → extends → include →
//! merge of the main file with its override file → schema validation → canonical model →
//! profiles → consistency.
//!
//! Files are only ever read through the [`SubmissionRoot`] (inside it, never through a link)
//! and within size and count budgets; every problem becomes a located [`Diagnostic`], and the
//! stages keep going after an error so that one run reports them all.

use crate::canonical::Builder;
use crate::files::{open_root, Files};
use crate::interpolate::{self, Variables};
use crate::merge::merge;
use crate::model::{Located, Project};
use crate::node::{Key, Node, NodeKind};
use crate::paths::relative_to;
use crate::yaml::{self, Budget};
use crate::{LoadOptions, Loaded};
use assay_core::{normalize, Diagnostic, Location, SubmissionRoot};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Most services one file may define (real projects have a handful).
const MAX_SERVICES: usize = 1000;
/// Longest `extends` chain followed.
const MAX_EXTENDS_DEPTH: usize = 32;

/// One load in progress: the files read, the variables, the diagnostics so far.
struct Loader<'a> {
    /// Every file is read through it.
    files: Files,
    opts: &'a LoadOptions,
    diags: Vec<Diagnostic>,
    vars: Variables,
    seen: interpolate::Seen,
    /// Absolute project directory (directory of the main compose file).
    project_dir: PathBuf,
    /// Parsed files by absolute path (for extends), after interpolation and rebasing.
    parsed: HashMap<PathBuf, Option<Rc<Node>>>,
    /// Extends cycles already reported (their sorted members).
    reported_cycles: BTreeSet<Vec<String>>,
}

/// The shell variable holding the working directory.
const PWD: &str = "PWD";

pub(crate) fn load(root: &SubmissionRoot, compose_file: &Path, opts: &LoadOptions) -> Loaded {
    let root_dir = root.path();
    let main = normalize(&root_dir.join(compose_file));
    let project_dir = main
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root_dir.to_path_buf());
    let mut l = Loader::new(root.clone(), opts, project_dir.clone());
    // variables: the project directory's .env, then the caller's overrides
    let env_path = project_dir.join(".env");
    if env_path.is_file() {
        let read = l
            .files
            .read_env_file(&env_path, None, &opts.env_overrides, &l.vars);
        if let Ok(entries) = read.map_err(|d| l.diags.push(d)) {
            for (k, v) in entries {
                l.vars.from_dotenv.insert(k.clone());
                l.vars.values.insert(k, v);
            }
        }
    }
    for (k, v) in &opts.env_overrides {
        l.vars.from_dotenv.remove(k);
        l.vars
            .values
            .insert(k.clone(), Located::new(v.clone(), Location::file("--env")));
    }
    // `${PWD}` is the shell's working directory: the project directory when the candidate runs
    // `docker compose up` in it. Never the grader's own environment.
    let pwd_is_project_dir = !l.vars.values.contains_key(PWD);
    if pwd_is_project_dir {
        l.vars.values.insert(
            PWD.into(),
            Located::new(
                project_dir.to_string_lossy().into_owned(),
                Location::file("${PWD}"),
            ),
        );
    }

    let mut stack = vec![main.clone()];
    let Some(mut tree) = l.load_compose_file(&main, &project_dir, None, &mut stack) else {
        dedupe(&mut l.diags);
        return Loaded {
            project: None,
            diagnostics: l.diags,
        };
    };
    if tree.as_map().is_none_or(|m| m.is_empty()) {
        l.diags
            .push(Diagnostic::error("empty compose file").at(Location::file(l.rel(&main))));
        dedupe(&mut l.diags);
        return Loaded {
            project: None,
            diagnostics: l.diags,
        };
    }
    for over in override_files(&main) {
        let mut stack = vec![over.clone()];
        if let Some(o) = l.load_compose_file(&over, &project_dir, None, &mut stack) {
            if let Some(m) = merge(tree.clone(), o, &[]) {
                tree = m;
            }
        }
    }
    if pwd_is_project_dir && l.seen.used.contains(PWD) {
        l.diags.push(
            Diagnostic::warning(format!(
                "`${{PWD}}` is read as the project directory (`{}`), as when `docker compose up` runs in it",
                l.rel(&project_dir)
            ))
            .at(Location::file(l.rel(&main))),
        );
    }
    crate::schema::validate(&tree, &mut l.diags);
    let project: Project = Builder {
        files: &mut l.files,
        diags: &mut l.diags,
        opts: l.opts,
        vars: &l.vars,
        project_dir: &l.project_dir,
    }
    .build_project(tree);
    crate::consistency::check(&project, &mut l.diags);
    let mut diagnostics = std::mem::take(&mut l.diags);
    dedupe(&mut diagnostics);
    Loaded {
        project: Some(project),
        diagnostics,
    }
}

/// Reads one env file of the submission with the loader's safety rules (inside the root,
/// bounded), without interpolation variables.
pub(crate) fn load_env_file(
    root: &Path,
    file: &Path,
) -> Result<BTreeMap<String, Located<String>>, Diagnostic> {
    let root = open_root(root)?;
    let abs = normalize(&root.path().join(file));
    let entries =
        Files::new(root).read_env_file(&abs, None, &BTreeMap::new(), &Variables::default())?;
    Ok(entries.into_iter().collect())
}

/// Drops repeated diagnostics and orders them by place (file, line, column), errors first at
/// the same place.
fn dedupe(diags: &mut Vec<Diagnostic>) {
    let mut seen = BTreeSet::new();
    diags.retain(|d| seen.insert((d.message.clone(), d.location.clone())));
    diags.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            d.location
                .as_ref()
                .map(|l| (l.file.clone(), l.line.unwrap_or(0), l.column.unwrap_or(0)))
        };
        key(a).cmp(&key(b)).then(a.severity.cmp(&b.severity))
    });
}

/// The override file Docker Compose picks up beside a default-named main file.
fn override_files(main: &Path) -> Vec<PathBuf> {
    let Some(name) = main.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    let Some(dir) = main.parent() else {
        return Vec::new();
    };
    let candidates: &[&str] = match name {
        "compose.yaml" | "compose.yml" | "docker-compose.yml" | "docker-compose.yaml" => &[
            "compose.override.yml",
            "compose.override.yaml",
            "docker-compose.override.yml",
            "docker-compose.override.yaml",
        ],
        _ => &[],
    };
    candidates
        .iter()
        .map(|c| dir.join(c))
        .find(|p| p.is_file())
        .into_iter()
        .collect()
}

impl<'a> Loader<'a> {
    fn new(root: SubmissionRoot, opts: &'a LoadOptions, project_dir: PathBuf) -> Self {
        Loader {
            files: Files::new(root),
            opts,
            diags: Vec::new(),
            vars: Variables::default(),
            seen: interpolate::Seen::default(),
            project_dir,
            parsed: HashMap::new(),
            reported_cycles: BTreeSet::new(),
        }
    }

    fn rel(&self, abs: &Path) -> String {
        self.files.rel(abs)
    }

    /// [`Files::read`], the refusal kept as a diagnostic.
    fn read(&mut self, abs: &Path, at: Option<&Location>) -> Option<String> {
        self.files
            .read(abs, at)
            .map_err(|d| self.diags.push(d))
            .ok()
    }

    /// Reads, parses (all documents merged) and interpolates one compose file.
    fn parse_file(&mut self, abs: &Path, at: Option<&Location>) -> Option<Node> {
        let text = self.read(abs, at)?;
        let rel = self.rel(abs);
        let (docs, diags) = yaml::parse_documents(&text, &rel, Budget::default());
        let fatal = docs.is_empty() && diags.iter().any(Diagnostic::is_error);
        self.diags.extend(diags);
        if fatal {
            return None;
        }
        let mut tree: Option<Node> = None;
        for doc in docs {
            tree = match tree {
                None => Some(doc),
                Some(t) => merge(t, doc, &[]),
            };
        }
        let mut tree =
            tree.unwrap_or_else(|| Node::new(NodeKind::Null, Location::file(rel.clone())));
        if tree.is_null() {
            return Some(tree);
        }
        if !matches!(tree.kind, NodeKind::Map(_)) {
            self.diags.push(
                Diagnostic::error(format!(
                    "top-level object must be a mapping, not {}",
                    tree.type_name()
                ))
                .at(tree.location.clone()),
            );
            return None;
        }
        interpolate::interpolate(&mut tree, &self.vars, &mut self.seen, &mut self.diags);
        Some(tree)
    }

    /// Parses a compose file and resolves its `extends` and `include`. Relative paths inside it
    /// are rebased so that they resolve against `self.project_dir`.
    fn load_compose_file(
        &mut self,
        abs: &Path,
        file_project_dir: &Path,
        at: Option<&Location>,
        include_stack: &mut Vec<PathBuf>,
    ) -> Option<Node> {
        let mut tree = self.parse_file(abs, at)?;
        if tree.is_null() {
            return Some(tree);
        }
        let base = relative_to(&normalize(file_project_dir), &normalize(&self.project_dir));
        crate::paths::rebase(&mut tree, &base);
        self.parsed
            .insert(normalize(abs), Some(Rc::new(tree.clone())));
        self.resolve_extends(abs, &mut tree);
        self.resolve_includes(&mut tree, include_stack);
        Some(tree)
    }

    fn resolve_extends(&mut self, abs: &Path, tree: &mut Node) {
        let Some(names) = tree
            .get("services")
            .and_then(Node::as_map)
            .map(|m| m.iter().map(|(k, _)| k.name.clone()).collect::<Vec<_>>())
        else {
            return;
        };
        if names.len() > MAX_SERVICES {
            let loc = tree
                .get_entry("services")
                .map(|(k, _)| k.location.clone())
                .unwrap_or_else(|| tree.location.clone());
            self.diags.push(
                Diagnostic::error(format!("more than {MAX_SERVICES} services in one file")).at(loc),
            );
            return;
        }
        let file = normalize(abs);
        let mut resolved = Vec::new();
        for name in names {
            let has_extends = tree
                .get("services")
                .and_then(|s| s.get(&name))
                .is_some_and(|s| s.get("extends").is_some());
            if !has_extends {
                continue;
            }
            let mut chain = Vec::new();
            if let Some(svc) = self.extended_service(&file, &name, &mut chain, None) {
                resolved.push((name, svc));
            }
        }
        if let Some((_, services)) = tree_entry_mut(tree, "services") {
            if let NodeKind::Map(entries) = &mut services.kind {
                for (name, svc) in resolved {
                    if let Some((_, slot)) = entries.iter_mut().find(|(k, _)| k.name == name) {
                        *slot = svc;
                    }
                }
            }
        }
    }

    /// The service `name` of `file` with its `extends` chain applied.
    fn extended_service(
        &mut self,
        file: &Path,
        name: &str,
        chain: &mut Vec<(PathBuf, String)>,
        at: Option<&Location>,
    ) -> Option<Node> {
        let tree = match self.parsed.get(file) {
            Some(t) => t.clone(),
            None => {
                let t = self.parse_file(file, at).map(|mut t| {
                    let base = relative_to(
                        &normalize(file.parent().unwrap_or(file)),
                        &normalize(&self.project_dir),
                    );
                    crate::paths::rebase(&mut t, &base);
                    Rc::new(t)
                });
                self.parsed.insert(file.to_path_buf(), t.clone());
                t
            }
        }?;
        let Some(svc) = tree.get("services").and_then(|s| s.get(name)).cloned() else {
            if let Some(at) = at {
                self.diags.push(
                    Diagnostic::error(format!(
                        "cannot extend service {name:?} in {}: service not found",
                        self.rel(file)
                    ))
                    .at(at.clone()),
                );
            }
            return None;
        };
        let Some((ext_key, ext)) = svc
            .get_entry("extends")
            .map(|(k, v)| (k.clone(), v.clone()))
        else {
            return Some(svc);
        };
        let (target_file, target) = match &ext.kind {
            NodeKind::Str(s) => (file.to_path_buf(), s.clone()),
            NodeKind::Map(_) => {
                let target = ext
                    .get("service")
                    .and_then(Node::scalar_text)
                    .unwrap_or_default();
                let f = match ext.get("file").and_then(Node::scalar_text) {
                    Some(f) if f.contains("://") || f.starts_with("remote:") => {
                        self.diags.push(
                            Diagnostic::error(format!("cannot extend from the remote file {f:?}: remote resources are not loaded"))
                                .at(ext.location.clone()),
                        );
                        return Some(without_key(svc, "extends"));
                    }
                    Some(f) => normalize(&self.project_dir.join(f)),
                    None => file.to_path_buf(),
                };
                (f, target)
            }
            _ => return Some(without_key(svc, "extends")),
        };
        if chain.len() >= MAX_EXTENDS_DEPTH {
            self.diags.push(
                Diagnostic::error(format!(
                    "extends chain deeper than {MAX_EXTENDS_DEPTH} services"
                ))
                .at(ext_key.location.clone()),
            );
            return Some(without_key(svc, "extends"));
        }
        chain.push((file.to_path_buf(), name.to_string()));
        if chain.iter().any(|(f, n)| *f == target_file && *n == target) {
            let start = chain
                .iter()
                .position(|(f, n)| *f == target_file && *n == target)
                .unwrap_or(0);
            let mut names: Vec<String> = chain[start..].iter().map(|(_, n)| n.clone()).collect();
            let mut members = names.clone();
            members.sort();
            names.push(target.clone());
            if self.reported_cycles.insert(members) {
                self.diags.push(
                    Diagnostic::error(format!("extends cycle detected: {}", names.join(" -> ")))
                        .at(ext_key.location.clone()),
                );
            }
            chain.pop();
            return Some(without_key(svc, "extends"));
        }
        let at = ext
            .get("file")
            .map_or_else(|| ext.location.clone(), |f| f.location.clone());
        let base = self.extended_service(&target_file, &target, chain, Some(&at));
        chain.pop();
        let own = without_key(svc, "extends");
        match base {
            Some(b) => merge(b, own, &["services".to_string(), name.to_string()]),
            None => Some(own),
        }
    }

    fn resolve_includes(&mut self, tree: &mut Node, stack: &mut Vec<PathBuf>) {
        let Some(include) = tree.get("include").cloned() else {
            return;
        };
        *tree = without_key(std::mem::take(tree), "include");
        let Some(items) = include.as_seq() else {
            return;
        };
        for item in items {
            let (paths, env_files, project_directory): (Vec<Node>, Vec<Node>, Option<Node>) =
                match &item.kind {
                    NodeKind::Str(_) => (vec![item.clone()], Vec::new(), None),
                    NodeKind::Map(_) => (
                        seq_or_one(item.get("path")),
                        seq_or_one(item.get("env_file")),
                        item.get("project_directory").cloned(),
                    ),
                    _ => continue,
                };
            let mut imported: Option<Node> = None;
            let mut first_dir: Option<PathBuf> = None;
            for p in &paths {
                let Some(text) = p.scalar_text() else {
                    continue;
                };
                if text.contains("://") || text.starts_with("oci:") || text.starts_with("git@") {
                    self.diags.push(
                        Diagnostic::error(format!("cannot include the remote resource {text:?}: remote resources are not loaded"))
                            .at(p.location.clone()),
                    );
                    continue;
                }
                let target = normalize(&self.project_dir.join(&text));
                if stack.contains(&target) {
                    let mut names: Vec<String> = stack.iter().map(|s| self.rel(s)).collect();
                    names.push(self.rel(&target));
                    self.diags.push(
                        Diagnostic::error(format!(
                            "include cycle detected: {}",
                            names.join(" -> ")
                        ))
                        .at(p.location.clone()),
                    );
                    continue;
                }
                let dir = match &project_directory {
                    Some(d) => {
                        normalize(&self.project_dir.join(d.scalar_text().unwrap_or_default()))
                    }
                    None => first_dir.clone().unwrap_or_else(|| {
                        target.parent().map(Path::to_path_buf).unwrap_or_default()
                    }),
                };
                first_dir.get_or_insert(dir.clone());
                // variables of the included project: its env files (or its .env), under ours
                let saved = self.vars.clone();
                let env_paths: Vec<PathBuf> = if env_files.is_empty() {
                    let e = dir.join(".env");
                    if e.is_file() && normalize(&e) != normalize(&self.project_dir.join(".env")) {
                        vec![e]
                    } else {
                        Vec::new()
                    }
                } else {
                    env_files
                        .iter()
                        .filter_map(Node::scalar_text)
                        .map(|e| normalize(&self.project_dir.join(e)))
                        .collect()
                };
                for e in env_paths {
                    let read = self.files.read_env_file(
                        &e,
                        Some(&p.location),
                        &self.opts.env_overrides,
                        &self.vars,
                    );
                    if let Ok(entries) = read.map_err(|d| self.diags.push(d)) {
                        for (k, v) in entries {
                            if !self.vars.values.contains_key(&k) {
                                self.vars.from_dotenv.insert(k.clone());
                                self.vars.values.insert(k, v);
                            }
                        }
                    }
                }
                stack.push(target.clone());
                let loaded = self.load_compose_file(&target, &dir, Some(&p.location), stack);
                stack.pop();
                self.vars = saved;
                if let Some(t) = loaded {
                    imported = match imported {
                        None => Some(t),
                        Some(i) => merge(i, t, &[]),
                    };
                }
            }
            if let Some(imported) = imported {
                self.add_imported(tree, imported);
            }
        }
    }

    /// Adds an included project's resources; a name defined on both sides is an error.
    fn add_imported(&mut self, tree: &mut Node, imported: Node) {
        let NodeKind::Map(sections) = imported.kind else {
            return;
        };
        for (section, content) in sections {
            if !matches!(
                section.name.as_str(),
                "services" | "networks" | "volumes" | "secrets" | "configs"
            ) {
                continue;
            }
            let NodeKind::Map(items) = content.kind else {
                continue;
            };
            let NodeKind::Map(top) = &mut tree.kind else {
                return;
            };
            if !top.iter().any(|(k, _)| k.name == section.name) {
                top.push((
                    section.clone(),
                    Node::new(NodeKind::Map(Vec::new()), section.location.clone()),
                ));
            }
            let Some((_, own)) = top.iter_mut().find(|(k, _)| k.name == section.name) else {
                continue;
            };
            if own.is_null() {
                own.kind = NodeKind::Map(Vec::new());
            }
            let NodeKind::Map(own_items) = &mut own.kind else {
                continue;
            };
            for (k, v) in items {
                if let Some((existing, _)) = own_items.iter().find(|(e, _)| e.name == k.name) {
                    self.diags.push(
                        Diagnostic::error(format!(
                            "{}.{} conflicts with imported resource",
                            section.name, k.name
                        ))
                        .at(existing.location.clone()),
                    );
                } else {
                    own_items.push((k, v));
                }
            }
        }
    }
}

fn seq_or_one(n: Option<&Node>) -> Vec<Node> {
    match n {
        None => Vec::new(),
        Some(n) => match &n.kind {
            NodeKind::Seq(items) => items.clone(),
            NodeKind::Null => Vec::new(),
            _ => vec![n.clone()],
        },
    }
}

pub(crate) fn without_key(mut node: Node, key: &str) -> Node {
    if let NodeKind::Map(entries) = &mut node.kind {
        entries.retain(|(k, _)| k.name != key);
    }
    node
}

fn tree_entry_mut<'n>(tree: &'n mut Node, key: &str) -> Option<(&'n mut Key, &'n mut Node)> {
    match &mut tree.kind {
        NodeKind::Map(entries) => entries
            .iter_mut()
            .find(|(k, _)| k.name == key)
            .map(|(k, v)| (k, v)),
        _ => None,
    }
}
