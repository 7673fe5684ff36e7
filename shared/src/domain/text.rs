//! Rules shared by every free-text field a person types once and others read (names, titles).

use super::Invalid;

/// Characters that render as nothing, break the line or reorder what follows: C0/C1 controls,
/// the line and paragraph separators, zero-width and other invisible characters (soft hyphen,
/// combining grapheme joiner, Mongolian vowel separator, Hangul fillers, interlinear
/// annotation marks; not the tag characters, which spell subdivision flags in emoji), bidirectional marks, overrides and isolates, the byte-order
/// mark. A name holding one can impersonate another, hide text or add a line to a notice.
pub fn is_hidden_or_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'..='\u{1160}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// Unicode's format characters (general category Cf, as of Unicode 15): invisible, they change
/// how the text around them is shown or read: bidirectional marks, overrides and isolates,
/// zero-width spaces and joiners, the byte-order mark, Arabic and Syriac number signs, tag
/// characters, interlinear annotation marks and the like.
pub fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// `text` without what would hide or reorder what is shown of it: every control and format
/// character and the other invisible ones `is_hidden_or_control` names. For text a client sends
/// that is kept and shown back rather than refused, such as its `User-Agent`.
pub fn without_hidden(text: &str) -> String {
    text.chars()
        .filter(|&c| !is_hidden_or_control(c) && !is_format(c))
        .collect()
}

/// Rejects text holding a control or invisible character.
pub fn visible_text(text: &str) -> Result<(), Invalid> {
    if text.chars().any(is_hidden_or_control) {
        return Err(Invalid::new(
            "invalid_characters",
            "must not contain control or invisible characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_separators_and_invisible_marks_are_refused() {
        for c in [
            '\u{2028}', '\u{2029}', '\u{00AD}', '\u{061C}', '\u{180E}', '\u{FFF9}', '\u{034F}',
            '\u{115F}', '\u{3164}',
        ] {
            assert!(visible_text(&format!("a{c}b")).is_err(), "{:04X}", c as u32);
        }
        assert!(visible_text("Zoë Ünal-O'Brien 李").is_ok());
        // England's flag: a black flag and tag characters.
        assert!(
            visible_text("\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}").is_ok()
        );
    }

    #[test]
    fn without_hidden_keeps_only_what_shows() {
        assert_eq!(
            without_hidden("Mozilla/5.0\t(X11;\u{202E}xuniL)\u{200B} Firefox/132.0\u{E0041}\r\n"),
            "Mozilla/5.0(X11;xuniL) Firefox/132.0"
        );
        assert_eq!(
            without_hidden("\u{FEFF}a\u{2066}b\u{2069}c\u{0600}d\u{2028}e\u{85}f\u{0}g"),
            "abcdefg"
        );
        assert_eq!(
            without_hidden("Zoë 李 🦀 (Windows NT 10.0)"),
            "Zoë 李 🦀 (Windows NT 10.0)"
        );
        for c in ['\u{061C}', '\u{200E}', '\u{2060}', '\u{1D173}', '\u{E0001}'] {
            assert!(is_format(c), "{:04X}", c as u32);
        }
        assert!(!is_format('a') && !is_format(' ') && !is_format('\u{0301}'));
    }

    #[test]
    fn rejects_controls_zero_width_and_bidi_overrides() {
        for bad in [
            "a\u{0}b",
            "a\nb",
            "a\u{1F}b",
            "a\u{7F}b",
            "a\u{85}b",
            "a\u{200B}b",
            "a\u{200D}b",
            "evil\u{202E}gpj.exe",
            "a\u{2066}b",
            "\u{FEFF}a",
            "a\u{2060}b",
        ] {
            assert!(visible_text(bad).is_err(), "{bad:?}");
        }
        for good in [
            "Ada Lovelace",
            "José",
            "山田 太郎",
            "O'Brien-Smith",
            "emoji 🦀",
        ] {
            assert!(visible_text(good).is_ok(), "{good:?}");
        }
    }
}
