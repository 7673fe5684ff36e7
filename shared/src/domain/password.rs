use std::fmt;

use unicode_normalization::UnicodeNormalization;

use super::{Email, Invalid};

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 128;

/// What is hashed and compared: the password in Unicode NFKC (NIST 800-63B 5.1.1.2), so the same
/// password typed on another keyboard or system is the same password: `ä` precomposed or as `a`
/// plus a combining diaeresis, full-width `ｐａｓｓ` or `pass`, the ligature `ﬁ` or `fi`. A password
/// of ASCII characters is its own NFKC form.
fn normalize(typed: &str) -> String {
    typed.nfkc().collect()
}

/// A new password that meets the policy (OWASP / NIST 800-63B: length only, no composition
/// rules), held normalised. Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// `email` is the account's own address, which may not be used as its password. The length
    /// is counted in characters as typed (as the API's schema counts them).
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
        // Nobody types one on purpose, and a client that sends one (NUL padding, a pasted tab or
        // line break) would hold a password its owner cannot type again.
        if raw.chars().any(char::is_control) {
            return Err(Invalid::new(
                "password_control_characters",
                "must not contain control characters (U+0000 to U+001F, U+007F to U+009F: NUL, \
                 tab, line breaks and the like)",
            ));
        }
        let password = normalize(&raw);
        if email.is_some_and(|email| password.trim().eq_ignore_ascii_case(email.as_str())) {
            return Err(Invalid::new(
                "same_as_email",
                "must not be your e-mail address",
            ));
        }
        Ok(Self(password))
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

    /// The normalised password: what is hashed and checked against breaches.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A password typed to prove who one is (sign-in, confirming a change or a deletion): no policy
/// applies (it may predate the policy), only the normalisation, so it compares with what
/// `Password::parse` hashed.
#[derive(Clone)]
pub struct EnteredPassword {
    normalized: String,
    typed: String,
}

impl EnteredPassword {
    pub fn new(typed: &str) -> Self {
        Self {
            normalized: normalize(typed),
            typed: typed.to_owned(),
        }
    }

    /// What a hash made from a `Password` is checked against.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The password exactly as typed: what a hash made before passwords were normalised is
    /// checked against (it was hashed as typed then).
    pub fn as_typed(&self) -> &str {
        &self.typed
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl fmt::Debug for EnteredPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnteredPassword(***)")
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
        // Full-width, it is still the address.
        let err =
            Password::parse("ａｄａ＠ｅｘａｍｐｌｅ.ｃｏｍ".into(), Some(&email)).unwrap_err();
        assert_eq!(err.code, "same_as_email");
    }

    #[test]
    fn debug_hides_the_secret() {
        let password = Password::parse("correct horse".into(), None).unwrap();
        assert!(!format!("{password:?}").contains("horse"));
        let entered = EnteredPassword::new("correct horse");
        assert!(!format!("{entered:?}").contains("horse"));
    }

    #[test]
    fn one_password_however_it_was_typed() {
        let composed = Password::parse("päss wörd 9x".into(), None).unwrap();
        let decomposed = Password::parse("pa\u{308}ss wo\u{308}rd 9x".into(), None).unwrap();
        assert_eq!(composed.expose(), decomposed.expose());
        let full_width = Password::parse("ｐａｓｓｗｏｒｄ１２３".into(), None).unwrap();
        assert_eq!(full_width.expose(), "password123");
        assert_eq!(
            Password::parse("ﬁne ﬁne ﬁne".into(), None)
                .unwrap()
                .expose(),
            "fine fine fine"
        );
        let entered = EnteredPassword::new("pa\u{308}ss wo\u{308}rd 9x");
        assert_eq!(entered.normalized(), composed.expose());
        assert_eq!(entered.as_typed(), "pa\u{308}ss wo\u{308}rd 9x");
        // ASCII is its own normal form.
        let ascii = "correct horse battery";
        assert_eq!(Password::parse(ascii.into(), None).unwrap().expose(), ascii);
        assert_eq!(EnteredPassword::new(ascii).normalized(), ascii);
    }

    #[test]
    fn control_characters_are_refused() {
        for bad in [
            "\0".repeat(8),
            "password\0".into(),
            "tab\tseparated".into(),
            "two\nlines here".into(),
            "carriage\rreturn".into(),
            "escape\u{1b}[31m red".into(),
            "delete\u{7f}this one".into(),
            "c1 control\u{85}here".into(),
        ] {
            assert_eq!(
                Password::parse(bad.clone(), None).unwrap_err().code,
                "password_control_characters",
                "{bad:?}"
            );
        }
        // Spaces, non-ASCII letters, emoji and invisible-but-typeable marks stay allowed.
        for good in [
            "  spaced  out  ",
            "Ünïcödé pässwörd",
            "🦀🦀🦀🦀 crab",
            "zero\u{200D}width ok",
        ] {
            assert!(Password::parse(good.into(), None).is_ok(), "{good:?}");
        }
        // A sign-in is not judged: an old password is checked as it is.
        assert_eq!(EnteredPassword::new("old\tone").as_typed(), "old\tone");
    }
}
