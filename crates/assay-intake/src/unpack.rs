//! Unpacking a zip: every entry checked before anything is written, then each one streamed
//! through the [`Budget`]'s counting copy. `ZipArchive::extract` is never used: it trusts
//! declared sizes, applies stored permission bits and re-roots absolute paths.

use crate::error::IntakeError;
use crate::layout::{le16, le32, read_at, read_layout, CentralEntry, Layout, LOCAL_SIG};
use crate::name::{collision_key, parse_entry_name, skipped_prefix, EntryPath};
use crate::sink::{human_bytes, Budget, Tree};
use assay_core::display;
use assay_core::Diagnostic;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;

const METHOD_STORED: u16 = 0;
const METHOD_DEFLATED: u16 = 8;
const LOCAL_LEN: u64 = 30;
/// Sizes a data descriptor may have: with or without its signature, 32- or 64-bit sizes.
const DESCRIPTOR_LENS: [u64; 4] = [12, 16, 20, 24];

/// One entry that passed every check and will be written.
#[derive(Debug)]
struct Planned {
    index: usize,
    path: EntryPath,
    shown: String,
    declared_size: u64,
    compressed_size: u64,
}

/// Byte range one entry occupies in the archive: local header through compressed data.
#[derive(Debug)]
struct Span {
    start: u64,
    end: u64,
    entry: usize,
    descriptor: bool,
}

/// Unpacks the zip `file` (`len` bytes) into `tree`. `archive` names the archive in messages.
pub(crate) fn unpack_zip(
    file: &File,
    len: u64,
    archive: &str,
    tree: &Tree,
    budget: &mut Budget,
    notes: &mut Vec<Diagnostic>,
) -> Result<(), IntakeError> {
    let limits = budget.limits().clone();
    let layout = read_layout(file, len, &limits, archive)?;
    reject_duplicate_raw_names(&layout.entries)?;

    let reader = file
        .try_clone()
        .map_err(|e| IntakeError::internal("reopening the archive", e))?;
    let mut zip = zip::ZipArchive::new(reader)
        .map_err(|e| IntakeError::rejected(archive, format!("the zip reader refuses it: {e}")))?;
    if zip.len() != layout.entries.len()
        || zip.offset() != 0
        || zip.central_directory_start() != layout.cd_offset
    {
        return Err(IntakeError::rejected(
            archive,
            "the zip reader sees a different archive than its end record describes: ambiguous",
        ));
    }

    let metadata = zip.metadata();
    let mut spans = Vec::with_capacity(layout.entries.len());
    let mut planned = Vec::with_capacity(layout.entries.len());
    let mut declared_total: u64 = 0;
    for (index, ce) in layout.entries.iter().enumerate() {
        let entry = metadata
            .entry(index)
            .map_err(|e| IntakeError::rejected(ce.display(), format!("unreadable entry: {e}")))?;
        let text = entry_text_name(ce)?;
        if entry.name_raw() != ce.raw_name.as_slice() {
            return Err(IntakeError::rejected(
                ce.display(),
                "the zip reader reads a different name for this entry: ambiguous",
            ));
        }
        let shown = display::name(&text);
        let reject = |reason: String| IntakeError::rejected(shown.clone(), reason);
        if ce.is_encrypted() || entry.encrypted() {
            return Err(reject("encrypted entry: assay takes no passwords".into()));
        }
        if ce.method != METHOD_STORED && ce.method != METHOD_DEFLATED {
            return Err(reject(format!(
                "compression method {} ({}) is not supported: use deflate or store",
                ce.method,
                entry.compression()
            )));
        }
        let path = parse_entry_name(&text, &limits).map_err(&reject)?;
        check_file_type(ce, &path).map_err(&reject)?;
        if path.is_dir && (entry.size() != 0 || entry.compressed_size() != 0) {
            return Err(reject(
                "a directory entry that holds data: ambiguous".into(),
            ));
        }
        if entry.size() > limits.max_file_bytes {
            return Err(reject(format!(
                "declares {} uncompressed; the per-file limit is {}",
                human_bytes(entry.size()),
                human_bytes(limits.max_file_bytes)
            )));
        }
        declared_total = declared_total.saturating_add(entry.size());
        if declared_total > limits.max_total_bytes {
            return Err(reject(format!(
                "the entries up to this one declare more than the total limit of {}",
                human_bytes(limits.max_total_bytes)
            )));
        }
        let data_start =
            check_local_header(file, archive, ce, entry.header_start()).map_err(&reject)?;
        let end = data_start
            .checked_add(entry.compressed_size())
            .ok_or_else(|| reject("its data runs past the end of any possible file".into()))?;
        spans.push(Span {
            start: entry.header_start(),
            end,
            entry: index,
            descriptor: ce.uses_data_descriptor(),
        });
        planned.push(Planned {
            index,
            path,
            shown,
            declared_size: entry.size(),
            compressed_size: entry.compressed_size(),
        });
    }
    check_spans(&mut spans, &layout, &planned, archive)?;

    let planned = skip_and_unwrap(planned, notes);
    check_collisions(&planned)?;

    for p in &planned {
        budget.add_entry(&p.shown)?;
        if p.path.is_dir {
            tree.make_dir(&p.path.components)?;
            continue;
        }
        let mut out = tree.create_file(&p.path.components)?;
        let mut data = zip.by_index(p.index).map_err(|e| {
            IntakeError::rejected(p.shown.clone(), format!("cannot read its data: {e}"))
        })?;
        let written = budget.copy(&p.shown, &mut data, &mut out, Some(p.compressed_size))?;
        if written != p.declared_size {
            return Err(IntakeError::rejected(
                p.shown.clone(),
                format!("declares {} bytes but holds {written}", p.declared_size),
            ));
        }
    }
    Ok(())
}

