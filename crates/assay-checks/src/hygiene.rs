//! The good-practice checks: `compose.db-volume`, `compose.no-inline-secrets`,
//! `compose.db-not-published`, `compose.scalable`, `compose.pinned-images`.

use crate::image_ref::ImageRef;
use crate::paths::{self, Resolved};
use crate::{db_url, fail_summary, plural, settings, Roles};
use assay_compose::{Located, MountKind, Origin, Port, Project, Service};
use assay_core::display;
use assay_core::{normalize, CheckId, CheckResult, Diagnostic};
use std::path::{Path, PathBuf};

/// Where the official image keeps its data: `PGDATA`, else the default of the image's major
/// version (18 moved it under `/var/lib/postgresql/18/docker`).
fn pgdata(db: &Service) -> (PathBuf, String) {
    if let Some((v, _)) = settings::env(db, "PGDATA").filter(|(v, _)| v.starts_with('/')) {
        return (normalize(Path::new(v)), "PGDATA".into());
    }
    let major = db
        .image
        .as_ref()
        .and_then(|i| ImageRef::parse(&i.value).major_version());
    match major {
        Some(m) if m >= 18 => (
            PathBuf::from(format!("/var/lib/postgresql/{m}/docker")),
            format!("postgres {m} default"),
        ),
        _ => (PathBuf::from("/var/lib/postgresql/data"), "default".into()),
    }
}

pub(crate) fn db_volume(roles: &Roles, db: &Service) -> CheckResult {
    let id = CheckId::ComposeDbVolume;
    let (data, why) = pgdata(db);
    let shown = data.display();
    // The deepest mount that contains the data directory holds the data.
    let mount = db
        .volumes
        .iter()
        .filter(|v| data.starts_with(normalize(Path::new(&v.value.target))))
        .max_by_key(|v| v.value.target.len());
    let Some(v) = mount else {
        return CheckResult::fail(
            id,
            format!("db service `{}` keeps its data ({shown}, {why}) in the container: it is lost when the container is recreated; mount a named volume there", db.name),
        )
        .at(db.location.clone());
    };
    let m = &v.value;
    let source = m.source.as_deref().map(display::value).unwrap_or_default();
    let result = match m.kind {
        MountKind::Volume if m.source.is_some() => {
            CheckResult::pass(id, format!("Postgres data {shown} is on named volume `{source}`"))
        }
        MountKind::Volume => CheckResult::fail(
            id,
            format!("Postgres data {shown} is on an anonymous volume: it is not kept when the container is recreated; name the volume"),
        ),
        MountKind::Bind => {
            let resolved = match &m.host_path {
                Some(h) => paths::resolve_path(roles.root, h),
                None => paths::resolve(roles.root, &roles.root.path().join(&roles.project.working_dir), &source),
            };
            match resolved {
                Resolved::Inside(rel) => {
                    CheckResult::pass(id, format!("Postgres data {shown} is on bind mount `{source}` inside the project ({})", rel.display()))
                }
                _ => CheckResult::fail(id, format!("Postgres data {shown} is on bind mount `{source}`, outside the submission")),
            }
        }
        other => CheckResult::fail(id, format!("Postgres data {shown} is on a {} mount: it does not persist", other.as_str())),
    };
    result.at(v.location.clone())
}

/// Whether a secret value is written in the compose file (literal, or a default of an
/// interpolation whose variable the submission does not define). `forms` are the ways the
/// secret appears in the value (decoded, and as written in a URL).
fn written_inline(project: &Project, origin: &Origin, forms: &[&str]) -> bool {
    match origin {
        Origin::Literal => true,
        Origin::EnvFile { .. } => false,
        Origin::Interpolated { variables, .. } => !variables.iter().any(|v| {
            project.variables.get(v).is_some_and(|val| {
                !val.value.is_empty() && forms.iter().any(|f| f.contains(val.value.as_str()))
            })
        }),
    }
}

