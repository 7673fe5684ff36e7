//! Rules shared by every free-text field a person types once and others read (names, titles).

use super::Invalid;

/// Characters that render as nothing or reorder what follows: C0/C1 controls, zero-width
/// characters, bidirectional overrides and isolates, the byte-order mark. A name holding one
/// can impersonate another or hide text.
pub fn is_hidden_or_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
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
