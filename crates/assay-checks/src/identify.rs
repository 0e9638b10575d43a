//! Which service is the Postgres database and which one is the handout webapp.

use crate::dockerfile;
use crate::image_ref::ImageRef;
use crate::paths;
use crate::settings;
use crate::CheckContext;
use assay_compose::{Origin, Project, Service};
use assay_core::display;
use assay_core::{normalize, Location, SubmissionRoot};
use std::path::{Path, PathBuf};

/// Largest Dockerfile or Cargo.toml read while identifying services.
const BUILD_FILE_CAP: u64 = 1024 * 1024;

/// A service recognised in a role, with the reason a reviewer reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Identified {
    pub name: String,
    pub reason: String,
    pub location: Location,
    /// Not proven (webapp recognised only by its name or its database variables).
    pub guessed: bool,
    /// For the db: a remark when its image tag is not one the grader prepares.
    pub tag_note: String,
    /// For the webapp: what assay runs in place of what the compose file says, for the reviewer.
    pub substitution: Option<String>,
}

/// The outcome of looking for the Postgres service.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct DbSearch {
    pub candidates: Vec<Identified>,
    /// Services whose image looks like Postgres but is not one the rubric accepts.
    pub lookalikes: Vec<(String, String, Location)>,
}

/// The Dockerfile a service's build uses, relative to nothing (absolute), when it is local.
pub(crate) fn dockerfile_path(service: &Service) -> Option<PathBuf> {
    let b = service.build.as_ref()?;
    let ctx = b.context_path.as_ref()?;
    let file = b
        .dockerfile
        .as_ref()
        .map_or("Dockerfile", |d| d.value.as_str());
    Some(normalize(&ctx.join(file)))
}

/// The analysed Dockerfile of a service's build (inline or a file inside the submission).
pub(crate) fn build_dockerfile(
    root: &SubmissionRoot,
    service: &Service,
) -> Option<(dockerfile::DockerfileFacts, String)> {
    let b = service.build.as_ref()?;
    if let Some(inline) = &b.dockerfile_inline {
        return Some((
            dockerfile::analyze(&inline.value),
            "dockerfile_inline".into(),
        ));
    }
    let path = dockerfile_path(service)?;
    let text = paths::read_text(root, &path, BUILD_FILE_CAP).ok()?;
    Some((dockerfile::analyze(&text), root.display(&path)))
}

pub(crate) fn find_db(project: &Project, ctx: &CheckContext) -> DbSearch {
    let images = &ctx.rubric.database.images;
    let mut out = DbSearch::default();
    for (name, s) in &project.services {
        if let Some((facts, file)) = build_dockerfile(ctx.root, s) {
            if let Some(base) = facts
                .final_base
                .filter(|b| ImageRef::parse(b).matches_any(images))
            {
                let loc = s
                    .build
                    .as_ref()
                    .map_or_else(|| s.location.clone(), |b| b.location.clone());
                out.candidates.push(Identified {
                    name: name.clone(),
                    reason: format!("built FROM {} ({file})", display::value(&base)),
                    location: loc,
                    guessed: false,
                    tag_note: String::new(),
                    substitution: None,
                });
                continue;
            }
        }
        let Some(image) = &s.image else { continue };
        let r = ImageRef::parse(&image.value);
        if s.build.is_none() && r.matches_any(images) {
            out.candidates.push(Identified {
                name: name.clone(),
                reason: format!("image `{}`", display::value(&image.value)),
                location: image.location.clone(),
                guessed: false,
                tag_note: tag_note(&r, &ctx.rubric.database.allowed_tags),
                substitution: None,
            });
        } else if r
            .short_repository()
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains("postgres") || last.contains("postgis"))
        {
            out.lookalikes
                .push((name.clone(), image.value.clone(), image.location.clone()));
        }
    }
    out
}

