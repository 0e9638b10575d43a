//! Discovery: which files in an unpacked submission matter, found the way `docker compose`
//! and a reviewer would find them.

use crate::error::IntakeError;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Compose file names in the order `docker compose` prefers them (compose-go's
/// `DefaultFileNames`).
pub const COMPOSE_FILE_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// Override file names in the order `docker compose` prefers them (compose-go's
/// `DefaultOverrideFileNames`); it applies only the first one present.
pub const OVERRIDE_FILE_NAMES: [&str; 4] = [
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// Extensions of answer documents.
const ANSWER_EXTENSIONS: [&str; 6] = ["md", "txt", "docx", "pdf", "html", "htm"];

/// File stems that are project boilerplate, not answers (`LICENSE-MIT.md` counts too).
const BOILERPLATE_STEMS: [&str; 14] = [
    "LICENSE",
    "LICENCE",
    "COPYING",
    "COPYRIGHT",
    "NOTICE",
    "CHANGELOG",
    "CHANGES",
    "HISTORY",
    "AUTHORS",
    "CONTRIBUTORS",
    "CONTRIBUTING",
    "CODE_OF_CONDUCT",
    "CODEOWNERS",
    "THIRD_PARTY_NOTICES",
];

/// `.txt` files that are tool input, not prose (by the start of the name, case-insensitive).
const TOOL_TXT_FILES: [&str; 7] = [
    "requirements",
    "constraints",
    "cmakelists",
    "robots",
    "runtime",
    "dependencies",
    "packages",
];

/// Folders of `.txt` tool input (`requirements/dev.txt`).
const TOOL_TXT_DIRS: [&str; 1] = ["requirements"];

/// Folders of vendored or generated code: their documents are someone else's, never answers.
const VENDORED_DIRS: [&str; 10] = [
    "node_modules",
    "vendor",
    "bower_components",
    "site-packages",
    "venv",
    "virtualenv",
    "__pycache__",
    "third_party",
    "third-party",
    "target",
];

/// Folders whose HTML is an app's pages or templates, not a document written for the reviewer.
const APP_HTML_DIRS: [&str; 9] = [
    "templates",
    "template",
    "static",
    "public",
    "assets",
    "www",
    "views",
    "layouts",
    "partials",
];

/// Folders inside the webapp crate that hold its own source and assets, not answers.
const WEBAPP_SOURCE_DIRS: [&str; 9] = [
    "src",
    "tests",
    "benches",
    "examples",
    "migrations",
    "static",
    "templates",
    "assets",
    "public",
];

/// README names, most preferred first (compared case-insensitively).
const README_NAMES: [&str; 4] = ["readme.md", "readme.markdown", "readme.txt", "readme"];

/// Largest prefix of a YAML file read when looking for Kubernetes manifests, and of a
/// Cargo.toml when looking for the webapp.
const SCAN_BYTES: u64 = 1024 * 1024;

/// What discovery needs to know from the rubric.
#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    /// Cargo package name of the handout webapp (`rubric.webapp.package_name`).
    pub webapp_package: String,
}

/// The files that matter in a submission. Every path is relative to [`crate::Workspace::root`],
/// `/`-separated; the root folder itself is `.`. Lists are sorted, except `override_files`
/// (see there).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// The compose file `docker compose` would use: `compose.yaml` > `compose.yml` >
    /// `docker-compose.yml` > `docker-compose.yaml` in the root, else one folder down (the same
    /// order first, then folder name; hidden folders such as `.devcontainer/` are not chosen).
    pub compose_file: Option<PathBuf>,
    /// Every other compose-named file in the root or one folder down.
    pub other_compose_files: Vec<PathBuf>,
    /// Override files beside the chosen compose file, in `docker compose`'s order of preference:
    /// it applies only the first.
    pub override_files: Vec<PathBuf>,
    /// `.env` beside the chosen compose file, else in the root.
    pub env_file: Option<PathBuf>,
    /// Documents that may hold answers (.md .txt .docx .pdf .html .htm), without the webapp's
    /// own source and README (also the README of a folder named like the webapp), licence/
    /// changelog-like files, tool input (`requirements*.txt`), hidden, vendored and generated
    /// folders (`node_modules/`, `vendor/`, `venv/`, `target/`…), and an app's HTML pages (in
    /// `templates/`, `static/`, `public/`… or with template syntax).
    pub answer_docs: Vec<PathBuf>,
    /// The submission's README: in the root, else beside the compose file. Also listed in
    /// `answer_docs` unless it is the webapp's own README.
    pub readme: Option<PathBuf>,
    /// `Dockerfile`, `*.Dockerfile`, `Dockerfile.*` anywhere.
    pub dockerfiles: Vec<PathBuf>,
    /// YAML files with top-level `apiVersion:` and `kind:` lines.
    pub k8s_manifests: Vec<PathBuf>,
    /// Folders whose Cargo.toml declares the handout webapp's package.
    pub webapp_dirs: Vec<PathBuf>,
}

