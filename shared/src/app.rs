//! The state a function builds once at start-up and every request shares.

use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use secrecy::ExposeSecret;

use crate::BoxError;
use crate::auth::{KeySet, PasswordHasher};
use crate::config::{Config, StoreKind};
use crate::jobs::{Job, JobQueue, NoQueue};
use crate::secrets::KeyProvider;
use crate::store::Stores;

pub struct App {
    pub config: Config,
    pub stores: Stores,
    pub keys: KeyProvider,
    pub hasher: PasswordHasher,
    /// Where committed jobs go: SQS on AWS, the embedded store's queue locally.
    pub queue: Arc<dyn JobQueue>,
    #[cfg(feature = "sqlite")]
    embedded: Option<Arc<crate::store::sqlite::SqliteStore>>,
}

impl App {
    pub fn new(config: Config, stores: Stores, keys: KeyProvider) -> Self {
        Self {
            hasher: PasswordHasher::per_core(config.password_hash_queue),
            config,
            stores,
            keys,
            queue: Arc::new(NoQueue("no job queue is configured")),
            #[cfg(feature = "sqlite")]
            embedded: None,
        }
    }

    /// An app on the embedded store at `config.sqlite_path()`.
    #[cfg(feature = "sqlite")]
    pub fn embedded(config: Config, keys: KeyProvider) -> Result<Self, BoxError> {
        let store = Arc::new(crate::store::sqlite::SqliteStore::open(
            &config.sqlite_path(),
        )?);
        let mut app =
            Self::new(config, Stores::from_adapter(store.clone()), keys).with_queue(store.clone());
        app.embedded = Some(store);
        Ok(app)
    }

    /// The embedded store, when the app runs on it.
    #[cfg(feature = "sqlite")]
    pub fn embedded_store(&self) -> Option<&Arc<crate::store::sqlite::SqliteStore>> {
        self.embedded.as_ref()
    }

    pub fn with_queue(self, queue: Arc<dyn JobQueue>) -> Self {
        Self { queue, ..self }
    }

    /// Sends the jobs a committed write put in the outbox (see `jobs::dispatch`).
    pub async fn dispatch(&self, jobs: &[Job]) {
        crate::jobs::dispatch(&*self.queue, &self.stores, jobs).await;
    }

    /// Records a security event. Never fails the request: a store error is logged.
    pub async fn audit(&self, event: crate::domain::AuditEvent) {
        let keep_until = event.at + self.config.audit_retention.as_millis() as i64;
        if let Err(error) = self.stores.audit.record_event(&event, keep_until).await {
            tracing::warn!(error = ?error, action = event.action.as_str(), "audit event not recorded");
        }
    }

    /// Counts the user among today's active users (once a day) for the dashboard. Never fails
    /// the request: a store error is logged.
    pub async fn count_active(&self, user_id: &str) {
        let now = crate::clock::now_ms();
        if let Err(error) = self.stores.metrics.mark_active(user_id, now).await {
            tracing::warn!(error = ?error, "counting an active user");
        }
    }

    /// Builds everything from the environment: config, store adapter, key set.
    pub async fn from_env() -> Result<Self, BoxError> {
        let config = Config::from_env()?;
        if !config.rate_limits.enabled {
            tracing::warn!("RATE_LIMITS=off: no application-layer rate limit or lockout applies");
        }
        let needs_aws = config.store == StoreKind::DynamoDb
            || (config.auth_keys.is_none() && config.auth_keys_secret_id.is_some());
        let aws = if needs_aws {
            Some(aws_sdk_config(&config).await)
        } else {
            None
        };
        let keys = match (&config.auth_keys, &config.auth_keys_secret_id, &aws) {
            (Some(json), _, _) => KeyProvider::fixed(KeySet::from_json(json.expose_secret())?),
            (None, Some(secret_id), Some(aws)) => {
                KeyProvider::secrets_manager(
                    aws_sdk_secretsmanager::Client::new(aws),
                    secret_id.clone(),
                    config.secrets_cache_ttl,
                )
                .await?
            }
            #[cfg(feature = "sqlite")]
            _ if config.store == StoreKind::Sqlite => KeyProvider::fixed(local_key_set(&config)?),
            _ => {
                return Err("set AUTH_KEYS_SECRET_ID (or AUTH_KEYS) to the signing-key set".into());
            }
        };
        match (config.store, aws) {
            #[cfg(feature = "dynamodb")]
            (StoreKind::DynamoDb, Some(aws)) => {
                let client = aws_sdk_dynamodb::Client::new(&aws);
                let store = Arc::new(
                    crate::store::dynamo::DynamoStore::new(client, config.table_name.clone())
                        .with_counter_shards(config.counter_shards),
                );
                #[cfg(feature = "sqs")]
                let queue: Arc<dyn JobQueue> = Arc::new(crate::jobs::sqs::SqsQueue::new(
                    aws_sdk_sqs::Client::new(&aws),
                    config.email_queue_url.clone(),
                    config.telegram_queue_url.clone(),
                ));
                #[cfg(not(feature = "sqs"))]
                let queue: Arc<dyn JobQueue> =
                    Arc::new(NoQueue("this function is built without a queue"));
                Ok(Self::new(config, Stores::from_adapter(store), keys).with_queue(queue))
            }
            #[cfg(feature = "sqlite")]
            (StoreKind::Sqlite, _) => Self::embedded(config, keys),
            (store, _) => Err(format!("this build does not include the {store:?} store").into()),
        }
    }

    /// Flushes the embedded store, if any, so it is left as one clean file.
    pub async fn close(&self) {
        #[cfg(feature = "sqlite")]
        if let Some(store) = &self.embedded
            && let Err(error) = store.close().await
        {
            tracing::warn!(error = ?error, "closing the embedded store");
        }
    }
}

/// The AWS SDK configuration from the environment, with time limits: a dependency that hangs
/// costs at most two attempts of `aws_attempt_timeout`, well inside the function's timeout.
pub async fn aws_sdk_config(config: &Config) -> SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(config.aws_connect_timeout)
        .read_timeout(config.aws_attempt_timeout)
        .operation_attempt_timeout(config.aws_attempt_timeout)
        .operation_timeout(config.aws_attempt_timeout * 2 + config.aws_connect_timeout)
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .load()
        .await
}

/// Local runs with no key configured keep a generated key set beside the data, so tokens
/// survive a restart. Never used with DynamoDB.
#[cfg(feature = "sqlite")]
fn local_key_set(config: &Config) -> Result<KeySet, BoxError> {
    let path = config.data_dir.join("auth-keys.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Ok(KeySet::from_json(&text)?);
    }
    std::fs::create_dir_all(&config.data_dir)?;
    let keys = KeySet::generate();
    std::fs::write(&path, keys.to_json())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(keys)
}
