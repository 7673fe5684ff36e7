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
