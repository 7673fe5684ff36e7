use std::fmt;

use super::{Email, Invalid};

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 128;

/// A password that meets the policy (OWASP / NIST 800-63B: length only, no composition rules).
/// Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// `email` is the account's own address, which may not be used as its password.
    pub fn parse(raw: String, email: Option<&Email>) -> Result<Self, Invalid> {
        let chars = raw.chars().count();
        if chars < MIN_CHARS {
            return Err(Invalid::new(
                "too_short",
                format!("must be at least {MIN_CHARS} characters"),
            ));
        }
        if chars > MAX_CHARS {
            return Err(Invalid::new(
                "too_long",
                format!("must be at most {MAX_CHARS} characters"),
            ));
        }
        if email.is_some_and(|email| raw.trim().eq_ignore_ascii_case(email.as_str())) {
            return Err(Invalid::new(
                "same_as_email",
                "must not be your e-mail address",
            ));
        }
        Ok(Self(raw))
    }

    /// Why a password that meets the policy is still refused: it appears in known breaches
    /// (`auth::breached`), so attackers try it first.
    pub fn breached() -> Invalid {
        Invalid::new(
            "password_breached",
            "appears in a list of passwords exposed in data breaches, so attackers try it \
             early; choose another one (a few unrelated words make a strong one)",
        )
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enforces_length_in_characters_not_bytes() {
        assert_eq!(
            Password::parse("short".into(), None).unwrap_err().code,
            "too_short"
        );
        assert!(Password::parse("ééééééé".into(), None).is_err());
        assert!(Password::parse("éééééééé".into(), None).is_ok());
        assert!(Password::parse("x".repeat(128), None).is_ok());
        assert_eq!(
            Password::parse("x".repeat(129), None).unwrap_err().code,
            "too_long"
        );
    }

    #[test]
    fn has_no_composition_rules() {
        assert!(Password::parse("all lowercase words".into(), None).is_ok());
    }

    #[test]
    fn rejects_the_email_itself() {
        let email = Email::parse("ada@example.com").unwrap();
        let err = Password::parse("ADA@example.com".into(), Some(&email)).unwrap_err();
        assert_eq!(err.code, "same_as_email");
    }

    #[test]
    fn debug_hides_the_secret() {
        let password = Password::parse("correct horse".into(), None).unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
