//! Second factors as a user types them: a one-time code from an authenticator app (RFC 6238)
//! and a single-use recovery code kept from enrolment.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

use super::Invalid;

/// Digits of a one-time code.
pub const TOTP_DIGITS: usize = 6;
/// Characters of a recovery code (without its hyphen).
pub const RECOVERY_CODE_CHARS: usize = 10;
/// What a recovery code is written in: Crockford's base 32, lower case (no `i`, `l`, `o`, `u`;
/// typed, `o` reads as `0` and `i`/`l` as `1`), 5 bits a character.
pub const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Six decimal digits. Read in NFKC (full-width digits from an input method are digits) and
/// spaces dropped (apps show `123 456`); nothing else is forgiven.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCode(String);

impl TotpCode {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        digits(raw, TOTP_DIGITS, |c| c.is_whitespace()).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `raw` read in NFKC, `skip` characters dropped, as exactly `count` ASCII digits.
fn digits(raw: &str, count: usize, skip: fn(char) -> bool) -> Result<String, Invalid> {
    let code: String = raw.nfkc().filter(|c| !skip(*c)).collect();
    let message = || format!("must be {count} digits");
    if !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(Invalid::new("not_digits", message()));
    }
    if code.len() != count {
        return Err(Invalid::new("wrong_length", message()));
    }
    Ok(code)
}

/// Digits of a code mailed for sign-in: eight, so that guessing at the rate the account's lock
/// allows stays hopeless over months.
pub const MAILED_CODE_DIGITS: usize = 8;

/// A mailed sign-in code as typed: eight digits, read like `TotpCode` and forgiving the
/// spaces and hyphens people type between groups (the mail shows `1234 5678`).
#[derive(Clone, PartialEq, Eq)]
pub struct MailedSignInCode(String);

impl MailedSignInCode {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        digits(raw, MAILED_CODE_DIGITS, |c| c.is_whitespace() || c == '-').map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MailedSignInCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MailedSignInCode(***)")
    }
}

impl fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpCode(***)")
    }
}

/// A recovery code, normalised: 10 characters of `RECOVERY_ALPHABET`, lower case. Typed as
/// shown (`abcde-23456`) or without the hyphen, in any case, with spaces, in NFKC.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl RecoveryCode {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let code: String = raw
            .nfkc()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| match c.to_ascii_lowercase() {
                'o' => '0',
                'i' | 'l' => '1',
                c => c,
            })
            .collect();
        if code.chars().count() != RECOVERY_CODE_CHARS {
            return Err(Invalid::new(
                "wrong_length",
                "must be 10 letters and digits (xxxxx-xxxxx)",
            ));
        }
        if !code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)) {
            return Err(Invalid::new(
                "invalid_characters",
                "is not a recovery code (xxxxx-xxxxx)",
            ));
        }
        Ok(Self(code))
    }

    /// The code as stored and hashed: no hyphen.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As shown to the user: `abcde-23456`.
    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..5], &self.0[5..])
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_spaces_aside() {
        assert_eq!(TotpCode::parse("123456").unwrap().as_str(), "123456");
        assert_eq!(TotpCode::parse(" 123 456 ").unwrap().as_str(), "123456");
        assert_eq!(TotpCode::parse("12345").unwrap_err().code, "wrong_length");
        assert_eq!(TotpCode::parse("1234567").unwrap_err().code, "wrong_length");
        assert_eq!(TotpCode::parse("").unwrap_err().code, "wrong_length");
        assert_eq!(TotpCode::parse("12345a").unwrap_err().code, "not_digits");
        // Typed with an input method: full-width digits and space read as ASCII (NFKC).
        assert_eq!(
            TotpCode::parse("１２３\u{3000}４５６").unwrap().as_str(),
            "123456"
        );
        assert_eq!(TotpCode::parse("١٢٣٤٥٦").unwrap_err().code, "not_digits");
        assert_eq!(TotpCode::parse("-12345").unwrap_err().code, "not_digits");
        assert!(!format!("{:?}", TotpCode::parse("123456").unwrap()).contains("123"));
    }

    #[test]
    fn recovery_codes_read_as_shown_or_without_the_hyphen() {
        let code = RecoveryCode::parse("ABCDE-23456").unwrap();
        assert_eq!(code.as_str(), "abcde23456");
        assert_eq!(code.display(), "abcde-23456");
        assert_eq!(RecoveryCode::parse(" abcde 23456 ").unwrap(), code);
        assert_eq!(
            RecoveryCode::parse("abcde-2345").unwrap_err().code,
            "wrong_length"
        );
        // Read as Crockford's base 32 is: `o` is `0`, `i` and `l` are `1`; `u` is nothing.
        assert_eq!(
            RecoveryCode::parse("ABCDE-2345O").unwrap().as_str(),
            "abcde23450"
        );
        assert_eq!(
            RecoveryCode::parse("ilcde-23456").unwrap().as_str(),
            "11cde23456"
        );
        assert_eq!(
            RecoveryCode::parse("abcde-2345u").unwrap_err().code,
            "invalid_characters"
        );
        assert_eq!(
            RecoveryCode::parse("abcdé-23456").unwrap_err().code,
            "invalid_characters"
        );
        assert!(!format!("{code:?}").contains("abc"));
    }
}
