//! Counting a growing log live, like `tail -F`.
//!
//! Polling, not inotify: it works on every filesystem (including bind mounts and NFS, where
//! change notification is unreliable) and needs no dependency; the poll interval bounds the
//! latency.
//!
//! - Appended complete lines are counted; a partial last line waits for its newline.
//! - Truncation (logrotate `copytruncate`): the file is shorter than what was read, so reading
//!   restarts at 0 and the unfinished line is dropped. Counts keep accumulating: the lines
//!   before the truncation were requests too. (A truncation followed by more writes than were
//!   read before, within one poll interval, cannot be seen by size; `tail` has the same blind
//!   spot.)
//! - Rotation (rename + new file): the path names a different file (device/inode changed). The
//!   old file, still open, is read to its end (a last unterminated line there counts: nobody
//!   writes to a rotated file's end any more after a reopen), then the new file from 0. While
//!   the path is missing, the old file keeps being read.

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::count::{Counter, Counts, LineSplitter};
use crate::rule::Rule;

/// How to follow.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// How often the file is checked for new data.
    pub poll: Duration,
    /// Start at the current end (only count what is appended from now on).
    pub from_end: bool,
    /// Stop after this long.
    pub max_duration: Option<Duration>,
    /// Stop when nothing new arrived for this long.
    pub idle_timeout: Option<Duration>,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            poll: Duration::from_millis(250),
            from_end: false,
            max_duration: None,
            idle_timeout: None,
        }
    }
}

/// Identity of a file, to detect rotation.
fn identity(m: &Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (m.dev(), m.ino())
    }
    #[cfg(not(unix))]
    {
        // Without inodes, rotation shows only as truncation; good enough off Unix.
        let _ = m;
        (0, 0)
    }
}

struct Tail {
    file: File,
    id: (u64, u64),
    pos: u64,
    splitter: LineSplitter,
    /// Started at the end in the middle of a line: skip up to the first newline.
    skip_to_newline: bool,
}

impl Tail {
    /// Read what is available; returns whether any line was completed.
    fn drain(&mut self, counter: &mut Counter, buf: &mut [u8]) -> io::Result<bool> {
        let mut any = false;
        loop {
            let n = match self.file.read(buf) {
                Ok(0) => return Ok(any),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.pos += n as u64;
            let mut data = &buf[..n];
            if self.skip_to_newline {
                match data.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        data = &data[i + 1..];
                        self.skip_to_newline = false;
                    }
                    None => continue,
                }
            }
            self.splitter.feed(data, &mut |l| {
                any = true;
                counter.push(l);
            });
        }
    }
}

fn open_tail(path: &Path, from_end: bool) -> io::Result<Tail> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    let mut tail = Tail {
        id: identity(&meta),
        pos: 0,
        splitter: LineSplitter::new(),
        skip_to_newline: false,
        file,
    };
    if from_end && meta.len() > 0 {
        tail.file.seek(SeekFrom::Start(meta.len() - 1))?;
        let mut last = [0u8; 1];
        tail.file.read_exact(&mut last)?;
        tail.pos = meta.len();
        tail.skip_to_newline = last[0] != b'\n';
    }
    Ok(tail)
}

