//! Asymmetric access-token keys as JSON Web Keys (RFC 7517, RFC 8037): Ed25519 for `EdDSA` and
//! P-256 for `ES256`. The private form is what the key-set secret holds; the public form (the
//! same members without `d`) is what the JWKS publishes.

use std::fmt;

use aws_lc_rs::encoding::AsBigEndian;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::{Deserialize, Serialize};

/// The algorithm access tokens are signed with (`ACCESS_TOKEN_ALG`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SigningAlg {
    /// Ed25519: small keys and signatures, deterministic, fast.
    #[default]
    EdDSA,
    /// ECDSA on P-256 with SHA-256, for verifiers without Ed25519.
    ES256,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 2] = [SigningAlg::EdDSA, SigningAlg::ES256];

    pub fn name(self) -> &'static str {
        match self {
            SigningAlg::EdDSA => "EdDSA",
            SigningAlg::ES256 => "ES256",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.name() == name)
    }

    pub(crate) fn algorithm(self) -> Algorithm {
        match self {
            SigningAlg::EdDSA => Algorithm::EdDSA,
            SigningAlg::ES256 => Algorithm::ES256,
        }
    }

    /// JWK `kty` and `crv` of this algorithm's keys, and the byte length of each coordinate.
    fn curve(self) -> (&'static str, &'static str, usize) {
        match self {
            SigningAlg::EdDSA => ("OKP", "Ed25519", 32),
            SigningAlg::ES256 => ("EC", "P-256", 32),
        }
    }
}

impl fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A signing key as the secret holds it: a private JWK.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivateJwk {
    pub kid: String,
    pub alg: String,
    pub kty: String,
    pub crv: String,
    pub x: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    pub d: String,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub public_key_use: Option<String>,
}

impl fmt::Debug for PrivateJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateJwk")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// What the JWKS shows of a signing key. It has no member for private material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicJwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub x: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    pub kid: String,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub public_key_use: &'static str,
}

enum Pair {
    Ed25519(Ed25519KeyPair),
    P256(EcdsaKeyPair),
}

/// A loaded signing key: its key pair, parsed once, and its public half.
pub(crate) struct SigningKey {
    kid: String,
    alg: SigningAlg,
    pair: Pair,
    public: PublicJwk,
}

