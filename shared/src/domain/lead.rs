//! A lead: someone who left a phone number on the public form for a human to call back.

use super::Invalid;
use super::text::visible_text;

pub const MAX_SOURCE_CHARS: usize = 100;
pub const MAX_LEAD_NAME_CHARS: usize = 100;
pub const MAX_MESSAGE_CHARS: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadStatus {
    New,
    Contacted,
    Closed,
}

impl LeadStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::New => "new",
            LeadStatus::Contacted => "contacted",
            LeadStatus::Closed => "closed",
        }
    }

    pub fn parse(raw: impl AsRef<str>) -> Result<Self, Invalid> {
        match raw.as_ref() {
            "new" => Ok(LeadStatus::New),
            "contacted" => Ok(LeadStatus::Contacted),
            "closed" => Ok(LeadStatus::Closed),
            _ => Err(Invalid::new(
                "invalid_status",
                "must be new, contacted or closed",
            )),
        }
    }
}

/// Trimmed free text of at most `max` characters, nothing hidden in it.
pub fn bounded_text(raw: &str, max: usize, required: bool) -> Result<Option<String>, Invalid> {
    let text = raw.trim();
    if text.is_empty() {
        return if required {
            Err(Invalid::new("required", "must not be empty"))
        } else {
            Ok(None)
        };
    }
    if text.chars().count() > max {
        return Err(Invalid::new(
            "too_long",
            format!("must be at most {max} characters"),
        ));
    }
    // Messages may span lines (any line break, the Unicode separators included); nothing else
    // invisible.
    let single_line: String = text.replace(['\n', '\r', '\t', '\u{2028}', '\u{2029}'], " ");
    visible_text(&single_line)?;
    Ok(Some(text.to_owned()))
}

/// Like `bounded_text`, on one line (names, sources).
pub fn bounded_line(raw: &str, max: usize, required: bool) -> Result<Option<String>, Invalid> {
    if raw
        .trim()
        .contains(['\n', '\r', '\t', '\u{2028}', '\u{2029}'])
    {
        return Err(Invalid::new("invalid_characters", "must be one line"));
    }
    bounded_text(raw, max, required)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    pub id: String,
    /// E.164, as the leads function parsed it.
    pub phone: String,
    pub source: String,
    pub name: Option<String>,
    pub message: Option<String>,
    pub status: LeadStatus,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: u64,
}

impl Lead {
    pub fn new(
        phone: String,
        source: String,
        name: Option<String>,
        message: Option<String>,
        now: i64,
    ) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            phone,
            source,
            name,
            message,
            status: LeadStatus::New,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    pub fn with_status(&self, status: LeadStatus, now: i64) -> Self {
        Self {
            status,
            updated_at: now,
            version: self.version + 1,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_is_trimmed_bounded_and_visible() {
        assert_eq!(
            bounded_text("  hi ", 10, true).unwrap().as_deref(),
            Some("hi")
        );
        assert_eq!(bounded_text("  ", 10, false).unwrap(), None);
        assert!(bounded_text("  ", 10, true).is_err());
        assert!(bounded_text(&"x".repeat(11), 10, true).is_err());
        assert!(bounded_text("a\u{202E}b", 10, true).is_err());
        assert_eq!(
            bounded_text("two\nlines", 20, true).unwrap().as_deref(),
            Some("two\nlines")
        );
        assert!(bounded_line("two\r\nlines", 20, true).is_err());
        assert_eq!(
            bounded_line(" one ", 20, true).unwrap().as_deref(),
            Some("one")
        );
    }
}
