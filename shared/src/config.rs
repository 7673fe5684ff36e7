//! Configuration from the environment. Secrets are not here: see `secrets`.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// The embedded SQLite file under `data_dir`.
    Sqlite,
    /// The DynamoDB table `table_name` (at `AWS_ENDPOINT_URL` when set).
    DynamoDb,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub store: StoreKind,
    pub data_dir: PathBuf,
    pub table_name: String,
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// How long a spent refresh token may be replayed (a concurrent refresh) without
    /// being treated as reuse.
    pub refresh_grace: Duration,
    pub cors_origins: Vec<String>,
    /// JSON key set given inline (local runs); wins over `auth_keys_secret_id`.
    pub auth_keys: Option<String>,
    /// Secrets Manager id of the JSON key set (deployed runs).
    pub auth_keys_secret_id: Option<String>,
    pub secrets_cache_ttl: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn seconds(name: &str, default: u64) -> Result<Duration, ConfigError> {
    var(name)
        .map(|v| v.parse::<u64>())
        .transpose()
        .map_err(|_| ConfigError(format!("{name} must be a whole number of seconds")))
        .map(|v| Duration::from_secs(v.unwrap_or(default)))
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let store = match var("STORE").as_deref() {
            None | Some("sqlite") => StoreKind::Sqlite,
            Some("dynamodb") => StoreKind::DynamoDb,
            Some(other) => {
                return Err(ConfigError(format!(
                    "STORE must be `sqlite` or `dynamodb`, not `{other}`"
                )));
            }
        };
        Ok(Self {
            store,
            data_dir: var("DATA_DIR").unwrap_or_else(|| ".data".into()).into(),
            table_name: var("TABLE_NAME").unwrap_or_else(|| "app-main".into()),
            issuer: var("JWT_ISSUER").unwrap_or_else(|| "serverless-backend".into()),
            audience: var("JWT_AUDIENCE").unwrap_or_else(|| "serverless-backend-api".into()),
            access_token_ttl: seconds("ACCESS_TOKEN_TTL_SECS", 15 * 60)?,
            refresh_token_ttl: seconds("REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?,
            refresh_grace: seconds("REFRESH_GRACE_SECS", 10)?,
            cors_origins: var("CORS_ALLOWED_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().to_owned())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            auth_keys: var("AUTH_KEYS"),
            auth_keys_secret_id: var("AUTH_KEYS_SECRET_ID"),
            secrets_cache_ttl: seconds("SECRETS_CACHE_TTL_SECS", 300)?,
        })
    }

    /// The values tests and local runs use when nothing is configured.
    pub fn for_tests() -> Self {
        Self {
            store: StoreKind::Sqlite,
            data_dir: ".data".into(),
            table_name: "app-main".into(),
            issuer: "serverless-backend".into(),
            audience: "serverless-backend-api".into(),
            access_token_ttl: Duration::from_secs(900),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            refresh_grace: Duration::from_secs(10),
            cors_origins: vec!["http://localhost:5173".into()],
            auth_keys: None,
            auth_keys_secret_id: None,
            secrets_cache_ttl: Duration::from_secs(300),
        }
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("app.sqlite3")
    }
}