/// `; tag `alpine` is not one the grader prepares (15, 16)` when the tag is not allowed.
fn tag_note(r: &ImageRef, allowed: &[String]) -> String {
    if r.digest.is_some() {
        return String::new();
    }
    let tag = r.tag.as_deref().unwrap_or("latest");
    if allowed.is_empty() || allowed.iter().any(|t| t == tag) {
        String::new()
    } else {
        format!(
            "; its tag `{}` is not one the grader prepares ({})",
            display::value(tag),
            allowed.join(", ")
        )
    }
}

/// Whether `dir` (absolute) holds a Cargo.toml whose package is `package`.
fn holds_package(root: &SubmissionRoot, dir: &Path, package: &str) -> bool {
    let Ok(text) = paths::read_text(root, &dir.join("Cargo.toml"), BUILD_FILE_CAP) else {
        return false;
    };
    cargo_package_name(&text).as_deref() == Some(package)
}

/// `name = "…"` of the `[package]` table.
pub(crate) fn cargo_package_name(toml: &str) -> Option<String> {
    let mut in_package = false;
    for line in toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line.trim_start_matches('[').trim_end_matches(']').trim() == "package";
            continue;
        }
        if !in_package {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if k.trim() == "name" {
                let v = v.split('#').next().unwrap_or("").trim();
                return Some(v.trim_matches(|c| c == '"' || c == '\'').to_string());
            }
        }
    }
    None
}

/// Finds the webapp among the services that are not the database: the handout webapp however
/// it is packaged (a build of its folder, its image under the rubric's name or the name the
/// handout's README builds, or a build of a handout folder the submission left out), else — so
/// the connection checks still have something to judge — the service the evidence points at.
pub(crate) fn find_webapp(
    project: &Project,
    ctx: &CheckContext,
    not: &[String],
) -> Option<Identified> {
    let identity = &ctx.rubric.webapp;
    let dirs: Vec<PathBuf> = ctx
        .webapp_dirs
        .iter()
        .map(|d| normalize(&project.root.join(d)))
        .collect();
    let others = project.services.iter().filter(|(n, _)| !not.contains(n));
    for (name, s) in others.clone() {
        let Some(b) = &s.build else { continue };
        let Some(ctx_path) = &b.context_path else {
            continue;
        };
        let ctx_path = normalize(ctx_path);
        let dockerfile = dockerfile_path(s);
        let by_dir = dirs.iter().any(|d| {
            *d == ctx_path
                || (d.starts_with(&ctx_path)
                    && dockerfile.as_ref().is_some_and(|f| f.starts_with(d)))
        });
        if by_dir || holds_package(ctx.root, &ctx_path, &identity.package_name) {
            return Some(Identified {
                name: name.clone(),
                reason: format!(
                    "its build context `{}` holds the handout webapp ({})",
                    display::value(&b.context.value),
                    identity.package_name
                ),
                location: b.context.location.clone(),
                guessed: false,
                tag_note: String::new(),
                substitution: None,
            });
        }
    }
    for (name, s) in others.clone() {
        if let Some(found) = handout_image(ctx, name, s) {
            return Some(found);
        }
    }
    let mut best: Option<(u8, Identified)> = None;
    for (name, s) in others.clone() {
        if let Some((score, found)) = missing_handout_build(ctx, name, s) {
            if best.as_ref().is_none_or(|(b, _)| score > *b) {
                best = Some((score, found));
            }
        }
    }
    if let Some((_, found)) = best {
        return Some(found);
    }
    guess_by_evidence(project, ctx, not)
}

/// The sentence every substitution note ends with.
fn pristine_runs(ctx: &CheckContext) -> String {
    format!(
        "assay runs the pristine handout webapp image in its place ({})",
        ctx.rubric
            .webapp
            .images
            .first()
            .map_or("the handout image", String::as_str)
    )
}