/// A kid of a signing key: what appears in token headers and the JWKS.
fn valid_kid(kid: &str) -> bool {
    (1..=64).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn decode_coordinate(kid: &str, name: &str, text: &str, len: usize) -> Result<Vec<u8>, String> {
    match URL_SAFE_NO_PAD.decode(text) {
        Ok(bytes) if bytes.len() == len => Ok(bytes),
        _ => Err(format!(
            "signing key `{kid}`: `{name}` must be {len} bytes in unpadded base64url"
        )),
    }
}

impl SigningKey {
    /// Loads a private JWK, refusing any inconsistency: an unknown `alg`, a `kty`/`crv` that is
    /// not that algorithm's, or a public key that is not the private key's.
    pub(crate) fn from_jwk(jwk: &PrivateJwk) -> Result<Self, String> {
        let kid = &jwk.kid;
        if !valid_kid(kid) {
            return Err(format!(
                "signing key id `{kid}` must be 1..=64 characters of A-Z a-z 0-9 - _ ."
            ));
        }
        let alg = SigningAlg::parse(&jwk.alg)
            .ok_or_else(|| format!("signing key `{kid}`: alg must be EdDSA or ES256"))?;
        let (kty, crv, len) = alg.curve();
        if jwk.kty != kty || jwk.crv != crv {
            return Err(format!(
                "signing key `{kid}`: an {alg} key has kty {kty} and crv {crv}"
            ));
        }
        if jwk.public_key_use.as_deref().is_some_and(|u| u != "sig") {
            return Err(format!("signing key `{kid}`: use must be sig"));
        }
        let d = decode_coordinate(kid, "d", &jwk.d, len)?;
        let x = decode_coordinate(kid, "x", &jwk.x, len)?;
        let inconsistent = || format!("signing key `{kid}`: x/y are not d's public key");
        let pair = match alg {
            SigningAlg::EdDSA => {
                if jwk.y.is_some() {
                    return Err(format!("signing key `{kid}`: an Ed25519 key has no y"));
                }
                Pair::Ed25519(
                    Ed25519KeyPair::from_seed_and_public_key(&d, &x).map_err(|_| inconsistent())?,
                )
            }
            SigningAlg::ES256 => {
                let y = jwk
                    .y
                    .as_deref()
                    .ok_or_else(|| format!("signing key `{kid}`: an ES256 key needs y"))?;
                let point = [&[0x04][..], &x, &decode_coordinate(kid, "y", y, len)?].concat();
                Pair::P256(
                    EcdsaKeyPair::from_private_key_and_public_key(
                        &ECDSA_P256_SHA256_FIXED_SIGNING,
                        &d,
                        &point,
                    )
                    .map_err(|_| inconsistent())?,
                )
            }
        };
        Ok(Self::new(kid.clone(), alg, pair))
    }

    /// A fresh key of `alg` and its private JWK (for the secret).
    pub(crate) fn generate(alg: SigningAlg, kid: String) -> PrivateJwk {
        let failed = "the system random generator is available";
        let (pair, d) = match alg {
            SigningAlg::EdDSA => {
                let pair = Ed25519KeyPair::generate().expect(failed);
                let seed = pair.seed().and_then(|s| s.as_be_bytes()).expect(failed);
                let d = URL_SAFE_NO_PAD.encode(seed.as_ref());
                (Pair::Ed25519(pair), d)
            }
            SigningAlg::ES256 => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect(failed);
                let d = pair.private_key().as_be_bytes().expect(failed);
                let d = URL_SAFE_NO_PAD.encode(d.as_ref());
                (Pair::P256(pair), d)
            }
        };
        let key = Self::new(kid, alg, pair);
        let public = key.public;
        PrivateJwk {
            kid: public.kid,
            alg: public.alg.to_owned(),
            kty: public.kty.to_owned(),
            crv: public.crv.to_owned(),
            x: public.x,
            y: public.y,
            d,
            public_key_use: Some("sig".into()),
        }
    }

    fn new(kid: String, alg: SigningAlg, pair: Pair) -> Self {
        let (kty, crv, len) = alg.curve();
        let (x, y) = match &pair {
            Pair::Ed25519(pair) => (URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()), None),
            // An uncompressed point: 0x04, then x, then y.
            Pair::P256(pair) => {
                let point = pair.public_key().as_ref();
                (
                    URL_SAFE_NO_PAD.encode(&point[1..1 + len]),
                    Some(URL_SAFE_NO_PAD.encode(&point[1 + len..])),
                )
            }
        };
        let public = PublicJwk {
            kty,
            crv,
            x,
            y,
            kid: kid.clone(),
            alg: alg.name(),
            public_key_use: "sig",
        };
        Self {
            kid,
            alg,
            pair,
            public,
        }
    }

    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    pub(crate) fn alg(&self) -> SigningAlg {
        self.alg
    }

    pub(crate) fn public_jwk(&self) -> &PublicJwk {
        &self.public
    }

    /// The public key as the verifier takes it (raw Ed25519 key; uncompressed P-256 point).
    pub(crate) fn decoding_key(&self) -> DecodingKey {
        match &self.pair {
            Pair::Ed25519(pair) => DecodingKey::from_ed_der(pair.public_key().as_ref()),
            Pair::P256(pair) => DecodingKey::from_ec_der(pair.public_key().as_ref()),
        }
    }

    /// The JWS signature of `message`: 64 bytes either way (ES256's is `r || s`, as JWS wants).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        match &self.pair {
            Pair::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Pair::P256(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|_| "ECDSA signing failed".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_load_back_and_publish_no_private_member() {
        for alg in SigningAlg::ALL {
            let jwk = SigningKey::generate(alg, format!("{alg}-1"));
            let key = SigningKey::from_jwk(&jwk).unwrap();
            assert_eq!(key.alg(), alg);
            let public = serde_json::to_value(key.public_jwk()).unwrap();
            assert!(public.get("d").is_none(), "{public}");
            assert_eq!(public["alg"], alg.name());
            assert_eq!(public["use"], "sig");
            assert_eq!(public["x"], jwk.x.as_str());
            assert_eq!(key.sign(b"message").unwrap().len(), 64);
        }
    }

    #[test]
    fn refuses_inconsistent_or_foreign_keys() {
        let ed = SigningKey::generate(SigningAlg::EdDSA, "ed".into());
        let other = SigningKey::generate(SigningAlg::EdDSA, "other".into());
        let es = SigningKey::generate(SigningAlg::ES256, "es".into());
        let cases = [
            // Another key's public half.
            PrivateJwk {
                x: other.x.clone(),
                ..ed.clone()
            },
            PrivateJwk {
                alg: "ES256".into(),
                ..ed.clone()
            },
            PrivateJwk {
                alg: "HS256".into(),
                ..ed.clone()
            },
            PrivateJwk {
                alg: "none".into(),
                ..ed.clone()
            },
            PrivateJwk {
                crv: "X25519".into(),
                ..ed.clone()
            },
            PrivateJwk {
                d: format!("{}==", ed.d),
                ..ed.clone()
            },
            PrivateJwk {
                kid: "a kid with spaces".into(),
                ..ed.clone()
            },
            PrivateJwk {
                y: es.y.clone(),
                ..ed.clone()
            },
            PrivateJwk {
                y: None,
                ..es.clone()
            },
            PrivateJwk {
                y: Some(other.x.clone()),
                ..es.clone()
            },
            PrivateJwk {
                public_key_use: Some("enc".into()),
                ..es.clone()
            },
        ];
        for jwk in cases {
            assert!(SigningKey::from_jwk(&jwk).is_err(), "{:?}", jwk.kid);
        }
        assert!(
            serde_json::from_str::<PrivateJwk>(
                r#"{"kid":"k","alg":"EdDSA","kty":"OKP","crv":"Ed25519","x":"","d":"","p":""}"#
            )
            .is_err()
        );
    }

    #[test]
    fn debug_shows_no_key_material() {
        let jwk = SigningKey::generate(SigningAlg::ES256, "es".into());
        let printed = format!("{jwk:?}");
        assert!(!printed.contains(&jwk.d), "{printed}");
    }
}