/// Whether an environment key names a secret: one of its `_`-separated parts is PASSWORD,
/// PASSWD, PASS, PWD, PW, SECRET or TOKEN (or ends in PASSWORD, PASSWD, SECRET or TOKEN, as in
/// `PGPASSWORD`), or the key ends in KEY (`DB_PASSWORD`, `PG_PW`, `API_KEY`, `APIKEY`; not
/// `KEYCLOAK_URL`, `PRIMARY_KEY_COLUMN`, `BYPASS_CACHE`). A `*_FILE` key names a file that
/// holds the secret, not the secret.
pub(crate) fn is_secret_key(key: &str) -> bool {
    const PARTS: [&str; 7] = ["PASSWORD", "PASSWD", "PASS", "PWD", "PW", "SECRET", "TOKEN"];
    const SUFFIXES: [&str; 4] = ["PASSWORD", "PASSWD", "SECRET", "TOKEN"];
    let k = key.to_ascii_uppercase();
    let parts: Vec<&str> = k.split('_').filter(|p| !p.is_empty()).collect();
    // `PWD` alone is the shell's working directory.
    if parts.last() == Some(&"FILE") || k == "PWD" || k == "OLDPWD" {
        return false;
    }
    parts
        .iter()
        .any(|p| PARTS.contains(p) || SUFFIXES.iter().any(|s| p.ends_with(s)))
        || k.ends_with("KEY")
}

pub(crate) fn no_inline_secrets(project: &Project) -> CheckResult {
    let id = CheckId::ComposeNoInlineSecrets;
    let mut inline = Vec::new();
    let mut sources = Vec::new();
    for (name, s) in &project.services {
        for (var, at) in &s.environment {
            let Some(value) = at.value.as_deref() else {
                continue;
            };
            if value.trim().is_empty() {
                if is_secret_key(var) && !at.origin.is_literal() {
                    sources.push(format!(
                        "{var} of `{name}` {} (blank)",
                        settings::origin_words(&at.origin)
                    ));
                }
                continue;
            }
            // The secret and the forms it takes in the value (decoded; as written in a URL).
            let (what, secret, raw) = if is_secret_key(var) {
                (var.clone(), value.to_string(), value)
            } else if let Some(raw) = db_url::raw_password(value).filter(|p| !p.is_empty()) {
                (format!("the password in {var}"), db_url::decode(raw), raw)
            } else {
                continue;
            };
            if written_inline(project, &at.origin, &[&secret, raw]) {
                let how = if at.origin.is_literal() {
                    "a literal in the compose file"
                } else {
                    "a default written in the compose file"
                };
                inline.push(
                    Diagnostic::error(format!("service `{name}`: {what} is {how}"))
                        .at(at.location.clone())
                        .with_hint(format!(
                            "put it in .env and write {var}: ${{{}}} here, or use a secret file ({var}_FILE)",
                            var.to_ascii_uppercase()
                        )),
                );
            } else {
                sources.push(format!(
                    "{var} of `{name}` {}",
                    settings::origin_words(&at.origin)
                ));
            }
        }
        for (var, _) in s
            .environment
            .iter()
            .filter(|(k, v)| k.to_ascii_uppercase().ends_with("_FILE") && v.value.is_some())
        {
            let stem = &var[..var.len() - "_FILE".len()];
            if is_secret_key(stem) {
                sources.push(format!("{var} of `{name}`"));
            }
        }
    }
    match inline.first() {
        Some(_) => fail_summary(id, "inline secrets", &inline.iter().collect::<Vec<_>>())
            .with_details(inline),
        None if sources.is_empty() => CheckResult::pass(
            id,
            "no service sets a password, secret, token or key variable, nor a URL with a password",
        ),
        None => CheckResult::pass(
            id,
            format!(
                "no literal secret: {}{}",
                sources
                    .iter()
                    .take(8)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                if sources.len() > 8 {
                    format!(" and {} more", sources.len() - 8)
                } else {
                    String::new()
                }
            ),
        ),
    }
}

fn port_text(p: &Port) -> String {
    match p.published.as_deref() {
        Some(h) if !h.is_empty() => format!("{} → host {}", p.target, display::value(h)),
        _ => format!("{} → a random host port", p.target),
    }
}

pub(crate) fn db_not_published(_roles: &Roles, db: &Service) -> CheckResult {
    let id = CheckId::ComposeDbNotPublished;
    let Some(first) = db.ports.first() else {
        return CheckResult::pass(id, format!("db service `{}` publishes no port", db.name))
            .at(db.location.clone());
    };
    let details: Vec<Diagnostic> = db
        .ports
        .iter()
        .map(|p| {
            Diagnostic::error(format!(
                "db service `{}` publishes {}",
                db.name,
                port_text(&p.value)
            ))
            .at(p.location.clone())
        })
        .collect();
    let more = if db.ports.len() > 1 {
        format!(" (and {} more)", db.ports.len() - 1)
    } else {
        String::new()
    };
    CheckResult::fail(
        id,
        format!("db service `{}` publishes {}{more}; use `expose:` or nothing, the webapp reaches it on the project network", db.name, port_text(&first.value)),
    )
    .at(first.location.clone())
    .with_details(details)
}

