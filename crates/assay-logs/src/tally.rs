//! What counting produces and what one request contributes to it: [`Counts`] (the answer, the
//! exclusions and the [`Alternatives`] common mistakes give) and [`Flags`], summed with
//! [`Counts::add`]. The counter derives flags from parsed lines, its fast path from raw bytes,
//! and the generator by construction (its answer key), so all three depend on this module and
//! on none of each other.

use serde::{Deserialize, Serialize};

/// How many malformed lines are remembered (their numbers and reasons) for the report.
pub const MALFORMED_KEPT: usize = 5;

/// The result of counting a log against a [`crate::Rule`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Lines read, malformed ones included.
    pub total_lines: u64,
    pub malformed_lines: u64,
    /// Line numbers (1-based) of the first [`MALFORMED_KEPT`] malformed lines.
    pub first_malformed: Vec<u64>,
    /// The answer: requests to the endpoint, neither from own servers nor from bots.
    pub matched: u64,
    /// Requests to the endpoint from own servers (bots among them included: own wins).
    pub excluded_own: u64,
    /// Requests to the endpoint from bots outside own servers.
    pub excluded_bots: u64,
    /// What common mistakes would give.
    pub alternatives: Alternatives,
}

/// Counts a candidate gets with one common mistake (or two, for `with_own_and_bots`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alternatives {
    /// Bots not excluded.
    pub with_bots: u64,
    /// Own servers not excluded (bots still are).
    pub with_own: u64,
    /// Neither excluded.
    pub with_own_and_bots: u64,
    /// Only targets exactly equal to the path: query strings, trailing slashes, encoded or
    /// absolute-form variants not counted.
    pub exact_target: u64,
    /// Any method (HEAD, POST, … to the same path counted too).
    pub any_method: u64,
    /// Targets merely containing the path (`/api/notes/7`, `/api/notesx`, `/v2/api/notes`).
    pub path_substring: u64,
}

impl Alternatives {
    /// `(name, description, count)` for each mistake, in a stable order.
    pub fn list(&self) -> [(&'static str, &'static str, u64); 6] {
        [
            ("with_bots", "the count with bots included", self.with_bots),
            ("with_own", "the count with our own servers included", self.with_own),
            (
                "with_own_and_bots",
                "the count with both our own servers and bots included",
                self.with_own_and_bots,
            ),
            (
                "exact_target",
                "the count of exact target matches only (query-string, trailing-slash, encoded and absolute-form variants missed)",
                self.exact_target,
            ),
            ("any_method", "the count with every HTTP method, not just the endpoint's", self.any_method),
            (
                "path_substring",
                "the count of targets merely containing the path (e.g. /api/notes/7 counted as /api/notes)",
                self.path_substring,
            ),
        ]
    }
}

/// What one well-formed request is, relative to a rule. The generator builds these by
/// construction; the counter derives them from the parsed line. Both sum with [`Counts::add`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Flags {
    pub method_ok: bool,
    pub path_ok: bool,
    pub exact: bool,
    pub contains: bool,
    pub own: bool,
    pub bot: bool,
}

impl Flags {
    /// How many different [`Flags`] there are.
    pub(crate) const PATTERNS: usize = 64;

    /// These flags as a number below [`Flags::PATTERNS`], a bit each.
    pub(crate) fn pattern(self) -> usize {
        [
            self.method_ok,
            self.path_ok,
            self.exact,
            self.contains,
            self.own,
            self.bot,
        ]
        .iter()
        .rev()
        .fold(0, |p, &b| p << 1 | usize::from(b))
    }

    /// The flags of a [`Flags::pattern`].
    pub(crate) fn from_pattern(p: usize) -> Flags {
        let bit = |k: u32| p >> k & 1 == 1;
        Flags {
            method_ok: bit(0),
            path_ok: bit(1),
            exact: bit(2),
            contains: bit(3),
            own: bit(4),
            bot: bit(5),
        }
    }
}

impl Counts {
    /// One request with these flags.
    pub(crate) fn add(&mut self, f: Flags) {
        self.add_times(f, 1);
    }

    /// `times` requests with these flags. Every count adds 0 or `times`, without a branch on
    /// the flags (which vary from line to line: branches on them mispredict).
    pub(crate) fn add_times(&mut self, f: Flags, times: u64) {
        let n = |b: bool| u64::from(b) * times;
        // The endpoint's requests; those neither from own servers nor from bots. Own wins over
        // bot in the exclusions.
        let hit = f.method_ok & f.path_ok;
        let clean = !f.own & !f.bot;
        self.excluded_own += n(hit & f.own);
        self.excluded_bots += n(hit & !f.own & f.bot);
        self.matched += n(hit & clean);
        let a = &mut self.alternatives;
        a.with_own_and_bots += n(hit);
        a.with_bots += n(hit & !f.own);
        a.with_own += n(hit & !f.bot);
        a.exact_target += n(clean & f.method_ok & f.exact);
        a.any_method += n(clean & f.path_ok);
        a.path_substring += n(clean & f.method_ok & f.contains);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`Counts::add`] against the rules written as branches, for every combination of flags;
    /// [`Counts::add_times`] as that many adds; patterns and flags one to one.
    #[test]
    fn adding_every_combination_of_flags_counts_as_the_rules_say() {
        for pattern in 0..Flags::PATTERNS {
            let f = Flags::from_pattern(pattern);
            assert_eq!(f.pattern(), pattern);
            let mut times = Counts::default();
            times.add_times(f, 3);
            let mut thrice = Counts::default();
            (0..3).for_each(|_| thrice.add(f));
            assert_eq!(times, thrice, "{f:?}");
            let mut expected = Counts::default();
            let (e, a) = (&mut expected, &mut Alternatives::default());
            if f.method_ok && f.path_ok {
                if f.own {
                    e.excluded_own += 1;
                } else if f.bot {
                    e.excluded_bots += 1;
                } else {
                    e.matched += 1;
                }
                a.with_own_and_bots += 1;
                a.with_bots += u64::from(!f.own);
                a.with_own += u64::from(!f.bot);
            }
            if !f.own && !f.bot {
                a.exact_target += u64::from(f.method_ok && f.exact);
                a.any_method += u64::from(f.path_ok);
                a.path_substring += u64::from(f.method_ok && f.contains);
            }
            e.alternatives = *a;
            let mut got = Counts::default();
            got.add(f);
            assert_eq!(got, expected, "{f:?}");
        }
    }
}
