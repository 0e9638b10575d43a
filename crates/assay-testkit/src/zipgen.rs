//! A zip writer for tests that can lie: every header field is ours to set, so a test can build
//! exactly the hostile archive it means (wrong sizes, mismatched names, overlapping offsets,
//! link modes, data descriptors, prepended or appended bytes).

use flate2::{Compress, Compression, FlushCompress};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const UNIX: u16 = 3 << 8 | 30; // made by Unix, spec 3.0
pub const FILE_MODE: u32 = 0o100644;
pub const DIR_MODE: u32 = 0o040755;

/// The fields of one header (local and central share most of them).
#[derive(Debug, Clone)]
pub struct Header {
    pub name: Vec<u8>,
    pub flags: u16,
    pub method: u16,
    pub crc: u32,
    pub compressed_size: u32,
    pub size: u32,
    pub made_by: u16,
    pub external_attrs: u32,
    pub extra: Vec<u8>,
    /// Local header offset, written into the central header.
    pub offset: u32,
}

impl Header {
    pub fn new(name: &[u8]) -> Self {
        Header {
            name: name.to_vec(),
            flags: 0,
            method: 0,
            crc: 0,
            compressed_size: 0,
            size: 0,
            made_by: UNIX,
            external_attrs: FILE_MODE << 16,
            extra: Vec::new(),
            offset: 0,
        }
    }

    pub fn local(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        b.extend_from_slice(&20u16.to_le_bytes()); // version needed
        b.extend_from_slice(&self.flags.to_le_bytes());
        b.extend_from_slice(&self.method.to_le_bytes());
        b.extend_from_slice(&[0, 0, 0x21, 0]); // time, date (1980-01-01)
        b.extend_from_slice(&self.crc.to_le_bytes());
        b.extend_from_slice(&self.compressed_size.to_le_bytes());
        b.extend_from_slice(&self.size.to_le_bytes());
        b.extend_from_slice(&(self.name.len() as u16).to_le_bytes());
        b.extend_from_slice(&(self.extra.len() as u16).to_le_bytes());
        b.extend_from_slice(&self.name);
        b.extend_from_slice(&self.extra);
        b
    }

    pub fn central(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        b.extend_from_slice(&self.made_by.to_le_bytes());
        b.extend_from_slice(&20u16.to_le_bytes());
        b.extend_from_slice(&self.flags.to_le_bytes());
        b.extend_from_slice(&self.method.to_le_bytes());
        b.extend_from_slice(&[0, 0, 0x21, 0]);
        b.extend_from_slice(&self.crc.to_le_bytes());
        b.extend_from_slice(&self.compressed_size.to_le_bytes());
        b.extend_from_slice(&self.size.to_le_bytes());
        b.extend_from_slice(&(self.name.len() as u16).to_le_bytes());
        b.extend_from_slice(&(self.extra.len() as u16).to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes()); // comment length
        b.extend_from_slice(&0u16.to_le_bytes()); // disk
        b.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        b.extend_from_slice(&self.external_attrs.to_le_bytes());
        b.extend_from_slice(&self.offset.to_le_bytes());
        b.extend_from_slice(&self.name);
        b.extend_from_slice(&self.extra);
        b
    }
}

/// An end-of-central-directory record.
pub fn eocd(entries: u16, cd_size: u32, cd_offset: u32, comment: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    b.extend_from_slice(&[0, 0, 0, 0]); // disk numbers
    b.extend_from_slice(&entries.to_le_bytes());
    b.extend_from_slice(&entries.to_le_bytes());
    b.extend_from_slice(&cd_size.to_le_bytes());
    b.extend_from_slice(&cd_offset.to_le_bytes());
    b.extend_from_slice(&(comment.len() as u16).to_le_bytes());
    b.extend_from_slice(comment);
    b
}

/// One entry: its central header, the local header (a copy of the central one unless a test
/// makes it lie), the bytes after the local header, and an optional data descriptor.
#[derive(Debug, Clone)]
pub struct Entry {
    pub central: Header,
    pub local: Option<Header>,
    pub data: Vec<u8>,
    pub descriptor: Option<Vec<u8>>,
}

