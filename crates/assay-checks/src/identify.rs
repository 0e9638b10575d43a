//! Which service is the Postgres database and which one is the handout webapp.

use crate::dockerfile;
use crate::image_ref::ImageRef;
use crate::paths;
use crate::settings;
use crate::CheckContext;
use assay_compose::{Project, Service};
use assay_core::display;
use assay_core::Location;
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
    Some(paths::normalize(&ctx.join(file)))
}

/// The analysed Dockerfile of a service's build (inline or a file inside the submission).
pub(crate) fn build_dockerfile(
    root: &Path,
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
    let text = paths::read_inside(root, &path, BUILD_FILE_CAP).ok()?;
    Some((dockerfile::analyze(&text), paths::display_rel(root, &path)))
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
fn holds_package(root: &Path, dir: &Path, package: &str) -> bool {
    let Ok(text) = paths::read_inside(root, &dir.join("Cargo.toml"), BUILD_FILE_CAP) else {
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

/// Finds the webapp among the services that are not the database.
pub(crate) fn find_webapp(
    project: &Project,
    ctx: &CheckContext,
    not: &[String],
) -> Option<Identified> {
    let identity = &ctx.rubric.webapp;
    let dirs: Vec<PathBuf> = ctx
        .webapp_dirs
        .iter()
        .map(|d| paths::normalize(&project.root.join(d)))
        .collect();
    let others = project.services.iter().filter(|(n, _)| !not.contains(n));
    for (name, s) in others.clone() {
        let Some(b) = &s.build else { continue };
        let Some(ctx_path) = &b.context_path else {
            continue;
        };
        let ctx_path = paths::normalize(ctx_path);
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
            });
        }
    }
    for (name, s) in others.clone() {
        if let Some(image) = s
            .image
            .as_ref()
            .filter(|i| ImageRef::parse(&i.value).matches_any(&identity.images))
        {
            return Some(Identified {
                name: name.clone(),
                reason: format!(
                    "its image `{}` is the handout webapp's",
                    display::value(&image.value)
                ),
                location: image.location.clone(),
                guessed: false,
                tag_note: String::new(),
            });
        }
    }
    // A guess: a usual webapp name and/or database variables in its environment.
    let mut best: Option<(u8, Identified)> = None;
    for (name, s) in others {
        let hinted = identity
            .service_hints
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name));
        let db_var = ["DATABASE_URL", "PGHOST"]
            .into_iter()
            .find(|k| settings::env(s, k).is_some());
        let score = u8::from(hinted) * 2 + u8::from(db_var.is_some());
        if score == 0 || best.as_ref().is_some_and(|(b, _)| *b >= score) {
            continue;
        }
        let mut why = Vec::new();
        if hinted {
            why.push("its name is a usual webapp name".to_string());
        }
        if let Some(k) = db_var {
            why.push(format!("it sets {k}"));
        }
        best = Some((
            score,
            Identified {
                name: name.clone(),
                reason: why.join(" and "),
                location: s.location.clone(),
                guessed: true,
                tag_note: String::new(),
            },
        ));
    }
    best.map(|(_, i)| i)
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
        "no service builds the handout webapp ({}{}) or uses its image ({})",
        identity.package_name,
        if dirs.is_empty() {
            String::new()
        } else {
            format!(" in {}", dirs.join(", "))
        },
        identity.images.join(", ")
    );
    match webapp {
        Some(w) if !w.guessed => {
            CheckResult::pass(id, format!("service `{}`: {}", w.name, w.reason))
                .at(w.location.clone())
        }
        Some(w) => CheckResult::fail(
            id,
            format!(
                "{wanted}; guessed `{}` ({}) for the other checks",
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
