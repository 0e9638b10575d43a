//! Near-duplicate detection across submissions: MinHash over word 3-shingles.

use crate::count::words_lower;

/// Number of hash functions in a signature (estimate error ≈ 1/√128 ≈ 0.09 worst case,
/// ≈ 0.035 around Jaccard 0.8).
const HASHES: usize = 128;
/// Shingle size in words.
const SHINGLE: usize = 3;
/// Fewer shingles than this and the text is too short to call anything a duplicate.
const MIN_SHINGLES: usize = 20;

/// A MinHash signature of an answer's text (lower-cased words, 3-word shingles). Empty when the
/// text is too short to compare.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fingerprint {
    mins: Vec<u64>,
}

impl Fingerprint {
    /// The signature of `text`.
    pub fn of_text(text: &str) -> Fingerprint {
        let words = words_lower(text);
        if words.len() < SHINGLE + MIN_SHINGLES - 1 {
            return Fingerprint::default();
        }
        let mut mins = vec![u64::MAX; HASHES];
        for w in words.windows(SHINGLE) {
            let base = fnv1a(w);
            for (k, m) in mins.iter_mut().enumerate() {
                let h = splitmix64(base ^ SEEDS[k]);
                if h < *m {
                    *m = h;
                }
            }
        }
        Fingerprint { mins }
    }

    /// Estimated Jaccard similarity of the two texts' shingle sets; `None` when either is too
    /// short to compare.
    pub fn similarity(&self, other: &Fingerprint) -> Option<f64> {
        if self.mins.is_empty() || other.mins.len() != self.mins.len() {
            return None;
        }
        let same = self
            .mins
            .iter()
            .zip(&other.mins)
            .filter(|(a, b)| a == b)
            .count();
        Some(same as f64 / self.mins.len() as f64)
    }

    /// Whether the text was long enough to fingerprint.
    pub fn is_empty(&self) -> bool {
        self.mins.is_empty()
    }
}

fn fnv1a(words: &[String]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            h ^= 0x20;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in w.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

const fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

const SEEDS: [u64; HASHES] = {
    let mut s = [0u64; HASHES];
    let mut i = 0;
    while i < HASHES {
        s[i] = splitmix64(0x5eed_0000 + i as u64);
        i += 1;
    }
    s
};

#[cfg(test)]
mod tests {
    use super::*;

    fn prose(n: usize, salt: &str) -> String {
        (0..n)
            .map(|i| {
                format!(
                    "w{}{}",
                    i * 7919 % 1000,
                    if i % 10 == 0 { salt } else { "" }
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn identical_and_different_texts() {
        let a = Fingerprint::of_text(&prose(300, ""));
        assert_eq!(a.similarity(&a), Some(1.0));
        let unrelated = Fingerprint::of_text(
            &(0..300)
                .map(|i| format!("z{i}"))
                .collect::<Vec<_>>()
                .join(" "),
        );
        assert!(a.similarity(&unrelated).unwrap() < 0.1);
        assert_eq!(Fingerprint::of_text("too short").similarity(&a), None);
    }
}