impl Entry {
    /// A stored file with honest sizes and CRC.
    pub fn stored(name: &str, content: &[u8]) -> Self {
        Self::stored_raw(name.as_bytes(), content)
    }

    pub fn stored_raw(name: &[u8], content: &[u8]) -> Self {
        Self::honest(name, 0, content, content.to_vec())
    }

    /// A deflated file with honest sizes and CRC.
    pub fn deflated(name: &str, content: &[u8]) -> Self {
        Self::honest(name.as_bytes(), 8, content, deflate(content))
    }

    /// `content` stored as `data` with `method` (0 stored, 8 deflate); sizes and CRC honest.
    fn honest(name: &[u8], method: u16, content: &[u8], data: Vec<u8>) -> Self {
        let mut h = Header::new(name);
        h.method = method;
        h.crc = crc32fast::hash(content);
        h.compressed_size = data.len() as u32;
        h.size = content.len() as u32;
        Entry {
            central: h,
            local: None,
            data,
            descriptor: None,
        }
    }

    pub fn dir(name: &str) -> Self {
        let mut e = Self::stored(name, b"");
        e.central.external_attrs = DIR_MODE << 16;
        e
    }

    /// Sets the Unix mode (type and permission bits) in the external attributes.
    pub fn mode(mut self, mode: u32) -> Self {
        self.central.made_by = UNIX;
        self.central.external_attrs = mode << 16;
        self
    }

    /// Declares another uncompressed size in both headers.
    pub fn declared_size(mut self, size: u32) -> Self {
        self.central.size = size;
        self
    }

    /// Moves sizes and CRC to a data descriptor (flag bit 3): zeros in the local header.
    pub fn with_descriptor(mut self) -> Self {
        self.central.flags |= 0x0008;
        let mut local = self.local_header();
        local.crc = 0;
        local.compressed_size = 0;
        local.size = 0;
        let mut d = Vec::new();
        d.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
        d.extend_from_slice(&self.central.crc.to_le_bytes());
        d.extend_from_slice(&self.central.compressed_size.to_le_bytes());
        d.extend_from_slice(&self.central.size.to_le_bytes());
        self.local = Some(local);
        self.descriptor = Some(d);
        self
    }

    pub fn local_header(&self) -> Header {
        self.local.clone().unwrap_or_else(|| {
            let mut l = self.central.clone();
            l.flags = self.central.flags;
            l
        })
    }
}

/// An archive under construction.
#[derive(Debug, Clone, Default)]
pub struct Zip {
    pub prefix: Vec<u8>,
    pub entries: Vec<Entry>,
    pub comment: Vec<u8>,
    pub suffix: Vec<u8>,
    /// Central offsets are written relative to the start of the file (true) or to the end of
    /// `prefix` (false, the default: offsets that ignore prepended bytes).
    pub offsets_include_prefix: bool,
}

impl Zip {
    pub fn new() -> Self {
        Zip::default()
    }

    pub fn entry(mut self, e: Entry) -> Self {
        self.entries.push(e);
        self
    }

    pub fn file(self, name: &str, content: &[u8]) -> Self {
        self.entry(Entry::deflated(name, content))
    }

    pub fn build(&self) -> Vec<u8> {
        let mut out = self.prefix.clone();
        let base = if self.offsets_include_prefix {
            0
        } else {
            self.prefix.len()
        };
        let mut centrals = Vec::new();
        for e in &self.entries {
            let mut c = e.central.clone();
            c.offset = (out.len() - base) as u32;
            let mut local = e.local_header();
            local.offset = c.offset;
            out.extend_from_slice(&local.local());
            out.extend_from_slice(&e.data);
            if let Some(d) = &e.descriptor {
                out.extend_from_slice(d);
            }
            centrals.push(c);
        }
        let cd_offset = (out.len() - base) as u32;
        let mut cd = Vec::new();
        for c in &centrals {
            cd.extend_from_slice(&c.central());
        }
        out.extend_from_slice(&cd);
        out.extend_from_slice(&eocd(
            centrals.len() as u16,
            cd.len() as u32,
            cd_offset,
            &self.comment,
        ));
        out.extend_from_slice(&self.suffix);
        out
    }

    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.build()).unwrap();
    }
}

