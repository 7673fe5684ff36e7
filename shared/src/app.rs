//! The state a function builds once at start-up and every request shares.

use std::sync::Arc;

use crate::auth::KeySet;
use crate::config::{Config, StoreKind};
use crate::secrets::KeyProvider;
use crate::store::Stores;
use crate::store::dynamo::DynamoStore;
use crate::store::sqlite::SqliteStore;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub struct App {
    pub config: Config,
    pub stores: Stores,
    pub keys: KeyProvider,
    embedded: Option<Arc<SqliteStore>>,
}

impl App {
    pub fn new(config: Config, stores: Stores, keys: KeyProvider) -> Self {
        Self {
            config,
            stores,
            keys,
            embedded: None,
        }
    }

    /// An app on the embedded store at `config.sqlite_path()`.
    pub fn embedded(config: Config, keys: KeyProvider) -> Result<Self, BoxError> {
        let store = Arc::new(SqliteStore::open(&config.sqlite_path())?);
        let mut app = Self::new(config, Stores::from_adapter(store.clone()), keys);
        app.embedded = Some(store);
        Ok(app)
    }

    /// Builds everything from the environment: config, store adapter, key set.
    pub async fn from_env() -> Result<Self, BoxError> {
        let config = Config::from_env()?;
        let needs_aws = config.store == StoreKind::DynamoDb
            || (config.auth_keys.is_none() && config.auth_keys_secret_id.is_some());
        let aws = if needs_aws {
            Some(aws_config::load_from_env().await)
        } else {
            None
        };
        let keys = match (&config.auth_keys, &config.auth_keys_secret_id, &aws) {
            (Some(json), _, _) => KeyProvider::fixed(KeySet::from_json(json)?),
            (None, Some(secret_id), Some(aws)) => {
                KeyProvider::secrets_manager(
                    aws_sdk_secretsmanager::Client::new(aws),
                    secret_id.clone(),
                    config.secrets_cache_ttl,
                )
                .await?
            }
            _ if config.store == StoreKind::Sqlite => KeyProvider::fixed(local_key_set(&config)?),
            _ => {
                return Err("set AUTH_KEYS_SECRET_ID (or AUTH_KEYS) to the signing-key set".into());
            }
        };
        match (config.store, aws) {
            (StoreKind::DynamoDb, Some(aws)) => {
                let client = aws_sdk_dynamodb::Client::new(&aws);
                let store = Arc::new(DynamoStore::new(client, config.table_name.clone()));
                Ok(Self::new(config, Stores::from_adapter(store), keys))
            }
            _ => Self::embedded(config, keys),
        }
    }

    /// Flushes the embedded store, if any, so it is left as one clean file.
    pub async fn close(&self) {
        if let Some(store) = &self.embedded
            && let Err(error) = store.close().await
        {
            tracing::warn!(%error, "closing the embedded store");
        }
    }
}

/// Local runs with no key configured keep a generated key set beside the data, so tokens
/// survive a restart. Never used with DynamoDB.
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