/// Looks through the unpacked tree at `root`.
pub fn discover(root: &Path, opts: &DiscoverOptions) -> Result<Discovery, IntakeError> {
    let mut files = Vec::new();
    list_files(root, "", &mut files)?;
    files.sort();

    let mut webapp_dirs: Vec<String> = Vec::new();
    if !opts.webapp_package.is_empty() {
        for f in files.iter().filter(|f| file_name(f) == "Cargo.toml") {
            let text = read_prefix(&root.join(f))?;
            if declares_package(&text, &opts.webapp_package) {
                webapp_dirs.push(parent(f).to_string());
            }
        }
    }

    let mut candidates: Vec<&String> = files
        .iter()
        .filter(|f| depth(f) <= 2 && COMPOSE_FILE_NAMES.contains(&file_name(f)))
        .collect();
    candidates.sort_by_key(|f| (depth(f), compose_rank(file_name(f)), parent(f).to_string()));
    let chosen = candidates
        .iter()
        .find(|f| !parent(f).starts_with('.'))
        .map(|f| f.to_string());
    let other_compose_files = candidates
        .iter()
        .filter(|f| Some(f.as_str()) != chosen.as_deref())
        .map(|f| f.to_string())
        .collect();
    let compose_dir = chosen.as_deref().map(parent);

    let mut override_files = Vec::new();
    if let Some(dir) = compose_dir {
        for name in OVERRIDE_FILE_NAMES {
            let p = join(dir, name);
            if files.contains(&p) {
                override_files.push(p);
            }
        }
    }
    let env_file = compose_dir
        .map(|d| join(d, ".env"))
        .filter(|p| files.contains(p))
        .or_else(|| files.iter().find(|f| *f == ".env").cloned());

    let readme =
        find_readme(&files, "").or_else(|| compose_dir.and_then(|d| find_readme(&files, d)));

    let mut answer_docs = Vec::new();
    for f in files.iter().filter(|f| {
        is_answer_doc(f)
            && !webapp_dirs.iter().any(|w| webapp_owns(w, f))
            && !is_webapp_folder_readme(f, &opts.webapp_package)
    }) {
        if is_html(f) && is_template(&read_prefix(&root.join(f))?) {
            continue;
        }
        answer_docs.push(f.clone());
    }
    let dockerfiles = files
        .iter()
        .filter(|f| is_dockerfile(file_name(f)))
        .cloned()
        .collect();
    let mut k8s_manifests = Vec::new();
    for f in files
        .iter()
        .filter(|f| is_yaml(f) && !in_hidden_dir(f) && !is_compose_name(file_name(f)))
    {
        if looks_like_k8s(&read_prefix(&root.join(f))?) {
            k8s_manifests.push(f.clone());
        }
    }

    let paths = |v: Vec<String>| v.into_iter().map(PathBuf::from).collect::<Vec<_>>();
    Ok(Discovery {
        compose_file: chosen.map(PathBuf::from),
        other_compose_files: paths(other_compose_files),
        override_files: paths(override_files),
        env_file: env_file.map(PathBuf::from),
        answer_docs: paths(answer_docs),
        readme: readme.map(PathBuf::from),
        dockerfiles: paths(dockerfiles),
        k8s_manifests: paths(k8s_manifests),
        webapp_dirs: paths(
            webapp_dirs
                .into_iter()
                .map(|d| if d.is_empty() { ".".into() } else { d })
                .collect(),
        ),
    })
}

