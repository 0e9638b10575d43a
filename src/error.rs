//! The one error type of the library: what went wrong, by kind. Only the command layer
//! (`src/cmd`) prints an [`Error`] or turns it into an exit code, with [`Error::exit_code`]
//! (the codes are listed in [`crate::exit::Exit`] and the README's "Exit codes" table).

use crate::exit::Exit;

/// What kind of problem stopped a command. The kind alone decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The command line is wrong (a submission that is not one, overrides that do not fit).
    Usage,
    /// A file the command line names cannot be read or is not what it should be (a rubric, a
    /// report folder, a compose file).
    Input,
    /// assay itself could not grade: no Docker daemon, a daemon failure, an internal fault.
    /// Never a candidate's FAIL.
    CouldNotGrade,
    /// A command other than grading could not do its work: the host or the Docker daemon
    /// failed it (`assay images`, `assay gc`), or an internal fault (`assay kit`).
    Host,
    /// What was graded could not be written (reports, summaries).
    Write,
}

/// A problem that stops a command (or one submission of a batch), with its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    /// Further problems of the same kind, each shown on a line of its own (every bad input
    /// is listed, not just the first).
    more: Vec<String>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            more: Vec::new(),
        }
    }

    /// Several problems of one kind (`problems` is not empty).
    pub fn list(kind: ErrorKind, problems: Vec<String>) -> Error {
        let mut problems = problems.into_iter();
        let mut e = Error::new(kind, problems.next().unwrap_or_default());
        e.more = problems.collect();
        e
    }

    pub fn usage(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Usage, message)
    }

    pub fn input(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Input, message)
    }

    pub fn could_not_grade(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::CouldNotGrade, message)
    }

    pub fn host(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Host, message)
    }

    pub fn write(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Write, message)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without the kind's prefix (what error.json records as the reason).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Each problem as shown, one per line of stderr.
    pub fn lines(&self) -> Vec<String> {
        std::iter::once(self.to_string())
            .chain(self.more.iter().cloned())
            .collect()
    }

    /// The exit code this error ends the process with: 2 for the command line and the files
    /// it names, 3 when assay could not grade, reach what it needs, or write.
    pub fn exit_code(&self) -> Exit {
        match self.kind {
            ErrorKind::Usage | ErrorKind::Input => Exit::Usage,
            ErrorKind::CouldNotGrade | ErrorKind::Host | ErrorKind::Write => Exit::CouldNotGrade,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            ErrorKind::CouldNotGrade => write!(f, "could not grade: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_alone_decides_the_exit_code() {
        let code = |kind| Error::new(kind, "x").exit_code().code();
        assert_eq!(code(ErrorKind::Usage), 2);
        assert_eq!(code(ErrorKind::Input), 2);
        assert_eq!(code(ErrorKind::CouldNotGrade), 3);
        assert_eq!(code(ErrorKind::Host), 3);
        assert_eq!(code(ErrorKind::Write), 3);
    }

    #[test]
    fn could_not_grade_says_so_and_keeps_the_bare_reason() {
        let e = Error::could_not_grade("no daemon");
        assert_eq!(e.to_string(), "could not grade: no daemon");
        assert_eq!(e.message(), "no daemon");
        assert_eq!(Error::usage("bad").to_string(), "bad");
        let two = Error::list(ErrorKind::Usage, vec!["a".into(), "b".into()]);
        assert_eq!(two.lines(), ["a", "b"]);
    }
}
