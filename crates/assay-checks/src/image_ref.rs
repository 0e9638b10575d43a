//! Docker image references: `[registry/]path[:tag][@digest]`, compared by repository path.

/// The parts of an image reference that grading needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageRef {
    /// Registry host when one is named (Docker Hub's own names are folded away).
    pub registry: Option<String>,
    /// Repository path, lower-case, `library/` added for Docker Hub's official images.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

const DOCKER_HUB: &[&str] = &["docker.io", "index.docker.io", "registry-1.docker.io"];

impl ImageRef {
    pub(crate) fn parse(reference: &str) -> ImageRef {
        let reference = reference.trim();
        let (rest, digest) = match reference.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (reference, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (
                &rest[..last_slash + i],
                Some(rest[last_slash + i + 1..].to_string()),
            ),
            None => (rest, None),
        };
        let mut parts: Vec<&str> = name.split('/').collect();
        let mut registry = None;
        if parts.len() > 1 {
            let first = parts[0];
            if first.contains('.') || first.contains(':') || first == "localhost" {
                registry = Some(first.to_ascii_lowercase());
                parts.remove(0);
            }
        }
        if registry.as_deref().is_some_and(|r| DOCKER_HUB.contains(&r)) {
            registry = None;
        }
        let mut repository = parts.join("/").to_ascii_lowercase();
        if parts.len() == 1 && registry.is_none() {
            repository = format!("library/{repository}");
        }
        ImageRef {
            registry,
            repository,
            tag: tag.filter(|t| !t.is_empty()),
            digest,
        }
    }

    /// The repository without Docker Hub's `library/` prefix (`postgres`, `bitnami/postgresql`).
    pub(crate) fn short_repository(&self) -> &str {
        self.repository
            .strip_prefix("library/")
            .unwrap_or(&self.repository)
    }

    /// Whether the repository is one of `names` (each itself an image name), whatever the tag,
    /// digest or registry prefix.
    pub(crate) fn matches_any(&self, names: &[String]) -> bool {
        names.iter().any(|n| {
            let other = ImageRef::parse(n);
            other.repository == self.repository
                || self.repository.ends_with(&format!("/{}", other.repository))
        })
    }

    /// Whether the reference pins a version: a digest, or a tag other than `latest`.
    pub(crate) fn is_pinned(&self) -> bool {
        self.digest.is_some()
            || self
                .tag
                .as_deref()
                .is_some_and(|t| !t.eq_ignore_ascii_case("latest"))
    }

    /// The major version of a numeric tag (`16`, `16.2-alpine` → 16).
    pub(crate) fn major_version(&self) -> Option<u32> {
        let tag = self.tag.as_deref()?;
        let digits: String = tag.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_tags_digests_and_registries() {
        let r = ImageRef::parse("postgres:16-alpine");
        assert_eq!(
            (r.repository.as_str(), r.tag.as_deref(), r.registry),
            ("library/postgres", Some("16-alpine"), None)
        );
        let r = ImageRef::parse("localhost:5000/assay/sample-webapp:1.2@sha256:abc");
        assert_eq!(r.registry.as_deref(), Some("localhost:5000"));
        assert_eq!(r.repository, "assay/sample-webapp");
        assert_eq!(r.tag.as_deref(), Some("1.2"));
        assert_eq!(r.digest.as_deref(), Some("sha256:abc"));
        assert_eq!(
            ImageRef::parse("docker.io/library/postgres").repository,
            "library/postgres"
        );
        assert_eq!(
            ImageRef::parse("docker.io/postgres").repository,
            "library/postgres"
        );
    }

    #[test]
    fn matches_rubric_names_with_any_prefix() {
        let pg = names(&["postgres", "library/postgres"]);
        assert!(ImageRef::parse("postgres").matches_any(&pg));
        assert!(ImageRef::parse("docker.io/library/postgres:16@sha256:00").matches_any(&pg));
        assert!(ImageRef::parse("mirror.gcr.io/library/postgres:15").matches_any(&pg));
        assert!(!ImageRef::parse("bitnami/postgresql:16").matches_any(&pg));
        assert!(!ImageRef::parse("evil/postgres").matches_any(&pg));
        assert!(!ImageRef::parse("postgres-exporter").matches_any(&pg));
    }

    #[test]
    fn pinning() {
        assert!(!ImageRef::parse("postgres").is_pinned());
        assert!(!ImageRef::parse("postgres:latest").is_pinned());
        assert!(ImageRef::parse("postgres:16").is_pinned());
        assert!(ImageRef::parse("postgres@sha256:ab").is_pinned());
        assert_eq!(
            ImageRef::parse("postgres:18.1-alpine").major_version(),
            Some(18)
        );
    }
}