/// A service whose image is the handout webapp's: a name in the rubric (any tag or registry),
/// or the name the handout's README builds (`docker build -t sample-webapp .`, the package
/// name) when nothing of the candidate's is built in its place.
fn handout_image(ctx: &CheckContext, name: &str, s: &Service) -> Option<Identified> {
    let identity = &ctx.rubric.webapp;
    let image = s.image.as_ref()?;
    let r = ImageRef::parse(&image.value);
    let shown = display::value(&image.value);
    let (reason, substitution) = if r.matches_any(&identity.images) {
        (
            format!("its image `{shown}` is the handout webapp's"),
            format!(
                "service `{name}` uses the handout image `{shown}`; {}",
                pristine_runs(ctx)
            ),
        )
    } else if suggested_name(&r, &identity.package_name)
        && s.build.as_ref().is_none_or(|b| !build_present(ctx.root, b))
    {
        (
            format!(
                "its image `{shown}` is the name the handout's README builds (`docker build -t {} .`)",
                identity.package_name
            ),
            format!(
                "service `{name}` uses `image: {shown}`, the image the handout's README builds; {}",
                pristine_runs(ctx)
            ),
        )
    } else {
        return None;
    };
    Some(Identified {
        name: name.to_string(),
        reason,
        location: image.location.clone(),
        guessed: false,
        tag_note: String::new(),
        substitution: Some(substitution),
    })
}

/// Whether the image's last path component is the handout's package name (`sample-webapp`,
/// `me/sample-webapp:1`, `ghcr.io/me/sample-webapp`).
fn suggested_name(r: &ImageRef, package: &str) -> bool {
    !package.is_empty() && r.repository.rsplit('/').next() == Some(package)
}

/// Whether a build's context is a folder of the submission (not missing, not remote).
fn build_present(root: &SubmissionRoot, b: &assay_compose::Build) -> bool {
    let Some(ctx) = &b.context_path else {
        return true; // remote: present somewhere; the policy rejects it
    };
    match paths::resolve_path(root, ctx) {
        paths::Resolved::Inside(rel) => root.path().join(rel).is_dir(),
        _ => true, // outside: the policy's business, not a missing handout folder
    }
}

/// A service that builds a folder the submission does not contain, recognised as the handout
/// webapp by the folder's name, the service's name or the webapp's environment contract
/// (DATABASE_URL or PGHOST). The score ranks several such services.
fn missing_handout_build(ctx: &CheckContext, name: &str, s: &Service) -> Option<(u8, Identified)> {
    let identity = &ctx.rubric.webapp;
    let b = s.build.as_ref()?;
    if build_present(ctx.root, b) {
        return None;
    }
    let folder = b
        .context_path
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut why = Vec::new();
    let mut score = 0;
    if folder == identity.package_name {
        why.push(format!(
            "the folder is the handout's `{}/`",
            identity.package_name
        ));
        score += 4;
    }
    if name == identity.package_name {
        why.push("the service is named after the handout webapp".to_string());
        score += 2;
    }
    if let Some(k) = [assay_core::webapp::DATABASE_URL, assay_core::webapp::PGHOST]
        .into_iter()
        .find(|k| settings::env(s, k).is_some())
    {
        why.push(format!("it sets {k}, as the handout webapp reads it"));
        score += 2;
    }
    if score == 0 {
        return None;
    }
    let shown = display::value(&b.context.value);
    Some((
        score,
        Identified {
            name: name.to_string(),
            reason: format!(
                "it builds `{shown}`, which the submission does not contain, and {}",
                why.join(" and ")
            ),
            location: b.context.location.clone(),
            guessed: false,
            tag_note: String::new(),
            substitution: Some(format!(
                "service `{name}` builds `{shown}`, which is not in the submission; {}",
                pristine_runs(ctx)
            )),
        },
    ))
}

/// What makes a service look like the app that talks to Postgres, strongest first.
struct Evidence {
    score: u8,
    why: Vec<String>,
}

