//! argon2id with the OWASP parameters (m = 19456 KiB, t = 2, p = 1), PHC string format.
//! Hashing runs on the blocking pool so it never stalls other requests.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use crate::domain::Password;
use crate::http::ApiError;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_sync(password: &str) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| ApiError::Internal("no system randomness".into()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| ApiError::Internal(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ApiError::Internal(format!("hashing a password: {e}")))
}

/// A real hash of a random password, so a login for an unknown e-mail costs the same time.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_sync(&uuid::Uuid::new_v4().to_string()).unwrap_or_default())
}

pub async fn hash_password(password: &Password) -> Result<String, ApiError> {
    let password = password.expose().to_owned();
    tokio::task::spawn_blocking(move || hash_sync(&password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// Checks `password` against `stored`, or against a dummy hash when there is no user,
/// so both failures take about as long.
pub async fn verify_password(password: &str, stored: Option<&str>) -> bool {
    let password = password.to_owned();
    let stored = stored.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let matches = |phc: &str| {
            PasswordHash::new(phc)
                .map(|hash| argon2().verify_password(password.as_bytes(), &hash).is_ok())
                .unwrap_or(false)
        };
        match stored {
            Some(phc) => matches(&phc),
            None => {
                matches(dummy_hash());
                false
            }
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_owasp_argon2id_parameters() {
        let password = Password::parse("correct horse battery".into(), None).unwrap();
        let hash = hash_password(&password).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery", Some(&hash)).await);
        assert!(!verify_password("wrong horse battery", Some(&hash)).await);
    }

    #[tokio::test]
    async fn salts_every_hash_and_fails_without_a_user() {
        let password = Password::parse("correct horse battery".into(), None).unwrap();
        assert_ne!(
            hash_password(&password).await.unwrap(),
            hash_password(&password).await.unwrap()
        );
        assert!(!verify_password("correct horse battery", None).await);
        assert!(!verify_password("x", Some("not a phc string")).await);
    }
}