/// Every regular file under `dir`, as `/`-separated paths relative to the root.
fn list_files(dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), IntakeError> {
    let io = |e| IntakeError::internal(format!("listing {}", dir.display()), e);
    for item in fs::read_dir(dir).map_err(io)? {
        let item = item.map_err(io)?;
        let Some(name) = item.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let path = join(rel, &name);
        let ft = item.file_type().map_err(io)?;
        if ft.is_dir() {
            list_files(&item.path(), &path, out)?;
        } else if ft.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

fn read_prefix(path: &Path) -> Result<String, IntakeError> {
    let mut buf = Vec::new();
    fs::File::open(path)
        .and_then(|f| f.take(SCAN_BYTES).read_to_end(&mut buf))
        .map_err(|e| IntakeError::internal(format!("reading {}", path.display()), e))?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The folder of `path`, `""` for the root.
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

fn depth(path: &str) -> usize {
    path.split('/').count()
}

fn compose_rank(name: &str) -> usize {
    COMPOSE_FILE_NAMES
        .iter()
        .position(|n| *n == name)
        .unwrap_or(usize::MAX)
}

fn is_compose_name(name: &str) -> bool {
    COMPOSE_FILE_NAMES.contains(&name) || OVERRIDE_FILE_NAMES.contains(&name)
}

fn extension(name: &str) -> Option<String> {
    name.rsplit_once('.')
        .filter(|(stem, _)| !stem.is_empty())
        .map(|(_, e)| e.to_ascii_lowercase())
}

fn in_hidden_dir(path: &str) -> bool {
    let dir = parent(path);
    !dir.is_empty() && dir.split('/').any(|c| c.starts_with('.'))
}

/// Whether a document may hold answers, by its path: an answer extension, not in a hidden,
/// vendored or tool-input folder, not an app's HTML page, not licence/changelog-like
/// boilerplate, not tool input such as `requirements.txt`.
fn is_answer_doc(path: &str) -> bool {
    let name = file_name(path);
    let Some(ext) = extension(name) else {
        return false;
    };
    if !ANSWER_EXTENSIONS.contains(&ext.as_str()) || in_hidden_dir(path) {
        return false;
    }
    let dirs: Vec<String> = parent(path)
        .split('/')
        .filter(|d| !d.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let under = |list: &[&str]| dirs.iter().any(|d| list.contains(&d.as_str()));
    if under(&VENDORED_DIRS)
        || (ext == "txt" && under(&TOOL_TXT_DIRS))
        || (is_html(path) && under(&APP_HTML_DIRS))
    {
        return false;
    }
    let stem = name
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let boilerplate = BOILERPLATE_STEMS
        .iter()
        .any(|b| stem == *b || stem.starts_with(&format!("{b}-")));
    let lower_stem = stem.to_ascii_lowercase();
    let tool_input = ext == "txt" && TOOL_TXT_FILES.iter().any(|t| lower_stem.starts_with(t));
    !boilerplate && !tool_input
}

fn is_html(path: &str) -> bool {
    matches!(extension(file_name(path)).as_deref(), Some("html" | "htm"))
}

/// HTML with template syntax (Jinja, Django, Handlebars, Go templates): an app's page.
fn is_template(text: &str) -> bool {
    ["{%", "{{", "<%"].iter().any(|m| text.contains(m))
}

/// The README of a folder named like the handout webapp (`sample-webapp/README.md`): the
/// handout's own README, even where the folder lost its Cargo.toml.
fn is_webapp_folder_readme(path: &str, webapp_package: &str) -> bool {
    let dir = parent(path);
    !webapp_package.is_empty()
        && file_name(dir).eq_ignore_ascii_case(webapp_package)
        && is_readme(file_name(path))
}

fn is_readme(name: &str) -> bool {
    README_NAMES.contains(&name.to_ascii_lowercase().as_str())
}

fn find_readme(files: &[String], dir: &str) -> Option<String> {
    README_NAMES.iter().find_map(|want| {
        files
            .iter()
            .find(|f| parent(f) == dir && file_name(f).to_ascii_lowercase() == *want)
            .cloned()
    })
}

/// Whether `path` is the webapp's own (its source, its README) for the webapp folder `dir`.
fn webapp_owns(dir: &str, path: &str) -> bool {
    let rel = if dir.is_empty() {
        path
    } else {
        match path.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) {
            Some(r) => r,
            None => return false,
        }
    };
    match rel.split_once('/') {
        Some((first, _)) => WEBAPP_SOURCE_DIRS.contains(&first),
        None => is_readme(rel),
    }
}

fn is_dockerfile(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".md") || lower.ends_with(".txt") {
        return false;
    }
    lower == "dockerfile" || lower.ends_with(".dockerfile") || lower.starts_with("dockerfile.")
}

fn is_yaml(path: &str) -> bool {
    matches!(extension(file_name(path)).as_deref(), Some("yaml" | "yml"))
}

/// A top-level `apiVersion:` line and a top-level `kind:` line (any document of the file).
pub(crate) fn looks_like_k8s(text: &str) -> bool {
    let mut api = false;
    let mut kind = false;
    for line in text.lines() {
        api |= line.starts_with("apiVersion:");
        kind |= line.starts_with("kind:");
        if api && kind {
            return true;
        }
    }
    false
}

/// Whether a Cargo.toml's `[package]` table says `name = "<package>"`.
pub(crate) fn declares_package(toml: &str, package: &str) -> bool {
    let mut in_package = false;
    for line in toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line.trim_end_matches(|c: char| c != ']') == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() != "name" {
            continue;
        }
        let value = value.split('#').next().unwrap_or_default().trim();
        let unquoted = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')));
        if unquoted == Some(package) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_package_names_are_read_from_the_package_table_only() {
        let toml = "[package]\nname = \"sample-webapp\" # the handout\nversion = \"0.1.0\"\n";
        assert!(declares_package(toml, "sample-webapp"));
        assert!(declares_package(
            "[package]\nname='sample-webapp'\n",
            "sample-webapp"
        ));
        assert!(!declares_package(
            "[dependencies]\nname = \"sample-webapp\"\n",
            "sample-webapp"
        ));
        assert!(!declares_package(
            "[package]\nname = \"other\"\n",
            "sample-webapp"
        ));
        assert!(!declares_package(
            "[workspace]\nmembers = [\"a\"]\n",
            "sample-webapp"
        ));
    }

    #[test]
    fn kubernetes_manifests_need_both_top_level_keys() {
        assert!(looks_like_k8s(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
        ));
        assert!(!looks_like_k8s("services:\n  web:\n    image: x\n"));
        assert!(!looks_like_k8s("spec:\n  apiVersion: v1\n  kind: Pod\n"));
        assert!(!looks_like_k8s("apiVersion: v1\n"));
    }

    #[test]
    fn answer_documents_leave_out_boilerplate_and_tool_input() {
        assert!(is_answer_doc("ANSWERS.md"));
        assert!(is_answer_doc("answers/q2.md"));
        assert!(is_answer_doc("question-3.txt"));
        assert!(is_answer_doc("essay.DOCX"));
        assert!(is_answer_doc("q4.pdf") && is_answer_doc("q5.htm"));
        assert!(!is_answer_doc("LICENSE.md"));
        assert!(!is_answer_doc("LICENSE-MIT.txt"));
        assert!(!is_answer_doc("CHANGELOG.md"));
        assert!(!is_answer_doc("requirements.txt"));
        assert!(!is_answer_doc("requirements-dev.txt"));
        assert!(!is_answer_doc("app/requirements/prod.txt"));
        assert!(!is_answer_doc("runtime.txt"));
        assert!(!is_answer_doc("web/node_modules/left-pad/README.md"));
        assert!(!is_answer_doc("vendor/github.com/x/y/README.md"));
        assert!(!is_answer_doc("api/venv/lib/site-packages/pkg/README.txt"));
        assert!(!is_answer_doc("app/templates/index.html"));
        assert!(!is_answer_doc("frontend/public/index.htm"));
        assert!(is_answer_doc("answers.html"));
        assert!(is_answer_doc("docs/answers.html"));
        assert!(is_answer_doc("docs/CHALLENGES.md"));
        assert!(!is_answer_doc(".github/PULL_REQUEST_TEMPLATE.md"));
        assert!(!is_answer_doc("notes.rs"));
    }

    #[test]
    fn html_templates_are_app_pages() {
        assert!(is_template("<p>{{ note.text }}</p>"));
        assert!(is_template("{% extends \"base.html\" %}"));
        assert!(!is_template(
            "<h2>Question 2</h2><p>I maintain a library.</p>"
        ));
    }

    #[test]
    fn a_folder_named_like_the_webapp_keeps_its_readme_to_itself() {
        assert!(is_webapp_folder_readme(
            "sample-webapp/README.md",
            "sample-webapp"
        ));
        assert!(is_webapp_folder_readme(
            "take-home/Sample-Webapp/readme.md",
            "sample-webapp"
        ));
        assert!(!is_webapp_folder_readme(
            "sample-webapp/ANSWERS.md",
            "sample-webapp"
        ));
        assert!(!is_webapp_folder_readme("README.md", "sample-webapp"));
        assert!(!is_webapp_folder_readme("sample-webapp/README.md", ""));
    }

    #[test]
    fn the_webapp_owns_its_source_and_readme_but_not_added_answers() {
        assert!(webapp_owns("webapp", "webapp/README.md"));
        assert!(webapp_owns("webapp", "webapp/src/notes.md"));
        assert!(!webapp_owns("webapp", "webapp/ANSWERS.md"));
        assert!(!webapp_owns("webapp", "webapp2/README.md"));
        assert!(webapp_owns("", "README.md"));
        assert!(!webapp_owns("", "docs/README.md"));
    }

    #[test]
    fn dockerfile_names() {
        for yes in [
            "Dockerfile",
            "dockerfile",
            "web.Dockerfile",
            "Dockerfile.dev",
        ] {
            assert!(is_dockerfile(yes), "{yes}");
        }
        for no in ["Dockerfile.md", "Dockerfiles", "README"] {
            assert!(!is_dockerfile(no), "{no}");
        }
    }
}
