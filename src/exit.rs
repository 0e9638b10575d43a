//! Exit codes, decided in one place (the README's "Exit codes" table lists them): 0 every
//! submission passed, 1 one failed, 2 a usage error, 3 assay could not grade.

/// What the process tells its caller. CI acts on these numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every submission passed.
    Pass = 0,
    /// At least one submission failed.
    Fail = 1,
    /// The command line (or a file it names) is wrong: nothing was graded.
    Usage = 2,
    /// assay could not grade (no Docker daemon, daemon failure, internal fault). Never a
    /// candidate's FAIL.
    CouldNotGrade = 3,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }
}
