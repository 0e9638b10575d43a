//! Our own reading of a zip's skeleton (end record, zip64 records, central directory), done
//! before the `zip` crate sees the archive, so that ambiguity is refused instead of resolved:
//! exactly one end record at the very end, the central directory exactly where it says it is,
//! nothing prepended or appended, and bounded sizes for every variable-length field.

use crate::error::IntakeError;
use crate::sink::human_bytes;
use assay_core::display;
use assay_core::IntakeLimits;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;

const EOCD_SIG: [u8; 4] = *b"PK\x05\x06";
const EOCD_LEN: u64 = 22;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_LOCATOR_LEN: u64 = 20;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const ZIP64_EOCD_LEN: u64 = 56;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const CENTRAL_LEN: usize = 46;
pub(crate) const LOCAL_SIG: u32 = 0x0403_4b50;

/// Longest archive comment we accept.
pub(crate) const MAX_ARCHIVE_COMMENT: usize = 4096;
/// Longest extra-field block or entry comment we accept per central directory entry.
pub(crate) const MAX_ENTRY_EXTRA: usize = 4096;

/// PKWARE's Unix extra field: its variable part holds a link target (symbolic or hard link).
const EXTRA_PKWARE_UNIX: u16 = 0x000d;
/// Info-ZIP's Unicode path field: a second name that some tools prefer over the header's.
const EXTRA_UNICODE_PATH: u16 = 0x7075;

/// What the central directory says about one entry, as we read it ourselves.
#[derive(Debug, Clone)]
pub(crate) struct CentralEntry {
    pub raw_name: Vec<u8>,
    pub flags: u16,
    pub method: u16,
    /// High byte: the host system (3 = Unix).
    pub made_by: u16,
    pub external_attrs: u32,
    /// A PKWARE Unix extra field carrying a link target.
    pub link_extra: bool,
    /// The name in an Info-ZIP Unicode path extra field, if there is one.
    pub unicode_path: Option<Vec<u8>>,
}

impl CentralEntry {
    /// The name for messages: lossy UTF-8, escaped.
    pub fn display(&self) -> String {
        display::name(&String::from_utf8_lossy(&self.raw_name))
    }

    pub fn uses_data_descriptor(&self) -> bool {
        self.flags & 0x0008 != 0
    }

    pub fn is_encrypted(&self) -> bool {
        // bit 0: encrypted; bit 6: strong encryption
        self.flags & 0x0041 != 0
    }
}

/// The archive's skeleton.
#[derive(Debug)]
pub(crate) struct Layout {
    pub cd_offset: u64,
    pub entries: Vec<CentralEntry>,
}

