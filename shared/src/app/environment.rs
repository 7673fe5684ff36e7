//! Building the app from the environment: config, store adapter, key set, job queue.

use aws_types::SdkConfig;
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
            Some(super::aws_sdk::aws_sdk_config(&config).await?)
        } else {
            None
        };
        let keys = async {
            let keys = key_provider(&config, aws.as_ref(), signs_tokens).await?;
            if signs_tokens && keys.current().await.signs_hs256() {
                tracing::warn!(
                    alg = %config.access_token_alg,
                    "the key set has no active signing key: access tokens are HS256 until one is \
                     added (cargo run -p infra --bin signing-keys -- new --activate)"
                );
            }
            Ok::<_, BoxError>(keys)
        };
        let app = match (config.store, &aws) {
            #[cfg(feature = "dynamodb")]
            (StoreKind::DynamoDb, Some(aws)) => {
                use crate::store::table::dynamodb::DynamoTable;
                let table = DynamoTable::new(
                    aws_sdk_dynamodb::Client::new(aws),
                    config.table_name.clone(),
                );
                // The key fetch and the store's TLS handshake, at once: the first request then
                // finds both done. (Workers have no fetch to overlap: they connect on first use.)
                let connect = async {
                    if signs_tokens && config.connect_during_init {
                        table.connect().await;
                    }
                };
                let (keys, ()) = tokio::join!(keys, connect);
                let keys = keys?;
                on_dynamodb(config, keys, table, aws)
            }
            #[cfg(feature = "sqlite")]
            (StoreKind::Sqlite, _) => {
                let keys = keys.await?;
                Self::embedded(config, keys)?
            }
            (store, _) => {
                return Err(format!("this build does not include the {store:?} store").into());
            }
        };
        let mfa_keys = mfa_key_provider(&app.config, aws.as_ref())?;
        let oauth = oauth_providers(&app.config, aws.as_ref())?;
        Ok(Self {
            aws,
            mfa_keys,
            oauth,
            ..app
        })
    }
}

/// The second-factor keys: the environment's (`MFA_KEYS`), Secrets Manager's
/// (`MFA_KEYS_SECRET_ID`, fetched on first use), outside Lambda a set generated beside the data,
/// and otherwise none (enrolling answers 503 rather than seal with a key only this process has).
fn mfa_key_provider(
    config: &Config,
    aws: Option<&SdkConfig>,
) -> Result<crate::auth::mfa::MfaKeyProvider, BoxError> {
    use crate::auth::mfa::{MfaKeyProvider, MfaKeys};
    if let Some(json) = &config.mfa_keys {
        return Ok(MfaKeyProvider::fixed(MfaKeys::from_json(
            json.expose_secret(),
        )?));
    }
    #[cfg(feature = "secrets")]
    if let (Some(secret_id), Some(aws)) = (&config.mfa_keys_secret_id, aws) {
        return Ok(MfaKeyProvider::secrets_manager(
            aws_sdk_secretsmanager::Client::new(aws),
            secret_id.clone(),
            config.secrets_cache_ttl,
        ));
    }
    #[cfg(not(feature = "secrets"))]
    let _ = aws;
    // A local run (local-api, on either store) keeps its set beside the data; a function under a
    // Lambda runtime never makes one up.
    #[cfg(feature = "sqlite")]
    if crate::config::var("AWS_LAMBDA_RUNTIME_API").is_none() {
        return Ok(MfaKeyProvider::fixed(local_mfa_keys(config)?));
    }
    Ok(MfaKeyProvider::not_configured())
}

/// The social sign-in providers: the environment's (`OAUTH_PROVIDERS`), Secrets Manager's
/// (`OAUTH_PROVIDERS_SECRET_ID`, read on first use), or none.
fn oauth_providers(
    config: &Config,
    aws: Option<&SdkConfig>,
) -> Result<crate::auth::oauth::OAuthProviders, BoxError> {
    use crate::auth::oauth::{OAuthProviders, Providers};
    if let Some(json) = &config.oauth_providers {
        return Ok(OAuthProviders::given(Providers::from_json(
            json.expose_secret(),
        )?));
    }
    #[cfg(feature = "secrets")]
    if let (Some(secret_id), Some(aws)) = (&config.oauth_providers_secret_id, aws) {
        return Ok(OAuthProviders::secrets_manager(
            aws.clone(),
            secret_id.clone(),
        ));
    }
    #[cfg(not(feature = "secrets"))]
    let _ = aws;
    Ok(OAuthProviders::none())
}

