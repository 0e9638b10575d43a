//! What a report was made with, for a diff or a dispute: the rubric (by hash), the Docker
//! engine, and each image the runtime checks ran — its id, whether it was the real image or a
//! stand-in assay built, and the PostgreSQL version inside a db image.

use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Provenance {
    /// SHA-256 of the effective rubric (its canonical JSON form): equal for equal rubrics
    /// whatever their file's layout.
    pub rubric_sha256: String,
    /// The Docker engine that ran the stack (absent when the runtime checks did not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker: Option<DockerVersion>,
    /// The images the runtime checks ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImageProvenance>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DockerVersion {
    pub version: String,
    pub api_version: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageProvenance {
    /// `db`, `webapp` or `probe`.
    pub role: String,
    /// The reference the stack used (`postgres:16`, `assay/sample-webapp:0.1.0`).
    pub reference: String,
    /// The image id (`sha256:…`), when the engine knew the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Built by assay from Debian packages in place of the named image (no registry).
    pub stand_in: bool,
    /// The PostgreSQL version the image runs (its `PG_VERSION`, else its `PG_MAJOR`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postgres_version: Option<String>,
}

/// The rubric's hash as [`Provenance::rubric_sha256`] holds it.
pub fn rubric_sha256(rubric: &assay_core::Rubric) -> String {
    let canonical = serde_json::to_vec(rubric).expect("a rubric serialises");
    Sha256::digest(&canonical)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl ImageProvenance {
    /// One line: `db postgres:16 (stand-in, PostgreSQL 15) sha256:…`.
    pub fn describe(&self) -> String {
        let mut what = Vec::new();
        if self.stand_in {
            what.push("stand-in built by assay".to_string());
        }
        if let Some(v) = &self.postgres_version {
            what.push(format!("PostgreSQL {v}"));
        }
        let what = if what.is_empty() {
            String::new()
        } else {
            format!(" ({})", what.join(", "))
        };
        format!(
            "{} {}{what} {}",
            self.role,
            self.reference,
            self.id.as_deref().unwrap_or("(id unknown)")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rubric_hash_follows_its_content() {
        let a = assay_core::rubric_file::default_rubric();
        let mut b = a.clone();
        assert_eq!(rubric_sha256(&a), rubric_sha256(&b));
        assert_eq!(rubric_sha256(&a).len(), 64);
        b.pass_threshold += 1.0;
        assert_ne!(rubric_sha256(&a), rubric_sha256(&b));
    }
}