/// A published host port that is one number (a range or none lets replicas coexist).
fn fixed_host_port(p: &Located<Port>) -> Option<&str> {
    p.value
        .published
        .as_deref()
        .filter(|h| !h.is_empty() && !h.contains('-') && *h != "0")
}

pub(crate) fn scalable(webapp: &Service) -> CheckResult {
    let id = CheckId::ComposeScalable;
    let mut problems = Vec::new();
    if let Some(c) = &webapp.container_name {
        problems.push(
            Diagnostic::error(format!(
                "webapp sets container_name `{}`",
                display::value(&c.value)
            ))
            .at(c.location.clone()),
        );
    }
    for p in &webapp.ports {
        if let Some(h) = fixed_host_port(p) {
            problems.push(
                Diagnostic::error(format!(
                    "webapp publishes fixed host port {}",
                    display::value(h)
                ))
                .at(p.location.clone()),
            );
        }
    }
    match problems.first() {
        None => CheckResult::pass(
            id,
            format!(
                "webapp `{}` has no container_name and no fixed host port",
                webapp.name
            ),
        )
        .at(webapp.location.clone()),
        Some(first) => {
            let text: Vec<&str> = problems.iter().map(|d| d.message.as_str()).collect();
            CheckResult::fail(id, format!("{}: two replicas would clash", text.join("; ")))
                .at_opt(first.location.clone())
                .with_details(problems.clone())
        }
    }
}

/// `substituted`: the webapp service whose image assay replaces with the pristine handout
/// image (it is never pulled, so its tag does not matter).
pub(crate) fn pinned_images(project: &Project, substituted: Option<&str>) -> CheckResult {
    let id = CheckId::ComposePinnedImages;
    let mut unpinned = Vec::new();
    let mut pinned = Vec::new();
    for (name, s) in project
        .services
        .iter()
        .filter(|(n, _)| Some(n.as_str()) != substituted)
    {
        // With `build`, `image` names the built image: nothing is pulled.
        let Some(image) = s.image.as_ref().filter(|_| s.build.is_none()) else {
            continue;
        };
        let r = ImageRef::parse(&image.value);
        let shown = display::value(&image.value);
        if r.is_pinned() {
            if !pinned.contains(&format!("`{shown}`")) {
                pinned.push(format!("`{shown}`"));
            }
        } else {
            let why = if r.tag.is_some() {
                "uses the `latest` tag"
            } else {
                "has no tag (means latest)"
            };
            unpinned.push(
                Diagnostic::error(format!("service `{name}`: image `{shown}` {why}"))
                    .at(image.location.clone()),
            );
        }
    }
    match unpinned.first() {
        Some(_) => fail_summary(id, "unpinned images", &unpinned.iter().collect::<Vec<_>>())
            .with_details(unpinned),
        None if pinned.is_empty() => {
            CheckResult::pass(id, "no image is pulled: every service is built")
        }
        None => CheckResult::pass(
            id,
            format!(
                "{} image{} pinned: {}",
                pinned.len(),
                plural(pinned.len()),
                pinned.join(", ")
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::is_secret_key;

    #[test]
    fn secret_keys_are_told_by_their_parts() {
        for yes in [
            "DB_PASSWORD",
            "POSTGRES_PASSWORD",
            "PGPASSWORD",
            "API_KEY",
            "APIKEY",
            "SECRET_KEY",
            "JWT_SECRET",
            "GITHUB_TOKEN",
            "SMTP_PASS",
            "PG_PW",
            "PG_PWD",
            "db_passwd",
        ] {
            assert!(is_secret_key(yes), "{yes}");
        }
        for no in [
            "KEYCLOAK_URL",
            "PRIMARY_KEY_COLUMN",
            "BYPASS_CACHE",
            "PASSPORT_STRATEGY",
            "POSTGRES_PASSWORD_FILE",
            "TOKENIZER_MODEL",
            "PGHOST",
            "PWD",
        ] {
            assert!(!is_secret_key(no), "{no}");
        }
    }
}
