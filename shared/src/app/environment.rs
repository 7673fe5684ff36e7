//! Building the app from the environment: config, store adapter, key set, job queue.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use secrecy::ExposeSecret;

use super::App;
use crate::BoxError;
use crate::auth::KeySet;
use crate::config::{Config, StoreKind};
use crate::secrets::KeyProvider;

impl App {
    /// Builds everything from the environment: config, store adapter, key set.
    pub async fn from_env() -> Result<Self, BoxError> {
        Self::from_config(Config::from_env()?).await
    }

    /// Builds the store, key set and queue `config` names.
    pub async fn from_config(config: Config) -> Result<Self, BoxError> {
        Self::build(config, true).await
    }

    /// For workers, stream consumers and jobs, which sign and check no token: no key set is
    /// fetched (they hold a random one nobody else knows).
    pub async fn from_env_without_keys() -> Result<Self, BoxError> {
        Self::build(Config::from_env()?, false).await
    }

    async fn build(config: Config, signs_tokens: bool) -> Result<Self, BoxError> {
        if !config.rate_limits.enabled {
            tracing::warn!("RATE_LIMITS=off: no application-layer rate limit or lockout applies");
        }
        let needs_aws = config.store == StoreKind::DynamoDb
            || (signs_tokens && config.auth_keys.is_none() && config.auth_keys_secret_id.is_some());
        let aws = if needs_aws {
            Some(aws_sdk_config(&config).await?)
        } else {
            None
        };
        let keys = match (&config.auth_keys, &config.auth_keys_secret_id, &aws) {
            _ if !signs_tokens => KeyProvider::fixed(KeySet::generate()),
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
        let app = match (config.store, &aws) {
            #[cfg(feature = "dynamodb")]
            (StoreKind::DynamoDb, Some(aws)) => on_dynamodb(config, keys, aws),
            #[cfg(feature = "sqlite")]
            (StoreKind::Sqlite, _) => Self::embedded(config, keys)?,
            (store, _) => {
                return Err(format!("this build does not include the {store:?} store").into());
            }
        };
        Ok(Self { aws, ..app })
    }
}

/// The app on the DynamoDB table `config.table_name`, sending jobs to SQS when built with it.
#[cfg(feature = "dynamodb")]
fn on_dynamodb(config: Config, keys: KeyProvider, aws: &SdkConfig) -> App {
    use std::sync::Arc;

    use crate::jobs::JobQueue;
    use crate::store::Stores;
    use crate::store::entities::TableStore;
    use crate::store::table::dynamodb::DynamoTable;

    let table = DynamoTable::new(
        aws_sdk_dynamodb::Client::new(aws),
        config.table_name.clone(),
    );
    let store = Arc::new(
        TableStore::new(Arc::new(table))
            .with_counter_shards(config.counter_shards)
            .with_audit_shards(config.audit_shards)
            .with_listing_shards(config.listing_shards),
    );
    #[cfg(feature = "sqs")]
    let queue: Arc<dyn JobQueue> = Arc::new(crate::jobs::sqs::SqsQueue::new(
        aws_sdk_sqs::Client::new(aws),
        config.email_queue_url.clone(),
        config.telegram_queue_url.clone(),
    ));
    #[cfg(not(feature = "sqs"))]
    let queue: Arc<dyn JobQueue> = Arc::new(crate::jobs::NoQueue(
        "this function is built without a queue",
    ));
    App::new(config, Stores::from_adapter(store), keys).with_queue(queue)
}

/// The AWS SDK configuration from the environment, with time limits: a dependency that hangs
/// costs at most two attempts of `aws_attempt_timeout`, well inside the function's timeout.
/// Every client built from it shares one HTTPS client (one connection pool, one trust store).
pub async fn aws_sdk_config(config: &Config) -> Result<SdkConfig, BoxError> {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(config.aws_connect_timeout)
        .read_timeout(config.aws_attempt_timeout)
        .operation_attempt_timeout(config.aws_attempt_timeout)
        .operation_timeout(config.aws_attempt_timeout * 2 + config.aws_connect_timeout)
        .build();
    Ok(aws_config::defaults(BehaviorVersion::latest())
        .http_client(super::aws_http::https_client()?)
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .load()
        .await)
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