/// Local runs keep a generated second-factor key set beside the data (`mfa-keys.json`, mode
/// 600), as they keep the signing keys: enrolled factors survive a restart.
#[cfg(feature = "sqlite")]
fn local_mfa_keys(config: &Config) -> Result<crate::auth::mfa::MfaKeys, BoxError> {
    use crate::auth::mfa::MfaKeys;
    let text = local_secret(config, "mfa-keys.json", || MfaKeys::generate().to_json())?;
    Ok(MfaKeys::from_json(&text)?)
}

/// The signing keys: none for a function that signs no token, the environment's
/// (`AUTH_KEYS`), Secrets Manager's (`AUTH_KEYS_SECRET_ID`, fetched now), or locally a generated
/// set kept beside the data.
async fn key_provider(
    config: &Config,
    aws: Option<&SdkConfig>,
    signs_tokens: bool,
) -> Result<KeyProvider, BoxError> {
    if !signs_tokens {
        return Ok(KeyProvider::fixed(KeySet::throwaway()));
    }
    let alg = config.access_token_alg;
    if let Some(json) = &config.auth_keys {
        return Ok(KeyProvider::fixed(KeySet::from_json(
            json.expose_secret(),
            alg,
        )?));
    }
    #[cfg(feature = "secrets")]
    if let (Some(secret_id), Some(aws)) = (&config.auth_keys_secret_id, aws) {
        return Ok(KeyProvider::secrets_manager(
            aws_sdk_secretsmanager::Client::new(aws),
            secret_id.clone(),
            config.secrets_cache_ttl,
            alg,
        )
        .await?);
    }
    #[cfg(not(feature = "secrets"))]
    let _ = aws;
    #[cfg(feature = "sqlite")]
    if config.store == StoreKind::Sqlite {
        return Ok(KeyProvider::fixed(local_key_set(config)?));
    }
    Err("set AUTH_KEYS_SECRET_ID (or AUTH_KEYS) to the signing-key set".into())
}

/// The app on the DynamoDB table `config.table_name`, sending jobs to SQS when built with it.
#[cfg(feature = "dynamodb")]
#[cfg_attr(not(feature = "sqs"), allow(unused_variables))]
fn on_dynamodb(
    config: Config,
    keys: KeyProvider,
    table: crate::store::table::dynamodb::DynamoTable,
    aws: &SdkConfig,
) -> App {
    use std::sync::Arc;

    use crate::jobs::JobQueue;
    use crate::store::Stores;
    use crate::store::entities::TableStore;

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

/// Local runs with no key configured keep a generated key set beside the data, so tokens
/// survive a restart; a set with no active key of `ACCESS_TOKEN_ALG` (one from before signing
/// keys, or another algorithm's) gets one added. Never used with DynamoDB.
#[cfg(feature = "sqlite")]
fn local_key_set(config: &Config) -> Result<KeySet, BoxError> {
    use crate::auth::KeySetDocument;

    let alg = config.access_token_alg;
    let text = local_secret(config, "auth-keys.json", || {
        KeySetDocument::generate(alg).to_json()
    })?;
    let mut document = KeySetDocument::from_json(&text)?;
    if !document.active_signing_keys.contains_key(alg.name()) {
        let kid = document.add_signing_key(alg);
        document.activate(&kid)?;
        write_local_secret(config, "auth-keys.json", &document.to_json())?;
    }
    Ok(KeySet::from_document(&document, alg)?)
}

/// The text of `name` in the data folder, written there first by `generate` if it is not
/// there yet.
#[cfg(feature = "sqlite")]
fn local_secret(
    config: &Config,
    name: &str,
    generate: impl FnOnce() -> String,
) -> Result<String, BoxError> {
    if let Ok(text) = std::fs::read_to_string(config.data_dir.join(name)) {
        return Ok(text);
    }
    let text = generate();
    write_local_secret(config, name, &text)?;
    Ok(text)
}

/// Writes `name` in the data folder, readable by its owner only.
#[cfg(feature = "sqlite")]
fn write_local_secret(config: &Config, name: &str, text: &str) -> Result<(), BoxError> {
    let path = config.data_dir.join(name);
    std::fs::create_dir_all(&config.data_dir)?;
    std::fs::write(&path, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
