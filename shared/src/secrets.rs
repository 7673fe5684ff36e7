//! The key set (signing and HMAC keys), from the environment or from Secrets Manager with a
//! cached TTL.

use std::sync::Arc;

use crate::auth::KeySet;

/// Clones share one key set (and one cache of it).
#[derive(Clone)]
pub struct KeyProvider {
    source: Arc<Source>,
}

enum Source {
    Fixed(Arc<KeySet>),
    #[cfg(feature = "secrets")]
    SecretsManager(manager::Fetched),
}

impl KeyProvider {
    pub fn fixed(keys: KeySet) -> Self {
        Self {
            source: Arc::new(Source::Fixed(Arc::new(keys))),
        }
    }

    /// Fetches the secret now, so a misconfigured function fails at start-up, not on a request.
    /// Access tokens are signed with its active `alg` key (`KeySet::from_json`).
    #[cfg(feature = "secrets")]
    pub async fn secrets_manager(
        client: aws_sdk_secretsmanager::Client,
        secret_id: String,
        ttl: std::time::Duration,
        alg: crate::auth::SigningAlg,
    ) -> Result<Self, String> {
        let fetched = manager::Fetched::fetch(client, secret_id, ttl, alg).await?;
        Ok(Self {
            source: Arc::new(Source::SecretsManager(fetched)),
        })
    }

    /// The current key set, refetched at once (at most once per `REFETCH_GAP`) if it lacks
    /// `kid`: an instance that has not seen a rotation yet accepts the new key's tokens.
    #[cfg_attr(not(feature = "secrets"), allow(unused_variables))]
    pub async fn with_kid(&self, kid: &str) -> Arc<KeySet> {
        match &*self.source {
            Source::Fixed(keys) => keys.clone(),
            #[cfg(feature = "secrets")]
            Source::SecretsManager(fetched) => fetched.with_kid(kid).await,
        }
    }

    /// The current key set; refetched after the TTL, keeping the old one if the fetch fails.
    pub async fn current(&self) -> Arc<KeySet> {
        match &*self.source {
            Source::Fixed(keys) => keys.clone(),
            #[cfg(feature = "secrets")]
            Source::SecretsManager(fetched) => fetched.current().await,
        }
    }
}

#[cfg(feature = "secrets")]
pub use manager::secret_string;

#[cfg(feature = "secrets")]
mod manager {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use aws_sdk_secretsmanager::Client;
    use tokio::sync::RwLock;

    use crate::auth::{KeySet, SigningAlg};

    /// An unknown key id refetches the key set at most this often, so tokens with made-up ids
    /// cannot turn into a flood of Secrets Manager calls.
    const REFETCH_GAP: Duration = Duration::from_secs(10);

    pub(super) struct Fetched {
        client: Client,
        secret_id: String,
        ttl: Duration,
        alg: SigningAlg,
        cached: RwLock<(Arc<KeySet>, Instant)>,
        /// When an unknown key id last made us refetch.
        refetched_for_kid: std::sync::Mutex<Option<Instant>>,
    }

    impl Fetched {
        pub(super) async fn fetch(
            client: Client,
            secret_id: String,
            ttl: Duration,
            alg: SigningAlg,
        ) -> Result<Self, String> {
            let keys = fetch(&client, &secret_id, alg).await?;
            Ok(Self {
                client,
                secret_id,
                ttl,
                alg,
                cached: RwLock::new((Arc::new(keys), Instant::now())),
                refetched_for_kid: std::sync::Mutex::new(None),
            })
        }

        pub(super) async fn with_kid(&self, kid: &str) -> Arc<KeySet> {
            let keys = self.current().await;
            if keys.knows(kid) {
                return keys;
            }
            let mut guard = self.cached.write().await;
            if !guard.0.knows(kid) && take_refetch_turn(&self.refetched_for_kid) {
                match fetch(&self.client, &self.secret_id, self.alg).await {
                    Ok(fresh) => *guard = (Arc::new(fresh), Instant::now()),
                    Err(error) => {
                        tracing::warn!(%error, "could not refetch the key set for an unknown key id");
                        guard.1 = Instant::now();
                    }
                }
            }
            guard.0.clone()
        }

        pub(super) async fn current(&self) -> Arc<KeySet> {
            {
                let (keys, fetched) = &*self.cached.read().await;
                if fetched.elapsed() < self.ttl {
                    return keys.clone();
                }
            }
            let mut guard = self.cached.write().await;
            if guard.1.elapsed() >= self.ttl {
                match fetch(&self.client, &self.secret_id, self.alg).await {
                    Ok(keys) => *guard = (Arc::new(keys), Instant::now()),
                    Err(error) => {
                        tracing::warn!(%error, "could not refresh the key set; keeping the cached one");
                        guard.1 = Instant::now();
                    }
                }
            }
            guard.0.clone()
        }
    }

    /// True at most once per `REFETCH_GAP`.
    fn take_refetch_turn(last: &std::sync::Mutex<Option<Instant>>) -> bool {
        let mut last = last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if last.is_some_and(|at| at.elapsed() < REFETCH_GAP) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    async fn fetch(client: &Client, secret_id: &str, alg: SigningAlg) -> Result<KeySet, String> {
        KeySet::from_json(&secret_string(client, secret_id).await?, alg)
    }

    /// The string value of the secret `secret_id`.
    pub async fn secret_string(client: &Client, secret_id: &str) -> Result<String, String> {
        let output = client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "reading secret {secret_id}: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e)
                )
            })?;
        output
            .secret_string
            .ok_or_else(|| format!("secret {secret_id} has no string value"))
    }
}
