//! Opaque 256-bit refresh tokens. Only their SHA-256 is stored.

use std::fmt;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const TOKEN_BYTES: usize = 32;

#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken([u8; TOKEN_BYTES]);

impl RefreshToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; TOKEN_BYTES];
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("the system random generator is available");
        Self(bytes)
    }

    /// `None` for anything that is not the encoding of 32 bytes.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        bytes.try_into().ok().map(Self)
    }

    pub fn expose(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// The storage key: SHA-256 of the token, so a leaked table holds no usable token.
    pub fn hash(&self) -> String {
        URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &self.0))
    }

    /// This token's successor. Deterministic, so requests racing on the same token within the
    /// grace window all receive the same new token (one family head), and unguessable without
    /// the server's rotation key.
    pub fn successor(&self, rotation_key: &hmac::Key) -> Self {
        let tag = hmac::sign(rotation_key, &self.0);
        let mut bytes = [0u8; TOKEN_BYTES];
        bytes.copy_from_slice(&tag.as_ref()[..TOKEN_BYTES]);
        Self(bytes)
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_256_bits_and_parses_back() {
        let token = RefreshToken::generate();
        let text = token.expose();
        assert_eq!(text.len(), 43);
        assert_eq!(RefreshToken::parse(&text), Some(token));
    }

    #[test]
    fn rejects_malformed_text() {
        assert_eq!(RefreshToken::parse(""), None);
        assert_eq!(RefreshToken::parse("not base64 !!"), None);
        assert_eq!(
            RefreshToken::parse(&URL_SAFE_NO_PAD.encode([0u8; 31])),
            None
        );
    }

    #[test]
    fn successor_is_deterministic_and_key_bound() {
        let token = RefreshToken::generate();
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"0123456789abcdef0123456789abcdef");
        let other = hmac::Key::new(hmac::HMAC_SHA256, b"fedcba9876543210fedcba9876543210");
        assert_eq!(token.successor(&key), token.successor(&key));
        assert_ne!(token.successor(&key), token.successor(&other));
        assert_ne!(token.successor(&key), token);
    }

    #[test]
    fn hash_differs_from_the_token() {
        let token = RefreshToken::generate();
        assert_ne!(token.hash(), token.expose());
        assert!(!format!("{token:?}").contains(&token.expose()));
    }
}