/// Reads and checks the skeleton of the zip in `file` (`len` bytes). `archive` names the
/// archive in messages about the whole file.
pub(crate) fn read_layout(
    file: &File,
    len: u64,
    limits: &IntakeLimits,
    archive: &str,
) -> Result<Layout, IntakeError> {
    let reject = |reason: String| IntakeError::rejected(archive, reason);
    if len == 0 {
        return Err(reject("empty file, not a zip archive".into()));
    }
    if len < EOCD_LEN {
        return Err(reject(format!(
            "not a zip archive: {len} bytes is too short for one"
        )));
    }
    let tail_start = len.saturating_sub(EOCD_LEN + u16::MAX as u64);
    let tail = read_at(file, tail_start, (len - tail_start) as usize, archive)?;
    let sigs: Vec<usize> = tail
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == EOCD_SIG)
        .map(|(i, _)| i)
        .collect();
    if sigs.is_empty() {
        let head = read_at(file, 0, 4, archive)?;
        return Err(reject(if head == b"PK\x03\x04" {
            "truncated zip archive: no end-of-central-directory record".into()
        } else {
            "not a zip archive: no end-of-central-directory record".into()
        }));
    }
    let fits_exactly = |p: usize| {
        p + EOCD_LEN as usize <= tail.len()
            && p + EOCD_LEN as usize + le16(&tail, p + 20) as usize == tail.len()
    };
    let exact: Vec<usize> = sigs.iter().copied().filter(|&p| fits_exactly(p)).collect();
    let p = match exact.as_slice() {
        [] => return Err(reject(
            "bytes after the end of the archive (appended data, or a truncated archive comment)"
                .into(),
        )),
        [p] => *p,
        _ => {
            return Err(reject(
                "two end-of-central-directory records: the archive is ambiguous".into(),
            ))
        }
    };
    let eocd_at = tail_start + p as u64;
    if sigs.iter().any(|&q| q > p) {
        return Err(reject(
            "an end-of-central-directory record hides in the archive comment: ambiguous".into(),
        ));
    }
    let comment_len = le16(&tail, p + 20) as usize;
    if comment_len > MAX_ARCHIVE_COMMENT {
        return Err(reject(format!(
            "archive comment of {comment_len} bytes; the limit is {MAX_ARCHIVE_COMMENT}"
        )));
    }
    let disk = le16(&tail, p + 4);
    let cd_disk = le16(&tail, p + 6);
    let entries_here = le16(&tail, p + 8) as u64;
    let mut entries = le16(&tail, p + 10) as u64;
    let mut cd_size = le32(&tail, p + 12) as u64;
    let mut cd_offset = le32(&tail, p + 16) as u64;
    if disk != 0 || cd_disk != 0 || entries_here != entries {
        return Err(reject(
            "multi-disk (split) archives are not supported".into(),
        ));
    }

    // Zip64: a locator right before the end record points at the zip64 end record.
    let mut records_start = eocd_at;
    let has_locator = eocd_at >= ZIP64_LOCATOR_LEN
        && le32(&read_at(file, eocd_at - ZIP64_LOCATOR_LEN, 4, archive)?, 0) == ZIP64_LOCATOR_SIG;
    let saturated = entries == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF;
    if saturated && !has_locator {
        return Err(reject(
            "zip64 archive without its zip64 end-of-central-directory locator".into(),
        ));
    }
    if has_locator {
        let loc = read_at(
            file,
            eocd_at - ZIP64_LOCATOR_LEN,
            ZIP64_LOCATOR_LEN as usize,
            archive,
        )?;
        let eocd64_at = le64(&loc, 8);
        if le32(&loc, 4) != 0 || le32(&loc, 16) > 1 {
            return Err(reject(
                "multi-disk (split) archives are not supported".into(),
            ));
        }
        if eocd64_at
            .checked_add(ZIP64_EOCD_LEN)
            .is_none_or(|end| end > eocd_at - ZIP64_LOCATOR_LEN)
        {
            return Err(reject(
                "the zip64 end record lies outside the archive".into(),
            ));
        }
        let rec = read_at(file, eocd64_at, ZIP64_EOCD_LEN as usize, archive)?;
        if le32(&rec, 0) != ZIP64_EOCD_SIG {
            return Err(reject(
                "the zip64 locator does not point at a zip64 end record".into(),
            ));
        }
        if le64(&rec, 4).checked_add(12 + eocd64_at) != Some(eocd_at - ZIP64_LOCATOR_LEN) {
            return Err(reject(
                "bytes between the zip64 end record and its locator: ambiguous".into(),
            ));
        }
        if le32(&rec, 16) != 0 || le32(&rec, 20) != 0 || le64(&rec, 24) != le64(&rec, 32) {
            return Err(reject(
                "multi-disk (split) archives are not supported".into(),
            ));
        }
        let (e64, size64, off64) = (le64(&rec, 32), le64(&rec, 40), le64(&rec, 48));
        // A 32-bit field is either saturated or says the same as its 64-bit twin.
        if (entries != 0xFFFF && entries != e64)
            || (cd_size != 0xFFFF_FFFF && cd_size != size64)
            || (cd_offset != 0xFFFF_FFFF && cd_offset != off64)
        {
            return Err(reject(
                "the zip64 end record disagrees with the end record".into(),
            ));
        }
        (entries, cd_size, cd_offset) = (e64, size64, off64);
        records_start = eocd64_at;
    }

    if entries > limits.max_entries {
        return Err(reject(format!(
            "the archive declares {entries} entries; the limit is {}",
            limits.max_entries
        )));
    }
    if cd_offset.checked_add(cd_size) != Some(records_start) && sigs.len() > 1 {
        return Err(reject(
            "more than one end-of-central-directory record, and the last one does not point at \
             the central directory: ambiguous"
                .into(),
        ));
    }
    if cd_offset.checked_add(cd_size) != Some(records_start) {
        return Err(reject(
            "the end record does not point at the central directory (data prepended or inserted: \
             a self-extracting or polyglot file?)"
                .into(),
        ));
    }
    if entries == 0 && cd_size != 0 {
        return Err(reject(
            "the central directory is not empty but declares no entries".into(),
        ));
    }
    if entries == 0 && cd_offset != 0 {
        return Err(reject(format!(
            "{cd_offset} bytes of data before an empty archive's end record"
        )));
    }
    let entries = read_central_directory(file, cd_offset, cd_size, entries, limits, archive)?;
    Ok(Layout { cd_offset, entries })
}