/// Two central directory entries with the same bytes as name.
fn reject_duplicate_raw_names(entries: &[CentralEntry]) -> Result<(), IntakeError> {
    let mut seen = HashSet::with_capacity(entries.len());
    for ce in entries {
        if !seen.insert(ce.raw_name.as_slice()) {
            return Err(IntakeError::rejected(
                ce.display(),
                "duplicate name: the archive holds two entries with it",
            ));
        }
    }
    Ok(())
}

/// The entry's name as text: UTF-8 when it is (flagged or not), else CP437 as the zip crate
/// reads it. An Info-ZIP Unicode path field that names another file is refused.
fn entry_text_name(ce: &CentralEntry) -> Result<String, IntakeError> {
    let text = match std::str::from_utf8(&ce.raw_name) {
        Ok(s) => s.to_string(),
        Err(_) if ce.flags & 0x0800 != 0 => {
            return Err(IntakeError::rejected(
                ce.display(),
                "the name is flagged UTF-8 but is not valid UTF-8",
            ))
        }
        Err(_) => ce.raw_name.iter().map(|&b| cp437(b)).collect(),
    };
    if let Some(upath) = &ce.unicode_path {
        if upath.as_slice() != text.as_bytes() {
            return Err(IntakeError::rejected(
                display::name(&text),
                format!(
                    "its Unicode path field names another file (`{}`): ambiguous",
                    display::name(&String::from_utf8_lossy(upath))
                ),
            ));
        }
    }
    Ok(text)
}

