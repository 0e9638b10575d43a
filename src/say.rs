//! Where the library's progress lines go. The command layer decides (stderr, prefixed
//! `assay: `); the library only says what is happening.

use std::sync::Arc;

/// A sink for progress lines, shared by the threads of a batch.
#[derive(Clone)]
pub struct Say(Arc<dyn Fn(&str) + Send + Sync>);

impl Say {
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Say {
        Say(Arc::new(f))
    }

    /// Lines said here go nowhere (tests, library callers without a terminal).
    pub fn nowhere() -> Say {
        Say::new(|_| {})
    }

    pub fn line(&self, line: &str) {
        (self.0)(line)
    }
}

impl std::fmt::Debug for Say {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Say")
    }
}
