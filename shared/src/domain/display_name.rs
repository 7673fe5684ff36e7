use unicode_normalization::UnicodeNormalization;

use super::Invalid;
use super::text::visible_text;

pub const MAX_CHARS: usize = 100;

/// A user's display name: NFC, trimmed, 1..=100 characters, nothing invisible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: impl AsRef<str>) -> Result<Self, Invalid> {
        let name: String = raw.as_ref().trim().nfc().collect();
        if name.is_empty() {
            return Err(Invalid::new("required", "must not be empty"));
        }
        if name.chars().count() > MAX_CHARS {
            return Err(Invalid::new(
                "too_long",
                format!("must be at most {MAX_CHARS} characters"),
            ));
        }
        visible_text(&name)?;
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds_length() {
        assert_eq!(DisplayName::parse("  Ada ").unwrap().as_str(), "Ada");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse("a".repeat(100)).is_ok());
        assert!(DisplayName::parse("a".repeat(101)).is_err());
        assert!(DisplayName::parse("a\u{0}b").is_err());
        assert!(DisplayName::parse("admin\u{200B}").is_err());
        assert!(DisplayName::parse("abc\u{202E}fed").is_err());
    }

    #[test]
    fn composes_to_nfc() {
        let decomposed = DisplayName::parse("Jose\u{301}").unwrap();
        assert_eq!(decomposed.as_str(), "Jos\u{e9}");
    }
}
