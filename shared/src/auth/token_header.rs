//! An access token's JOSE header, read strictly before any key is looked up. Ours are
//! `{"typ":"JWT","alg":...,"kid":...}`; a header with any other member is refused, so none can
//! bring its own key (`jwk`, `jku`, `x5u`, `x5c`), demand an extension we do not implement
//! (`crit`) or change what is signed (`b64`). A member given twice is refused too.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::{Deserialize, Serialize};

/// The longest header we read: ours are under 100 bytes.
const MAX_ENCODED_LEN: usize = 512;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenHeader {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    alg: String,
    pub kid: String,
}

impl TokenHeader {
    pub fn new(alg: Algorithm, kid: &str) -> Self {
        Self {
            typ: Some("JWT".into()),
            alg: algorithm_name(alg).to_owned(),
            kid: kid.to_owned(),
        }
    }

    /// The header of a compact JWS (three dot-separated parts), if it is one of ours in shape.
    pub fn read(token: &str) -> Option<Self> {
        let mut parts = token.split('.');
        let encoded = parts.next()?;
        if parts.count() != 2 || encoded.len() > MAX_ENCODED_LEN {
            return None;
        }
        let header: Self = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()?;
        if header.typ.as_deref().is_some_and(|typ| typ != "JWT") {
            return None;
        }
        Some(header)
    }

    /// The algorithm the header names, if it is one we sign with.
    pub fn alg(&self) -> Option<Algorithm> {
        [Algorithm::EdDSA, Algorithm::ES256, Algorithm::HS256]
            .into_iter()
            .find(|alg| algorithm_name(*alg) == self.alg)
    }
}

fn algorithm_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::EdDSA => "EdDSA",
        Algorithm::ES256 => "ES256",
        Algorithm::HS256 => "HS256",
        // Nothing signs with the others; a header naming one has no key here.
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(header: &str) -> String {
        format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(header))
    }

    #[test]
    fn reads_our_headers() {
        let header =
            TokenHeader::read(&token(r#"{"typ":"JWT","alg":"EdDSA","kid":"k1"}"#)).unwrap();
        assert_eq!(
            (header.alg(), header.kid.as_str()),
            (Some(Algorithm::EdDSA), "k1")
        );
        let ours = serde_json::to_string(&TokenHeader::new(Algorithm::ES256, "k2")).unwrap();
        assert_eq!(ours, r#"{"typ":"JWT","alg":"ES256","kid":"k2"}"#);
    }

    #[test]
    fn refuses_headers_that_bring_keys_extensions_or_ambiguity() {
        for header in [
            r#"{"alg":"EdDSA","kid":"k1","jwk":{"kty":"OKP","crv":"Ed25519","x":"AA"}}"#,
            r#"{"alg":"EdDSA","kid":"k1","jku":"https://evil.example/jwks.json"}"#,
            r#"{"alg":"EdDSA","kid":"k1","x5u":"https://evil.example/cert.pem"}"#,
            r#"{"alg":"EdDSA","kid":"k1","x5c":["MIIB"]}"#,
            r#"{"alg":"EdDSA","kid":"k1","crit":["exp"],"exp":1}"#,
            r#"{"alg":"EdDSA","kid":"k1","b64":false,"crit":["b64"]}"#,
            r#"{"alg":"EdDSA","kid":"k1","alg":"HS256"}"#,
            r#"{"alg":"EdDSA","kid":"k1","typ":"JWE"}"#,
            r#"{"alg":"EdDSA"}"#,
            r#"{"kid":"k1"}"#,
            r#"{"alg":"EdDSA","kid":7}"#,
            "not json",
        ] {
            assert!(TokenHeader::read(&token(header)).is_none(), "{header}");
        }
        assert!(TokenHeader::read("eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.e30").is_none());
        assert!(TokenHeader::read(&format!("{}.e30.c2ln", "A".repeat(600))).is_none());
    }

    #[test]
    fn names_no_algorithm_we_do_not_sign_with() {
        for alg in ["none", "None", "RS256", "HS512", "ES384", "Ed25519", ""] {
            let header =
                TokenHeader::read(&token(&format!(r#"{{"alg":"{alg}","kid":"k1"}}"#))).unwrap();
            assert_eq!(header.alg(), None, "{alg}");
        }
    }
}
