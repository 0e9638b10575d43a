//! A `repo:tag` image reference, as the image plan and the stand-in builds name images.

/// A `repo:tag` image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    pub repo: String,
    pub tag: String,
}

impl ImageRef {
    pub fn new(repo: &str, tag: &str) -> Self {
        ImageRef {
            repo: repo.to_string(),
            tag: tag.to_string(),
        }
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.repo, self.tag)
    }
}