/// Whether an environment key is a Postgres connection setting by its name.
fn db_key(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    if k.starts_with("PGADMIN") {
        return false;
    }
    k.starts_with("POSTGRES_")
        || k.starts_with("DB_")
        || k.starts_with("DATABASE_")
        || k.starts_with("PG_")
        || assay_core::webapp::DB_VARS.contains(&k.as_str())
}

fn evidence(s: &Service, dbs: &[&Service]) -> Evidence {
    let mut e = Evidence {
        score: 0,
        why: Vec::new(),
    };
    let url_keys: Vec<&str> = s
        .environment
        .iter()
        .filter(|(_, v)| {
            v.value
                .as_deref()
                .is_some_and(crate::db_url::is_postgres_url)
        })
        .map(|(k, _)| k.as_str())
        .take(3)
        .collect();
    if !url_keys.is_empty() {
        e.score += 4;
        e.why
            .push(format!("{} holds a Postgres URL", url_keys.join(", ")));
    }
    let keys: Vec<String> = s
        .environment
        .iter()
        .filter(|(k, _)| db_key(k) && !url_keys.contains(&k.as_str()))
        .map(|(k, v)| match &v.origin {
            Origin::EnvFile { file } => format!("{k} (env_file {file})"),
            _ => k.clone(),
        })
        .take(4)
        .collect();
    if !keys.is_empty() {
        e.score += 2;
        e.why.push(format!("it sets {}", keys.join(", ")));
    }
    let shared: Vec<&String> = s
        .networks
        .keys()
        .filter(|n| dbs.iter().any(|d| d.networks.contains_key(*n)))
        .collect();
    if let Some(net) = shared.first() {
        e.score += 1;
        e.why
            .push(format!("it shares network `{net}` with the database"));
    }
    e
}

/// No service is the handout webapp: the one the other checks judge is chosen by evidence
/// (a Postgres URL under any name, database variables, a network shared with the db), the
/// service's name deciding only between equals. The reason lists every service considered.
fn guess_by_evidence(project: &Project, ctx: &CheckContext, not: &[String]) -> Option<Identified> {
    let hints = &ctx.rubric.webapp.service_hints;
    let dbs: Vec<&Service> = not.iter().filter_map(|n| project.services.get(n)).collect();
    let mut rows: Vec<(u8, bool, &String, &Service, Evidence)> = project
        .services
        .iter()
        .filter(|(n, _)| !not.contains(n))
        .map(|(n, s)| {
            let hinted = hints.iter().any(|h| h.eq_ignore_ascii_case(n));
            let e = evidence(s, &dbs);
            (e.score, hinted, n, s, e)
        })
        .collect();
    // Highest evidence first; the name hint only breaks ties; then compose order (stable).
    rows.sort_by_key(|r| std::cmp::Reverse((r.0, r.1)));
    let (score, hinted, name, s, _) = rows.first()?;
    let (name, s) = (*name, *s);
    if *score == 0 && !*hinted {
        return None;
    }
    let describe = |(score, hinted, n, _, e): &(u8, bool, &String, &Service, Evidence)| {
        let mut why = e.why.clone();
        if *hinted {
            why.push("its name is a usual webapp name".into());
        }
        if *score == 0 && !*hinted {
            format!("`{n}`: no sign of a database client")
        } else {
            format!("`{n}`: {}", why.join(", "))
        }
    };
    let chosen = describe(&rows[0]);
    let others: Vec<String> = rows[1..].iter().take(6).map(describe).collect();
    let reason = if others.is_empty() {
        chosen
    } else {
        format!("{chosen}; not chosen: {}", others.join("; "))
    };
    Some(Identified {
        name: name.clone(),
        reason,
        location: s.location.clone(),
        guessed: true,
        tag_note: String::new(),
        substitution: None,
    })
}

