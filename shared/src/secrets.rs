//! The signing-key set, from the environment or from Secrets Manager with a cached TTL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;
use tokio::sync::RwLock;

use crate::auth::KeySet;

pub struct KeyProvider {
    source: Source,
}

enum Source {
    Fixed(Arc<KeySet>),
    SecretsManager {
        client: Client,
        secret_id: String,
        ttl: Duration,
        cached: RwLock<(Arc<KeySet>, Instant)>,
    },
}

impl KeyProvider {
    pub fn fixed(keys: KeySet) -> Self {
        Self {
            source: Source::Fixed(Arc::new(keys)),
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
            source: Source::SecretsManager {
                client,
                secret_id,
                ttl,
                cached: RwLock::new((Arc::new(keys), Instant::now())),
            },
        })
    }

    /// The current key set; refetched after the TTL, keeping the old one if the fetch fails.
    pub async fn current(&self) -> Arc<KeySet> {
        match &self.source {
            Source::Fixed(keys) => keys.clone(),
            Source::SecretsManager {
                client,
                secret_id,
                ttl,
                cached,
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