pub fn deflate(content: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), Compression::default());
    enc.write_all(content).unwrap();
    enc.finish().unwrap()
}

/// Writes a one-entry zip holding `zeros` zero bytes, deflated, without ever holding them in
/// memory: 1 MiB of zeros is compressed once with a full flush (so each copy of the block is
/// independent) and repeated. The CRC is combined from the 1 MiB block's. `declared` overrides
/// the declared uncompressed size. Returns the compressed size.
pub fn write_zero_bomb(path: &Path, name: &str, zeros: u64, declared: Option<u32>) -> u64 {
    const BLOCK: usize = 1 << 20;
    assert_eq!(zeros % BLOCK as u64, 0);
    let blocks = zeros / BLOCK as u64;
    let mut z = Compress::new(Compression::best(), false);
    let mut block = Vec::with_capacity(BLOCK);
    z.compress_vec(&vec![0u8; BLOCK], &mut block, FlushCompress::Full)
        .unwrap();
    assert_eq!(
        z.total_in(),
        BLOCK as u64,
        "the block must be compressed in one call"
    );
    let mut tail = Vec::with_capacity(64);
    z.compress_vec(&[], &mut tail, FlushCompress::Finish)
        .unwrap();
    let compressed = block.len() as u64 * blocks + tail.len() as u64;

    let mut one = crc32fast::Hasher::new();
    one.update(&vec![0u8; BLOCK]);
    let mut crc = crc32fast::Hasher::new();
    for _ in 0..blocks {
        crc.combine(&one);
    }

    let mut h = Header::new(name.as_bytes());
    h.method = 8;
    h.crc = crc.finalize();
    h.compressed_size = compressed as u32;
    h.size = declared.unwrap_or(zeros as u32);
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(&h.local()).unwrap();
    for _ in 0..blocks {
        f.write_all(&block).unwrap();
    }
    f.write_all(&tail).unwrap();
    let local_len = h.local().len() as u64;
    let cd = h.central();
    f.write_all(&cd).unwrap();
    f.write_all(&eocd(
        1,
        cd.len() as u32,
        (local_len + compressed) as u32,
        b"",
    ))
    .unwrap();
    f.flush().unwrap();
    compressed
}

/// A case folder: the archive lives in it, and the private temp dir is made in its `work/`
/// subfolder, so a test can see everything intake wrote or left behind.
pub struct Case {
    pub dir: tempfile::TempDir,
}

impl Default for Case {
    fn default() -> Self {
        Self::new()
    }
}

impl Case {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("work")).unwrap();
        Case { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn work(&self) -> PathBuf {
        self.path("work")
    }

    /// Everything under the case folder other than `keep` names, as relative paths.
    pub fn listing(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(self.dir.path(), self.dir.path(), &mut out);
        out.sort();
        out
    }

    /// Asserts nothing was left: `work/` is empty and the case folder holds only `work/` and
    /// the given input files.
    pub fn assert_clean(&self, inputs: &[&str]) {
        let mut expected: Vec<String> = inputs.iter().map(|s| s.to_string()).collect();
        expected.push("work".into());
        expected.sort();
        assert_eq!(
            self.listing(),
            expected,
            "intake left something behind or wrote outside its dir"
        );
    }
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
    for item in std::fs::read_dir(dir).unwrap() {
        let item = item.unwrap();
        let rel = item
            .path()
            .strip_prefix(base)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        out.push(rel);
        if item.file_type().unwrap().is_dir() {
            walk(base, &item.path(), out);
        }
    }
}

/// Every file and folder under `root`, relative, sorted, folders with a trailing `/`.
pub fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    walk(root, root, &mut out);
    let mut out: Vec<String> = out
        .into_iter()
        .map(|p| {
            if root.join(&p).is_dir() {
                format!("{p}/")
            } else {
                p
            }
        })
        .collect();
    out.sort();
    out
}