/// Symbolic links, hard links, devices, FIFOs and sockets are refused; so is a mode that says
/// "directory" on a name that does not end in `/`.
fn check_file_type(ce: &CentralEntry, path: &EntryPath) -> Result<(), String> {
    if ce.link_extra {
        return Err("a hard or symbolic link (PKWARE Unix extra field with a link target)".into());
    }
    let host = ce.made_by >> 8;
    match host {
        // Unix, OS X
        3 | 19 => {
            let mode = ce.external_attrs >> 16;
            let kind = match mode & 0o170000 {
                0 | 0o100000 => None,
                0o040000 if path.is_dir => None,
                0o040000 => Some("its mode says directory but its name does not end in `/`: ambiguous"),
                0o120000 => Some("a symbolic link"),
                0o020000 => Some("a character device"),
                0o060000 => Some("a block device"),
                0o010000 => Some("a FIFO (named pipe)"),
                0o140000 => Some("a socket"),
                _ => Some("an unknown file type in its mode bits"),
            };
            match kind {
                Some(k) => Err(format!("{k} (mode {mode:o}); only regular files and directories are taken")),
                None => Ok(()),
            }
        }
        // MS-DOS, NTFS, VFAT: FILE_ATTRIBUTE_REPARSE_POINT marks a link or junction
        0 | 10 | 14 if ce.external_attrs & 0x400 != 0 => {
            Err("a Windows reparse point (link or junction); only regular files and directories are taken".into())
        }
        _ => Ok(()),
    }
}

/// Reads the local header at `at`: it must exist and agree with the central directory on the
/// name, the method and encryption. Returns where the entry's data starts.
fn check_local_header(
    file: &File,
    archive: &str,
    ce: &CentralEntry,
    at: u64,
) -> Result<u64, String> {
    let fixed = read_at(file, at, LOCAL_LEN as usize, archive)
        .map_err(|_| "its local header lies outside the archive")?;
    if le32(&fixed, 0) != LOCAL_SIG {
        return Err(format!(
            "no local header where the central directory says (offset {at})"
        ));
    }
    let name_len = le16(&fixed, 26) as usize;
    let extra_len = le16(&fixed, 28) as u64;
    let local_name = read_at(file, at + LOCAL_LEN, name_len, archive)
        .map_err(|_| "its local header is cut short")?;
    if local_name != ce.raw_name {
        return Err(format!(
            "the local header names it `{}` but the central directory `{}`: ambiguous",
            display::name(&String::from_utf8_lossy(&local_name)),
            ce.display()
        ));
    }
    let local_flags = le16(&fixed, 6);
    if le16(&fixed, 8) != ce.method || (local_flags & 0x0041 != 0) != ce.is_encrypted() {
        return Err(
            "the local header and the central directory disagree on compression or encryption"
                .into(),
        );
    }
    Ok(at + LOCAL_LEN + name_len as u64 + extra_len)
}

/// Entries must tile the archive from byte 0 to the central directory: no overlap (the "better
/// zip bomb" reuses one compressed block for many entries), and no unaccounted bytes (hidden
/// data, polyglots), except a data descriptor after an entry that announces one.
fn check_spans(
    spans: &mut [Span],
    layout: &Layout,
    planned: &[Planned],
    archive: &str,
) -> Result<(), IntakeError> {
    spans.sort_by_key(|s| (s.start, s.end));
    let name = |i: usize| planned[i].shown.clone();
    if let Some(first) = spans.first() {
        if first.start != 0 {
            return Err(IntakeError::rejected(
                archive,
                format!(
                    "{} bytes before the first entry (a self-extracting or polyglot file?)",
                    first.start
                ),
            ));
        }
    }
    for (i, span) in spans.iter().enumerate() {
        let next_start = spans.get(i + 1).map_or(layout.cd_offset, |n| n.start);
        let next_name = spans
            .get(i + 1)
            .map(|n| format!("entry `{}`", name(n.entry)));
        let next_name = next_name.unwrap_or_else(|| "the central directory".into());
        if span.end > next_start {
            return Err(IntakeError::rejected(
                name(span.entry),
                format!("its bytes overlap {next_name} (overlapping entries: a zip bomb)"),
            ));
        }
        let gap = next_start - span.end;
        if gap != 0 && !(span.descriptor && DESCRIPTOR_LENS.contains(&gap)) {
            return Err(IntakeError::rejected(
                name(span.entry),
                format!("{gap} unaccounted bytes between it and {next_name} (hidden data?)"),
            ));
        }
    }
    Ok(())
}

