//! New passwords that appear in known breaches are refused (NIST 800-63B 3.1.1.2). One check
//! for registration, password change and reset; login never runs it.
//!
//! Sources, in order, stopping at the first that knows the password:
//! 1. the built-in list: the most common passwords of 8 or more characters (~8,400, from
//!    the 20,000 Django ships), compared lower-cased: no network, ~25 KB in the binary;
//! 2. the filter file `BREACHED_PASSWORDS_FILTER`, if set (see `hash_set`);
//! 3. in `online` mode, the Pwned Passwords range API (see `range_api`).
//!
//! A source that fails (no answer in time, a 500, a garbled answer, an unreadable file) is
//! handled by `BREACHED_PASSWORDS_ON_ERROR`: `allow` (accept it unchecked) or `refuse`; either
//! way a warning and a metric line are printed.

pub mod hash_set;
mod range_api;

use std::sync::Arc;

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};
use tokio::sync::OnceCell;

pub use self::hash_set::HashSet;
use self::range_api::RangeApi;
pub use self::range_api::count_in;
use crate::BoxError;
use crate::clock::now_ms;
use crate::config::{BreachSources, BreachedPasswordsConfig, OnCheckError};
use crate::domain::Password;
use crate::telemetry::{count_metric_line, print_metric_line};

/// The built-in list, built by `breached-filter --passwords infra/common-passwords.txt
/// --lowercase` (a test checks it is exactly that).
pub const COMMON_PASSWORDS: &[u8] = include_bytes!("common-passwords.bin");

/// Counts checks that could not be completed, by what the password got (`allow`/`refuse`).
pub const CHECK_FAILURES_METRIC: &str = "BreachedPasswordCheckFailures";
pub const CHECK_FAILURES_DIMENSION: &str = "OnError";

/// Why a password is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("the password appears in known breaches")]
    Breached,
    /// A source could not answer and the policy is `refuse`.
    #[error("the breached-password check could not be completed: {0}")]
    Unchecked(#[source] BoxError),
}

pub struct BreachedPasswords {
    config: BreachedPasswordsConfig,
    /// Opened on the first check: a function that never checks a password never reads it.
    filter: OnceCell<Arc<HashSet>>,
    range: RangeApi,
}

impl BreachedPasswords {
    pub fn new(config: BreachedPasswordsConfig) -> Self {
        Self {
            range: RangeApi::new(&config.url, config.timeout),
            filter: OnceCell::new(),
            config,
        }
    }

    /// `Ok` when the password is not known to be breached (or could not be checked and the
    /// policy is `allow`).
    pub async fn check(&self, password: &Password) -> Result<(), Refusal> {
        match self.find_any(password.expose()).await {
            Ok(None) => Ok(()),
            Ok(Some(source)) => {
                tracing::info!(source, "new password refused: it appears in known breaches");
                Err(Refusal::Breached)
            }
            Err(error) => {
                let policy = self.config.on_error;
                tracing::warn!(
                    error = %error,
                    on_error = policy.as_str(),
                    "breached-password check failed"
                );
                print_metric_line(&count_metric_line(
                    CHECK_FAILURES_METRIC,
                    CHECK_FAILURES_DIMENSION,
                    policy.as_str(),
                    now_ms(),
                ));
                match policy {
                    OnCheckError::Allow => Ok(()),
                    OnCheckError::Refuse => Err(Refusal::Unchecked(error)),
                }
            }
        }
    }

    /// The first source that lists the password or its whitespace-folded form, if any.
    async fn find_any(&self, password: &str) -> Result<Option<&'static str>, BoxError> {
        if let Some(source) = self.find(password).await? {
            return Ok(Some(source));
        }
        match fold_whitespace(password) {
            Some(folded) => self.find(&folded).await,
            None => Ok(None),
        }
    }

    /// The first source that lists the password, if any.
    async fn find(&self, password: &str) -> Result<Option<&'static str>, BoxError> {
        if self.config.check == BreachSources::Off {
            return Ok(None);
        }
        if common_passwords()?.contains_password(password)? {
            return Ok(Some("common_passwords"));
        }
        if let Some(filter) = self.filter().await? {
            let owned = password.to_owned();
            if tokio::task::spawn_blocking(move || filter.contains_password(&owned)).await?? {
                return Ok(Some("filter_file"));
            }
        }
        if self.config.check == BreachSources::Online {
            let seen = self.range.times_seen(&sha1(password.as_bytes())).await?;
            if seen >= self.config.min_count {
                return Ok(Some("range_api"));
            }
        }
        Ok(None)
    }

    /// The filter file, opened on first use; a failed open is tried again next time.
    async fn filter(&self) -> Result<Option<Arc<HashSet>>, BoxError> {
        let Some(path) = &self.config.filter else {
            return Ok(None);
        };
        let set = self
            .filter
            .get_or_try_init(|| async {
                let file = path.clone();
                let opened = tokio::task::spawn_blocking(move || HashSet::from_file(&file))
                    .await?
                    .map_err(|error| {
                        format!("BREACHED_PASSWORDS_FILTER {}: {error}", path.display())
                    })?;
                Ok::<_, BoxError>(Arc::new(opened))
            })
            .await?;
        Ok(Some(set.clone()))
    }
}

fn common_passwords() -> Result<&'static HashSet, BoxError> {
    static SET: std::sync::OnceLock<Result<HashSet, String>> = std::sync::OnceLock::new();
    SET.get_or_init(|| HashSet::from_static(COMMON_PASSWORDS).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|error| format!("the built-in list: {error}").into())
}

/// The password without whitespace around it and with each inner run of whitespace as one
/// space, when that is another string: `password123 ` is as breached as `password123`, and
/// `pass  word` as `pass word`. `None` when folding changes nothing.
fn fold_whitespace(password: &str) -> Option<String> {
    let folded = password.split_whitespace().collect::<Vec<_>>().join(" ");
    (folded != password).then_some(folded)
}

pub fn sha1(bytes: &[u8]) -> [u8; 20] {
    let mut out = [0; 20];
    out.copy_from_slice(digest(&SHA1_FOR_LEGACY_USE_ONLY, bytes).as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_is_the_one_pwned_passwords_uses() {
        // "password", as the range API lists it: prefix 5BAA6, suffix 1E4C9B93F3F0682250B6CF...
        let hex: String = sha1(b"password")
            .iter()
            .map(|byte| format!("{byte:02X}"))
            .collect();
        assert_eq!(hex, "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8");
    }

    #[test]
    fn whitespace_folds_to_single_inner_spaces() {
        assert_eq!(fold_whitespace("password123"), None);
        assert_eq!(fold_whitespace("correct horse battery"), None);
        for (typed, folded) in [
            ("password123 ", "password123"),
            ("\tpassword123\n", "password123"),
            ("pass  word", "pass word"),
            ("\u{3000}pass \u{A0} word  ", "pass word"),
            ("        ", ""),
        ] {
            assert_eq!(fold_whitespace(typed).as_deref(), Some(folded), "{typed:?}");
        }
    }

    #[test]
    fn the_built_in_list_holds_common_passwords_in_any_case() {
        let set = common_passwords().unwrap();
        for common in [
            "password",
            "iloveyou",
            "Password1",
            "QWERTYUIOP",
            "sunshine",
        ] {
            assert!(set.contains_password(common).unwrap(), "{common}");
        }
        for rare in [
            "correct horse battery",
            "a brand new secret",
            "x7#Kq!2vLm9@",
        ] {
            assert!(!set.contains_password(rare).unwrap(), "{rare}");
        }
    }
}
