//! Where the second-factor key set comes from: given (`MFA_KEYS`, tests), Secrets Manager
//! (`MFA_KEYS_SECRET_ID`, fetched on first use and again after `SECRETS_CACHE_TTL_SECS`, so
//! only the functions that seal or check a factor ever read it), or locally a set generated
//! beside the data. A Lambda function configured with none refuses to enrol anyone rather than
//! seal secrets with a key nobody else has.

use std::sync::Arc;

use super::keys::MfaKeys;

#[derive(Debug, thiserror::Error)]
pub enum MfaKeyError {
    #[error("no second-factor key set is configured (MFA_KEYS_SECRET_ID)")]
    NotConfigured,
    #[error("the second-factor key set could not be read: {0}")]
    Unreadable(String),
}

/// Clones share one key set (and one cache of it).
#[derive(Clone)]
pub struct MfaKeyProvider(Arc<Source>);

enum Source {
    Fixed(Arc<MfaKeys>),
    NotConfigured,
    #[cfg(feature = "secrets")]
    SecretsManager(manager::Cached),
}

impl MfaKeyProvider {
    pub fn fixed(keys: MfaKeys) -> Self {
        Self(Arc::new(Source::Fixed(Arc::new(keys))))
    }

    pub fn not_configured() -> Self {
        Self(Arc::new(Source::NotConfigured))
    }

    #[cfg(feature = "secrets")]
    pub fn secrets_manager(
        client: aws_sdk_secretsmanager::Client,
        secret_id: String,
        ttl: std::time::Duration,
    ) -> Self {
        Self(Arc::new(Source::SecretsManager(manager::Cached::new(
            client, secret_id, ttl,
        ))))
    }

    /// The key set, holding `kid` if any version of the secret since it was cached does.
    pub async fn with_kid(&self, kid: &str) -> Result<Arc<MfaKeys>, MfaKeyError> {
        match &*self.0 {
            #[cfg(feature = "secrets")]
            Source::SecretsManager(cached) => cached.with_kid(kid).await,
            _ => self.current().await,
        }
    }

    pub async fn current(&self) -> Result<Arc<MfaKeys>, MfaKeyError> {
        match &*self.0 {
            Source::Fixed(keys) => Ok(keys.clone()),
            Source::NotConfigured => Err(MfaKeyError::NotConfigured),
            #[cfg(feature = "secrets")]
            Source::SecretsManager(cached) => cached.current().await,
        }
    }
}

#[cfg(feature = "secrets")]
mod manager {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use aws_sdk_secretsmanager::Client;
    use tokio::sync::Mutex;

    use super::{MfaKeyError, MfaKeys};

    /// An unknown key id refetches at most this often.
    const REFETCH_GAP: Duration = Duration::from_secs(10);

    pub(super) struct Cached {
        client: Client,
        secret_id: String,
        ttl: Duration,
        /// The set and when it was fetched; `None` until the first use.
        held: Mutex<Option<(Arc<MfaKeys>, Instant)>>,
    }

    impl Cached {
        pub(super) fn new(client: Client, secret_id: String, ttl: Duration) -> Self {
            Self {
                client,
                secret_id,
                ttl,
                held: Mutex::new(None),
            }
        }

        pub(super) async fn current(&self) -> Result<Arc<MfaKeys>, MfaKeyError> {
            self.fetched(|_, age| age >= self.ttl).await
        }

        pub(super) async fn with_kid(&self, kid: &str) -> Result<Arc<MfaKeys>, MfaKeyError> {
            self.fetched(|keys, age| age >= self.ttl || (age >= REFETCH_GAP && !keys.has(kid)))
                .await
        }

        /// The held set, fetched first when there is none or `stale` says so; a failed refetch
        /// keeps the held one.
        async fn fetched(
            &self,
            stale: impl Fn(&MfaKeys, Duration) -> bool,
        ) -> Result<Arc<MfaKeys>, MfaKeyError> {
            let mut held = self.held.lock().await;
            let refetch = match &*held {
                None => true,
                Some((keys, at)) => stale(keys, at.elapsed()),
            };
            if refetch {
                match self.fetch().await {
                    Ok(keys) => *held = Some((Arc::new(keys), Instant::now())),
                    Err(error) => match &mut *held {
                        Some((_, at)) => {
                            tracing::warn!(%error, "could not refresh the MFA key set; keeping the cached one");
                            *at = Instant::now();
                        }
                        None => return Err(error),
                    },
                }
            }
            Ok(held.as_ref().expect("fetched above").0.clone())
        }

        async fn fetch(&self) -> Result<MfaKeys, MfaKeyError> {
            let text = crate::secrets::secret_string(&self.client, &self.secret_id)
                .await
                .map_err(MfaKeyError::Unreadable)?;
            MfaKeys::from_json(&text).map_err(MfaKeyError::Unreadable)
        }
    }
}