/// Drops archiver junk and skipped folders (with a note), then removes a single folder that
/// wraps everything else (a zip of a folder).
fn skip_and_unwrap(planned: Vec<Planned>, notes: &mut Vec<Diagnostic>) -> Vec<Planned> {
    let mut skipped = BTreeSet::new();
    let mut kept: Vec<Planned> = Vec::with_capacity(planned.len());
    for p in planned {
        match skipped_prefix(&p.path.components) {
            Some(prefix) => {
                if !prefix.starts_with("__MACOSX") && !prefix.ends_with(".DS_Store") {
                    skipped.insert(prefix);
                }
            }
            None if p.path.components.is_empty() => {}
            None => kept.push(p),
        }
    }
    for prefix in skipped.iter().take(20) {
        notes.push(Diagnostic::info(format!(
            "skipped `{}` (version control or build output)",
            display::name(prefix)
        )));
    }
    let first = kept.first().map(|p| p.path.components[0].clone());
    let Some(top) = first else { return kept };
    let wraps = kept
        .iter()
        .all(|p| p.path.components[0] == top && (p.path.components.len() > 1 || p.path.is_dir));
    let has_content = kept.iter().any(|p| p.path.components.len() > 1);
    if !(wraps && has_content) {
        return kept;
    }
    notes.push(Diagnostic::info(format!(
        "unwrapped the single top folder `{}/`",
        display::name(&top)
    )));
    kept.into_iter()
        .filter(|p| p.path.components.len() > 1)
        .map(|mut p| {
            p.path.components.remove(0);
            p
        })
        .collect()
}

/// Two entries that would be the same file on a case-insensitive or normalising file system,
/// two entries with the same normalised name, or a name that is both a file and a folder.
fn check_collisions(planned: &[Planned]) -> Result<(), IntakeError> {
    // key -> (exact path, is a directory)
    let mut claims: HashMap<String, (String, bool)> = HashMap::with_capacity(planned.len() * 2);
    let mut claim = |exact: String, is_dir: bool, shown: &str| -> Result<(), IntakeError> {
        let key = collision_key(&exact);
        match claims.get(&key) {
            None => {
                claims.insert(key, (exact, is_dir));
                Ok(())
            }
            Some((prev, prev_dir)) if *prev_dir != is_dir => Err(IntakeError::rejected(
                shown,
                format!(
                    "`{}` would be both a file and a folder: ambiguous",
                    display::name(prev)
                ),
            )),
            Some((prev, _)) if *prev != exact => Err(IntakeError::rejected(
                shown,
                format!(
                    "collides with `{}` when case and Unicode normalisation are ignored: ambiguous",
                    display::name(prev)
                ),
            )),
            Some(_) if !is_dir => Err(IntakeError::rejected(
                shown,
                "duplicate name once `./`, `//` and `\\` are normalised: ambiguous",
            )),
            Some(_) => Ok(()),
        }
    };
    for p in planned {
        let comps = &p.path.components;
        for depth in 1..comps.len() {
            claim(comps[..depth].join("/"), true, &p.shown)?;
        }
        claim(p.path.joined(), p.path.is_dir, &p.shown)?;
    }
    Ok(())
}

/// IBM code page 437, the zip format's default name encoding, for bytes ≥ 0x80.
fn cp437(b: u8) -> char {
    const HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{a0}";
    if b < 0x80 {
        b as char
    } else {
        HIGH.chars().nth((b - 0x80) as usize).unwrap_or('\u{fffd}')
    }
}

#[cfg(test)]
mod tests {
    use super::cp437;

    #[test]
    fn cp437_maps_every_high_byte() {
        let high: String = (0x80..=0xffu8).map(cp437).collect();
        assert_eq!(high.chars().count(), 128);
        assert!(!high.contains('\u{fffd}'));
        assert_eq!(cp437(0x82), 'é');
        assert_eq!(cp437(0xe1), 'ß');
        assert_eq!(cp437(b'a'), 'a');
    }
}
