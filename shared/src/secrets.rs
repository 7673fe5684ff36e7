//! The signing-key set, from the environment or from Secrets Manager with a cached TTL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;
use tokio::sync::RwLock;

use crate::auth::KeySet;

/// An unknown key id refetches the key set at most this often, so tokens with made-up ids cannot
/// turn into a flood of Secrets Manager calls.
const REFETCH_GAP: Duration = Duration::from_secs(10);

/// Clones share one key set (and one cache of it).
#[derive(Clone)]
pub struct KeyProvider {
    source: Arc<Source>,
}

enum Source {
    Fixed(Arc<KeySet>),
    SecretsManager {
        client: Client,
        secret_id: String,
        ttl: Duration,
        cached: RwLock<(Arc<KeySet>, Instant)>,
        /// When an unknown key id last made us refetch.
        refetched_for_kid: std::sync::Mutex<Option<Instant>>,
    },
}

impl KeyProvider {
    pub fn fixed(keys: KeySet) -> Self {
        Self {
            source: Arc::new(Source::Fixed(Arc::new(keys))),
        }
    }

    /// Fetches the secret now, so a misconfigured function fails at start-up, not on a request.
    pub async fn secrets_manager(
        client: Client,
        secret_id: String,
        ttl: Duration,
    ) -> Result<Self, String> {
        let keys = fetch(&client, &secret_id).await?;
        Ok(Self {
            source: Arc::new(Source::SecretsManager {
                client,
                secret_id,
                ttl,
                cached: RwLock::new((Arc::new(keys), Instant::now())),
                refetched_for_kid: std::sync::Mutex::new(None),
            }),
        })
    }

    /// The current key set, refetched at once (at most once per `REFETCH_GAP`) if it lacks
    /// `kid`: an instance that has not seen a rotation yet accepts the new key's tokens.
    pub async fn with_kid(&self, kid: &str) -> Arc<KeySet> {
        let keys = self.current().await;
        if keys.get(kid).is_some() {
            return keys;
        }
        let Source::SecretsManager {
            client,
            secret_id,
            cached,
            refetched_for_kid,
            ..
        } = &*self.source
        else {
            return keys;
        };
        let mut guard = cached.write().await;
        if guard.0.get(kid).is_none() && take_refetch_turn(refetched_for_kid) {
            match fetch(client, secret_id).await {
                Ok(fresh) => *guard = (Arc::new(fresh), Instant::now()),
                Err(error) => {
                    tracing::warn!(%error, "could not refetch the key set for an unknown key id");
                    guard.1 = Instant::now();
                }
            }
        }
        guard.0.clone()
    }

    /// The current key set; refetched after the TTL, keeping the old one if the fetch fails.
    pub async fn current(&self) -> Arc<KeySet> {
        match &*self.source {
            Source::Fixed(keys) => keys.clone(),
            Source::SecretsManager {
                client,
                secret_id,
                ttl,
                cached,
                ..
            } => {
                {
                    let (keys, fetched) = &*cached.read().await;
                    if fetched.elapsed() < *ttl {
                        return keys.clone();
                    }
                }
                let mut guard = cached.write().await;
                if guard.1.elapsed() >= *ttl {
                    match fetch(client, secret_id).await {
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

async fn fetch(client: &Client, secret_id: &str) -> Result<KeySet, String> {
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
    let text = output
        .secret_string()
        .ok_or_else(|| format!("secret {secret_id} has no string value"))?;
    KeySet::from_json(text)
}