/// Follow `path`, calling `on_update` with the running counts after every poll that completed
/// at least one line (and once at the start). Returns the final counts when `cancel` is set, or
/// `max_duration` or `idle_timeout` has passed. Fails only if the file cannot be opened at the
/// start or an open file cannot be read.
pub fn follow(
    path: &Path,
    rule: &Rule,
    opts: &FollowOptions,
    cancel: &AtomicBool,
    mut on_update: impl FnMut(&Counts),
) -> io::Result<Counts> {
    let started = Instant::now();
    let mut last_activity = started;
    let mut counter = Counter::new(rule);
    let mut tail = open_tail(path, opts.from_end)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut first = true;
    loop {
        let mut changed = tail.drain(&mut counter, &mut buf)?;
        match std::fs::metadata(path) {
            Ok(meta) if identity(&meta) != tail.id => {
                // Rotated: finish the old file, then switch to the new one from its start.
                tail.drain(&mut counter, &mut buf)?;
                tail.splitter.finish(&mut |l| {
                    changed = true;
                    counter.push(l);
                });
                if let Ok(new_tail) = open_tail(path, false) {
                    tail = new_tail;
                    changed |= tail.drain(&mut counter, &mut buf)?;
                }
            }
            Ok(meta) if meta.len() < tail.pos => {
                // Truncated in place.
                tail.file.seek(SeekFrom::Start(0))?;
                tail.pos = 0;
                tail.splitter.discard_partial();
                tail.skip_to_newline = false;
                changed |= tail.drain(&mut counter, &mut buf)?;
            }
            // Unchanged, or the path is missing mid-rotation: keep the old file.
            _ => {}
        }
        let now = Instant::now();
        if changed {
            last_activity = now;
        }
        if changed || first {
            on_update(counter.counts());
            first = false;
        }
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        if opts
            .max_duration
            .is_some_and(|d| now.duration_since(started) >= d)
        {
            break;
        }
        if opts
            .idle_timeout
            .is_some_and(|d| now.duration_since(last_activity) >= d)
        {
            break;
        }
        let mut wait = opts.poll;
        if let Some(d) = opts.max_duration {
            wait = wait.min(d.saturating_sub(now.duration_since(started)));
        }
        if let Some(d) = opts.idle_timeout {
            wait = wait.min(d.saturating_sub(now.duration_since(last_activity)));
        }
        std::thread::sleep(wait);
    }
    Ok(counter.counts().clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    fn rule() -> Rule {
        Rule::from_endpoint("GET /api/notes").unwrap()
    }

    fn hit(ua: &str) -> String {
        format!("203.0.113.1 - - [25/Nov/2026:10:00:00 +0000] \"GET /api/notes HTTP/1.1\" 200 1 \"-\" \"{ua}\"\n")
    }

    fn opts() -> FollowOptions {
        FollowOptions {
            poll: Duration::from_millis(10),
            ..Default::default()
        }
    }

    /// Runs `follow` in a thread; returns the shared latest counts (`None` until the first
    /// callback, which means the file is open), the cancel flag and the handle.
    type Handle = std::thread::JoinHandle<io::Result<Counts>>;
    fn spawn(
        path: &Path,
        o: FollowOptions,
    ) -> (Arc<Mutex<Option<Counts>>>, Arc<AtomicBool>, Handle) {
        let latest = Arc::new(Mutex::new(None));
        let cancel = Arc::new(AtomicBool::new(false));
        let (l, c, p) = (latest.clone(), cancel.clone(), path.to_path_buf());
        let h = std::thread::spawn(move || {
            follow(&p, &rule(), &o, &c, |counts| {
                *l.lock().unwrap() = Some(counts.clone())
            })
        });
        (latest, cancel, h)
    }

    /// Wait (up to 5 s, in 10 ms steps) until the latest counts satisfy `pred`.
    fn wait_for(latest: &Mutex<Option<Counts>>, pred: impl Fn(&Counts) -> bool) -> Counts {
        for _ in 0..500 {
            if let Some(c) = latest.lock().unwrap().clone() {
                if pred(&c) {
                    return c;
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "condition not reached; latest = {:?}",
            latest.lock().unwrap()
        );
    }

    fn append(path: &Path, s: &str) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .unwrap();
        f.write_all(s.as_bytes()).unwrap();
    }

    #[test]
    fn appends_and_partial_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("access.log");
        append(&p, &hit("a"));
        let (latest, cancel, h) = spawn(&p, opts());
        wait_for(&latest, |c| c.matched == 1);
        let second = hit("b");
        let (head, rest) = second.split_at(20);
        append(&p, head);
        std::thread::sleep(Duration::from_millis(50));
        let c = latest.lock().unwrap().clone().unwrap();
        assert_eq!(
            (c.total_lines, c.matched),
            (1, 1),
            "a partial line waits for its newline"
        );
        append(&p, rest);
        wait_for(&latest, |c| c.matched == 2 && c.total_lines == 2);
        append(&p, &format!("{}{}", hit("c"), hit("Googlebot")));
        let c = wait_for(&latest, |c| c.total_lines == 4);
        assert_eq!((c.matched, c.excluded_bots), (3, 1));
        cancel.store(true, Ordering::Relaxed);
        let fin = h.join().unwrap().unwrap();
        assert_eq!(fin.matched, 3);
        assert_eq!(fin.malformed_lines, 0);
    }

    #[test]
    fn from_end_skips_existing_and_a_partial_tail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("access.log");
        append(&p, &hit("old"));
        append(&p, "203.0.113.1 - - [25/Nov/20");
        let (latest, cancel, h) = spawn(
            &p,
            FollowOptions {
                from_end: true,
                ..opts()
            },
        );
        std::thread::sleep(Duration::from_millis(30));
        append(
            &p,
            "26:10:00:00 +0000] \"GET /api/notes HTTP/1.1\" 200 1 \"-\" \"x\"\n",
        );
        append(&p, &hit("new"));
        let c = wait_for(&latest, |c| c.total_lines == 1);
        assert_eq!(c.matched, 1);
        cancel.store(true, Ordering::Relaxed);
        assert_eq!(h.join().unwrap().unwrap().total_lines, 1);
    }

    #[test]
    fn survives_copytruncate() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("access.log");
        append(&p, &hit("a").repeat(3));
        let (latest, cancel, h) = spawn(&p, opts());
        wait_for(&latest, |c| c.matched == 3);
        append(&p, "203.0.113.1 - - [unfinished");
        std::thread::sleep(Duration::from_millis(30));
        // copytruncate: same inode, size back to 0, then new writes.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(0)
            .unwrap();
        std::thread::sleep(Duration::from_millis(30));
        append(&p, &hit("b"));
        let c = wait_for(&latest, |c| c.matched == 4);
        assert_eq!(
            c.malformed_lines, 0,
            "the cut-off partial line was dropped, not counted"
        );
        cancel.store(true, Ordering::Relaxed);
        assert_eq!(h.join().unwrap().unwrap().total_lines, 4);
    }

    #[test]
    fn survives_rotation_by_rename() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("access.log");
        append(&p, &hit("a"));
        let (latest, cancel, h) = spawn(&p, opts());
        wait_for(&latest, |c| c.matched == 1);
        // The writer still has the old file open and writes a last line after the rename.
        let mut old = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        std::fs::rename(&p, dir.path().join("access.log.1")).unwrap();
        old.write_all(hit("late").as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        append(&p, &hit("new1"));
        append(&p, &hit("new2"));
        let c = wait_for(&latest, |c| c.matched == 4);
        assert_eq!(c.total_lines, 4);
        cancel.store(true, Ordering::Relaxed);
        h.join().unwrap().unwrap();
    }

    #[test]
    fn stops_on_duration_and_idle() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("access.log");
        append(&p, &hit("a"));
        let never = AtomicBool::new(false);
        let t = Instant::now();
        let mut updates = 0;
        let o = FollowOptions {
            max_duration: Some(Duration::from_millis(60)),
            ..opts()
        };
        let c = follow(&p, &rule(), &o, &never, |_| updates += 1).unwrap();
        assert_eq!(c.matched, 1);
        assert_eq!(updates, 1);
        assert!(t.elapsed() < Duration::from_secs(2));
        let o = FollowOptions {
            idle_timeout: Some(Duration::from_millis(40)),
            ..opts()
        };
        assert_eq!(follow(&p, &rule(), &o, &never, |_| {}).unwrap().matched, 1);
        assert!(follow(&dir.path().join("missing"), &rule(), &o, &never, |_| {}).is_err());
    }
}