/// Streams the central directory: `count` entries that must fill exactly `size` bytes.
fn read_central_directory(
    file: &File,
    offset: u64,
    size: u64,
    count: u64,
    limits: &IntakeLimits,
    archive: &str,
) -> Result<Vec<CentralEntry>, IntakeError> {
    let corrupt =
        |what: String| IntakeError::rejected(archive, format!("corrupt central directory: {what}"));
    let mut handle = file
        .try_clone()
        .map_err(|e| IntakeError::internal("reopening the archive", e))?;
    handle
        .seek(SeekFrom::Start(offset))
        .map_err(|e| corrupt(e.to_string()))?;
    let mut reader = BufReader::with_capacity(64 * 1024, handle).take(size);
    let mut entries = Vec::with_capacity(count.min(1024) as usize);
    for index in 0..count {
        let mut fixed = [0u8; CENTRAL_LEN];
        reader
            .read_exact(&mut fixed)
            .map_err(|_| corrupt(format!("entry #{index} is cut short")))?;
        if le32(&fixed, 0) != CENTRAL_SIG {
            return Err(corrupt(format!(
                "entry #{index} has no central header signature"
            )));
        }
        let name_len = le16(&fixed, 28) as usize;
        let extra_len = le16(&fixed, 30) as usize;
        let comment_len = le16(&fixed, 32) as usize;
        // Read at most a display prefix of an over-long name, then refuse it.
        let keep = name_len.min(limits.max_name_bytes);
        let mut raw_name = vec![0u8; keep];
        reader
            .read_exact(&mut raw_name)
            .map_err(|_| corrupt(format!("entry #{index} is cut short")))?;
        let shown = display::name(&String::from_utf8_lossy(&raw_name));
        if name_len > limits.max_name_bytes {
            return Err(IntakeError::rejected(
                shown,
                format!(
                    "name is {name_len} bytes long; the limit is {} bytes",
                    limits.max_name_bytes
                ),
            ));
        }
        if extra_len > MAX_ENTRY_EXTRA || comment_len > MAX_ENTRY_EXTRA {
            return Err(IntakeError::rejected(
                shown,
                format!(
                    "extra field of {} and comment of {} in the central directory; the limit is {} each",
                    human_bytes(extra_len as u64),
                    human_bytes(comment_len as u64),
                    human_bytes(MAX_ENTRY_EXTRA as u64)
                ),
            ));
        }
        let mut extra = vec![0u8; extra_len];
        reader
            .read_exact(&mut extra)
            .map_err(|_| corrupt(format!("entry #{index} is cut short")))?;
        let mut comment = vec![0u8; comment_len];
        reader
            .read_exact(&mut comment)
            .map_err(|_| corrupt(format!("entry #{index} is cut short")))?;
        let (link_extra, unicode_path) = scan_extra(&extra);
        entries.push(CentralEntry {
            raw_name,
            flags: le16(&fixed, 8),
            method: le16(&fixed, 10),
            made_by: le16(&fixed, 4),
            external_attrs: le32(&fixed, 38),
            link_extra,
            unicode_path,
        });
    }
    if reader.limit() != 0 {
        return Err(corrupt(format!(
            "{} bytes after the last entry, before the end record",
            reader.limit()
        )));
    }
    Ok(entries)
}

/// Looks through an extra-field block for a link-carrying PKWARE Unix field and a Unicode path
/// field (returned: its name). A malformed block is not an error here (the zip crate judges it).
fn scan_extra(extra: &[u8]) -> (bool, Option<Vec<u8>>) {
    let (mut link, mut upath) = (false, None);
    let mut at = 0;
    while at + 4 <= extra.len() {
        let id = le16(extra, at);
        let size = le16(extra, at + 2) as usize;
        let body = &extra[(at + 4).min(extra.len())..(at + 4 + size).min(extra.len())];
        match id {
            // fixed part: atime, mtime, uid, gid (12 bytes); anything more is a link target
            EXTRA_PKWARE_UNIX if size > 12 => link = true,
            // version (1 byte), CRC-32 of the header name (4 bytes), then the UTF-8 name
            EXTRA_UNICODE_PATH => upath = Some(body.get(5..).unwrap_or_default().to_vec()),
            _ => {}
        }
        at += 4 + size;
    }
    (link, upath)
}

/// Reads `len` bytes at `offset`; running off the end is the archive's fault.
pub(crate) fn read_at(
    file: &File,
    offset: u64,
    len: usize,
    archive: &str,
) -> Result<Vec<u8>, IntakeError> {
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, offset).map_err(|e| {
        IntakeError::rejected(
            archive,
            format!("cannot read {len} bytes at offset {offset}: {e}"),
        )
    })?;
    Ok(buf)
}

pub(crate) fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

pub(crate) fn le64(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}
