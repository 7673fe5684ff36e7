use std::fmt;

use unicode_normalization::UnicodeNormalization;

use super::Invalid;
use super::text::is_hidden_or_control;

/// A normalised e-mail address of a plausible shape: trimmed, NFC, lower-cased, the domain in
/// its ASCII (IDNA) form. One mailbox has one spelling, so it can own one account:
/// `josé@exämple.com` and `josé@xn--exmple-cua.com` are the same address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

fn invalid() -> Invalid {
    Invalid::new("invalid_email", "must be a valid e-mail address")
}

fn local_part(raw: &str) -> Result<String, Invalid> {
    let local: String = raw.nfc().collect::<String>().to_lowercase();
    let ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| {
            !is_hidden_or_control(c) && (c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c))
        });
    if ok { Ok(local) } else { Err(invalid()) }
}

fn domain(raw: &str) -> Result<String, Invalid> {
    if raw.chars().any(is_hidden_or_control) {
        return Err(invalid());
    }
    // UTS 46 processing: NFC, case folding, and punycode for every non-ASCII label.
    let domain = idna::domain_to_ascii(raw).map_err(|_| invalid())?;
    let ok = domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok { Ok(domain) } else { Err(invalid()) }
}

impl Email {
    pub fn parse(raw: impl AsRef<str>) -> Result<Self, Invalid> {
        let raw = raw.as_ref().trim();
        if raw.is_empty() || raw.len() > 320 {
            return Err(invalid());
        }
        let (local, host) = raw.rsplit_once('@').ok_or_else(invalid)?;
        let email = format!("{}@{}", local_part(local)?, domain(host)?);
        if email.len() > 254 {
            return Err(invalid());
        }
        Ok(Self(email))
    }

    /// An address as a person typed it: the parsed address when it parses, and the key it is
    /// counted under (by the sign-in lock and the request limits), which is the normalised
    /// address, or the trimmed, lower-cased input for one that cannot belong to anyone.
    pub fn as_typed(raw: &str) -> (Option<Self>, String) {
        match Self::parse(raw) {
            Ok(email) => {
                let counted = email.0.clone();
                (Some(email), counted)
            }
            Err(_) => (None, raw.trim().to_lowercase()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        let email = Email::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "ada.lovelace@example.com");
    }

    #[test]
    fn an_address_as_typed_is_counted_under_one_key() {
        let (parsed, counted) = Email::as_typed(" Ada@Example.COM ");
        assert_eq!(parsed.unwrap().as_str(), "ada@example.com");
        assert_eq!(counted, "ada@example.com");
        let (parsed, counted) = Email::as_typed("  Not An Address ");
        assert!(parsed.is_none());
        assert_eq!(counted, "not an address");
    }

    #[test]
    fn one_mailbox_has_one_spelling() {
        let unicode = Email::parse("josé@exämple.com").unwrap();
        let punycode = Email::parse("josé@xn--exmple-cua.com").unwrap();
        let decomposed = Email::parse("jose\u{301}@exa\u{308}mple.com").unwrap();
        let upper = Email::parse("JOSÉ@EXÄMPLE.COM").unwrap();
        assert_eq!(unicode.as_str(), "josé@xn--exmple-cua.com");
        assert_eq!(unicode, punycode);
        assert_eq!(unicode, decomposed);
        assert_eq!(unicode, upper);
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a b@example.com",
            "a@@example.com",
            "a@-example.com",
            ".a@example.com",
            "a..b@example.com",
            "a@exa_mple.com",
            "a\u{200B}@example.com",
            "a@exam\u{200B}ple.com",
            "a\u{202E}@example.com",
            "a\u{0}@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Email::parse(format!("{}@example.com", "a".repeat(65))).is_err());
    }
}
