//! Bytes → text: UTF-8 (BOM or not), UTF-16 with a BOM, else Windows-1252 (Latin-1).

use assay_core::Diagnostic;

/// Decodes a text document. The note, when present, says which fallback was used.
pub(crate) fn decode_text(bytes: &[u8]) -> (String, Option<Diagnostic>) {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        let mut note = None;
        if enc != encoding_rs::UTF_8 {
            note = Some(Diagnostic::info(format!(
                "decoded as {} (byte-order mark)",
                enc.name()
            )));
        }
        if had_errors {
            note = Some(Diagnostic::warning(format!(
                "invalid {} sequences replaced with U+FFFD",
                enc.name()
            )));
        }
        return (text.into_owned(), note);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), None),
        Err(_) => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            (
                text.into_owned(),
                Some(
                    Diagnostic::warning("not valid UTF-8; decoded as Windows-1252 (Latin-1)")
                        .with_hint("save answers as UTF-8"),
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_and_without_bom() {
        assert_eq!(decode_text("héllo".as_bytes()), ("héllo".to_string(), None));
        let (t, n) = decode_text(b"\xEF\xBB\xBFhi");
        assert_eq!(t, "hi");
        assert!(n.is_none());
    }

    #[test]
    fn utf16_with_bom_is_decoded_and_noted() {
        let mut le = vec![0xFF, 0xFE];
        for u in "don’t".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        let (t, n) = decode_text(&le);
        assert_eq!(t, "don’t");
        assert!(n.unwrap().message.contains("UTF-16LE"));
        let mut be = vec![0xFE, 0xFF];
        for u in "ok".encode_utf16() {
            be.extend_from_slice(&u.to_be_bytes());
        }
        assert_eq!(decode_text(&be).0, "ok");
    }

    #[test]
    fn latin1_fallback_is_reported() {
        let (t, n) = decode_text(b"caf\xe9 don\x92t");
        assert_eq!(t, "café don’t");
        assert!(n.unwrap().message.contains("Windows-1252"));
    }
}
