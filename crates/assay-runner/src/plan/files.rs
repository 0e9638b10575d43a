//! Secrets and configs: copied into the container through the archive API before it starts,
//! never bind-mounted.

use super::*;

/// The files to copy into a service's containers.
pub(super) fn copied_files(ctx: &Ctx, s: &Service, diags: &mut Vec<Diagnostic>) -> Vec<FileCopy> {
    let project = ctx.project;
    let mut files = Vec::new();
    for r in &s.secrets {
        let src = &r.value.source;
        let Some(def) = project.secrets.get(src) else {
            diags.push(
                Diagnostic::error(format!("secret `{src}` is not declared")).at(r.location.clone()),
            );
            continue;
        };
        let target = match &r.value.target {
            Some(t) if t.starts_with('/') => t.clone(),
            Some(t) => format!("/run/secrets/{t}"),
            None => format!("/run/secrets/{src}"),
        };
        match file_source(project, &def.file_resolved, None) {
            Ok(source) => files.push(file_copy(
                format!("secret {src}"),
                source,
                target,
                &r.value,
                0o444,
            )),
            Err(msg) => diags
                .push(Diagnostic::error(format!("secret `{src}`: {msg}")).at(def.location.clone())),
        }
    }
    for r in &s.configs {
        let src = &r.value.source;
        let Some(def) = project.configs.get(src) else {
            diags.push(
                Diagnostic::error(format!("config `{src}` is not declared")).at(r.location.clone()),
            );
            continue;
        };
        let target = match &r.value.target {
            Some(t) if t.starts_with('/') => t.clone(),
            Some(t) => format!("/{t}"),
            None => format!("/{src}"),
        };
        match file_source(
            project,
            &def.file_resolved,
            def.content.as_ref().map(|c| c.value.clone()),
        ) {
            Ok(source) => files.push(file_copy(
                format!("config {src}"),
                source,
                target,
                &r.value,
                0o444,
            )),
            Err(msg) => diags
                .push(Diagnostic::error(format!("config `{src}`: {msg}")).at(def.location.clone())),
        }
    }
    files
}

fn file_source(
    project: &Project,
    resolved: &Option<PathBuf>,
    content: Option<String>,
) -> Result<FileSource, String> {
    if let Some(c) = content {
        return Ok(FileSource::Inline(c));
    }
    let Some(rel) = resolved else {
        return Err("has no `file:`; assay copies only files of the submission".into());
    };
    let abs = project.root.join(rel);
    // `abs` is absolute (the project root joined with the file's path).
    if assay_core::lexically_inside(&project.root, &abs).is_none() {
        return Err(format!(
            "file `{}` leaves the submission directory",
            rel.display()
        ));
    }
    Ok(FileSource::Host(abs))
}

fn file_copy(
    what: String,
    source: FileSource,
    target: String,
    r: &assay_compose::FileRef,
    default_mode: u32,
) -> FileCopy {
    let mode = r
        .mode
        .as_deref()
        .and_then(|m| u32::from_str_radix(m.trim_start_matches("0o"), 8).ok())
        .map(|m| m & 0o777)
        .unwrap_or(default_mode);
    FileCopy {
        what,
        source,
        target,
        mode,
        uid: r.uid.as_deref().and_then(|u| u.parse().ok()).unwrap_or(0),
        gid: r.gid.as_deref().and_then(|u| u.parse().ok()).unwrap_or(0),
    }
}