/// `compose.db-service`.
pub(crate) fn db_service_result(
    project: &Project,
    dbs: &DbSearch,
    picked: Option<&(Identified, bool)>,
    ctx: &CheckContext,
) -> assay_core::CheckResult {
    use assay_core::{CheckId, CheckResult};
    let id = CheckId::ComposeDbService;
    let accepted = ctx.rubric.database.images.join(", ");
    if let Some((p, by_webapp)) = picked {
        let more = if dbs.candidates.len() > 1 {
            let all: Vec<String> = dbs
                .candidates
                .iter()
                .map(|c| format!("`{}`", c.name))
                .collect();
            let which = if *by_webapp {
                "the webapp uses"
            } else {
                "checking the first,"
            };
            format!(
                " ({} Postgres services: {}; {which} `{}`)",
                all.len(),
                all.join(", "),
                p.name
            )
        } else {
            String::new()
        };
        return CheckResult::pass(
            id,
            format!("service `{}`: {}{more}{}", p.name, p.reason, p.tag_note),
        )
        .at(p.location.clone());
    }
    if let Some((name, image, at)) = dbs.lookalikes.first() {
        return CheckResult::fail(
            id,
            format!("service `{name}` uses `{}`, which is not a Postgres image the grader runs ({accepted})", display::value(image)),
        )
        .at(at.clone());
    }
    CheckResult::fail(
        id,
        format!(
            "no service uses a Postgres image ({accepted}) or builds FROM one; services: {}",
            service_list(project)
        ),
    )
}

/// `` `db` (mysql:8.4), `webapp` (build ./sample-webapp) `` — what a reviewer needs to see.
fn service_list(project: &Project) -> String {
    let mut out: Vec<String> = project
        .services
        .iter()
        .take(8)
        .map(|(name, s)| match (&s.image, &s.build) {
            (_, Some(b)) => format!("`{name}` (build {})", display::value(&b.context.value)),
            (Some(i), None) => format!("`{name}` ({})", display::value(&i.value)),
            (None, None) => format!("`{name}`"),
        })
        .collect();
    if project.services.len() > 8 {
        out.push("…".into());
    }
    if out.is_empty() {
        "none".into()
    } else {
        out.join(", ")
    }
}

/// `compose.webapp-service`.
pub(crate) fn webapp_service_result(
    webapp: Option<&Identified>,
    ctx: &CheckContext,
) -> assay_core::CheckResult {
    use assay_core::{CheckId, CheckResult};
    let id = CheckId::ComposeWebappService;
    let identity = &ctx.rubric.webapp;
    let dirs: Vec<String> = ctx
        .webapp_dirs
        .iter()
        .map(|d| format!("`{}`", d.display()))
        .collect();
    let wanted = format!(
        "no service builds the handout webapp ({}{}) or uses its image ({}, or `{}` as the handout's README builds it)",
        identity.package_name,
        if dirs.is_empty() {
            String::new()
        } else {
            format!(" in {}", dirs.join(", "))
        },
        identity.images.join(", "),
        identity.package_name
    );
    match webapp {
        Some(w) if !w.guessed => {
            let substituted = if w.substitution.is_some() {
                "; the pristine handout image runs in its place (see notes)"
            } else {
                ""
            };
            CheckResult::pass(
                id,
                format!("service `{}`: {}{substituted}", w.name, w.reason),
            )
            .at(w.location.clone())
        }
        Some(w) => CheckResult::fail(
            id,
            format!(
                "{wanted}; the other checks judge `{}`, chosen by evidence: {}",
                w.name, w.reason
            ),
        )
        .at(w.location.clone()),
        None => CheckResult::fail(id, wanted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_package_name() {
        assert_eq!(
            cargo_package_name("[package]\nname = \"sample-webapp\" # x\n").as_deref(),
            Some("sample-webapp")
        );
        assert_eq!(
            cargo_package_name("[workspace]\nname = \"x\"\n[package]\nversion = \"1\"\nname='y'\n")
                .as_deref(),
            Some("y")
        );
        assert_eq!(cargo_package_name("[dependencies]\nname = \"z\"\n"), None);
    }
}
