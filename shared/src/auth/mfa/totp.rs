//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA1, a 30-second step,
//! 6 digits, and one step of clock skew either way.

use std::fmt;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use crate::domain::{TOTP_DIGITS, TotpCode};

/// Seconds a code lasts.
pub const STEP_SECS: i64 = 30;
/// Steps before and after the current one whose codes are still taken (a phone's clock off by
/// up to 30 s, or a code typed as it turned over).
pub const SKEW_STEPS: i64 = 1;
/// RFC 4226's recommended secret length: 160 bits, the size of an SHA-1 block's output.
pub const SECRET_BYTES: usize = 20;

/// A factor's shared secret. Never printed; shown once, base32, at enrolment.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("the system random generator is available");
        Self(bytes)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// A secret as `base32` shows it (padding and case forgiven); `None` if it is not base32.
    pub fn from_base32(text: &str) -> Option<Self> {
        let mut bytes = Vec::new();
        let (mut buffer, mut bits) = (0u32, 0u32);
        for c in text.trim_end_matches('=').bytes() {
            let value = match c.to_ascii_uppercase() {
                c @ b'A'..=b'Z' => c - b'A',
                c @ b'2'..=b'7' => c - b'2' + 26,
                _ => return None,
            };
            buffer = (buffer << 5) | u32::from(value);
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                bytes.push((buffer >> bits) as u8);
            }
        }
        Some(Self(bytes))
    }

    /// RFC 4648 base32 without padding, as authenticator apps take it.
    pub fn base32(&self) -> String {
        base32(&self.0)
    }

    /// The HOTP value of `counter` with `digits` digits (RFC 4226, section 5.3).
    pub fn hotp(&self, counter: u64, digits: u32) -> u32 {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &self.0);
        let mac = hmac::sign(&key, &counter.to_be_bytes());
        let mac = mac.as_ref();
        let offset = usize::from(mac[mac.len() - 1] & 0x0f);
        let binary = u32::from_be_bytes([
            mac[offset] & 0x7f,
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ]);
        binary % 10u32.pow(digits)
    }

    /// The 6-digit code of time step `step`, zero-padded.
    pub fn code_at(&self, step: i64) -> String {
        let digits = TOTP_DIGITS as u32;
        format!(
            "{:0width$}",
            self.hotp(step.max(0) as u64, digits),
            width = TOTP_DIGITS
        )
    }

    /// The time step `code` belongs to, if it is the code of the step at `now_ms` or of one
    /// within `SKEW_STEPS` of it: the latest such step (codes of different steps collide once
    /// in a million; the later one is what a replay check must see). Compared in constant time.
    pub fn step_of(&self, code: &TotpCode, now_ms: i64) -> Option<i64> {
        let now = step_at(now_ms);
        (now - SKEW_STEPS..=now + SKEW_STEPS).rev().find(|step| {
            verify_slices_are_equal(self.code_at(*step).as_bytes(), code.as_str().as_bytes())
                .is_ok()
        })
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(***)")
    }
}

/// The time step an instant (epoch ms) falls in.
pub fn step_at(now_ms: i64) -> i64 {
    now_ms.div_euclid(STEP_SECS * 1000)
}

fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The `otpauth://` URI an authenticator app reads (Google's Key Uri Format): the label
/// `issuer:account`, and the secret, issuer and parameters in the query.
pub fn provisioning_uri(issuer: &str, account: &str, secret: &TotpSecret) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={TOTP_DIGITS}&period={STEP_SECS}",
        percent_encode(issuer),
        percent_encode(account),
        secret.base32(),
        percent_encode(issuer),
    )
}

/// Every byte but RFC 3986's unreserved characters percent-encoded (so `:` in an issuer and
/// `+` or `@` in an address cannot be misread).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1: the secret is the ASCII string "12345678901234567890".
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        let vectors = [
            (59, 94287082),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ];
        for (time, expected) in vectors {
            let step = step_at(time * 1000);
            assert_eq!(secret.hotp(step as u64, 8), expected, "T = {time}");
            // Six digits are the last six of the eight.
            assert_eq!(
                secret.code_at(step),
                format!("{:06}", expected % 1_000_000),
                "T = {time}"
            );
        }
    }

    /// RFC 4226 appendix D: HOTP values of counters 0..9.
    #[test]
    fn rfc_4226_test_vectors() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, value) in expected.into_iter().enumerate() {
            assert_eq!(secret.hotp(counter as u64, 6), value);
        }
    }

    #[test]
    fn one_step_of_skew_either_way_is_taken_two_are_not() {
        let secret = TotpSecret::generate();
        let now = 1_700_000_015_000;
        let step = step_at(now);
        let code = |s: i64| TotpCode::parse(&secret.code_at(s)).unwrap();
        assert_eq!(secret.step_of(&code(step), now), Some(step));
        assert_eq!(secret.step_of(&code(step - 1), now), Some(step - 1));
        assert_eq!(secret.step_of(&code(step + 1), now), Some(step + 1));
        for far in [step - 2, step + 2, step - 10] {
            // A code of a far step may equal a near one's by chance (one in a million).
            if [step - 1, step, step + 1]
                .iter()
                .all(|near| secret.code_at(*near) != secret.code_at(far))
            {
                assert_eq!(secret.step_of(&code(far), now), None);
            }
        }
    }

    #[test]
    fn steps_split_time_in_thirty_seconds() {
        assert_eq!(step_at(0), 0);
        assert_eq!(step_at(29_999), 0);
        assert_eq!(step_at(30_000), 1);
        assert_eq!(step_at(59_000), 1);
    }

    #[test]
    fn base32_is_rfc_4648() {
        // RFC 4648 section 10, without padding.
        for (text, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(text.as_bytes()), encoded);
        }
        let secret = TotpSecret::generate();
        assert_eq!(secret.base32().len(), 32);
        assert_eq!(TotpSecret::from_base32(&secret.base32()), Some(secret));
        assert_eq!(
            TotpSecret::from_base32("MZXW6YTBOI").unwrap().as_bytes(),
            b"foobar"
        );
        assert_eq!(TotpSecret::from_base32("MZ1"), None);
    }

    #[test]
    fn the_provisioning_uri_names_issuer_account_and_parameters() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        assert_eq!(
            provisioning_uri("Acme Co", "ada+mfa@example.com", &secret),
            "otpauth://totp/Acme%20Co:ada%2Bmfa%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Acme%20Co&algorithm=SHA1&digits=6&period=30"
        );
        assert!(!format!("{secret:?}").contains("GEZ"));
    }
}
