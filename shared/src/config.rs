//! Configuration from the environment. Secrets are not here: see `secrets`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use secrecy::SecretString;

mod breached_passwords;

use crate::auth::SigningAlg;

mod rate_limits;
mod relying_party;

pub use breached_passwords::{BreachSources, BreachedPasswordsConfig, OnCheckError};
pub use rate_limits::{RateLimits, Rule};
pub use relying_party::RelyingParty;

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
    /// JSON key set given inline (local runs); wins over `auth_keys_secret_id`. Never printed.
    pub auth_keys: Option<SecretString>,
    /// Secrets Manager id of the JSON key set (deployed runs).
    pub auth_keys_secret_id: Option<String>,
    pub secrets_cache_ttl: Duration,
    /// What access tokens are signed with (`ACCESS_TOKEN_ALG`: `EdDSA`, the default, or `ES256`):
    /// the key set's active key of this algorithm.
    pub access_token_alg: SigningAlg,
    /// HS256 access tokens verify until then (ms since the epoch; `HS256_ACCEPTED_UNTIL`, RFC
    /// 3339) once a signing key is active: the window for tokens issued before the switch.
    pub hs256_accepted_until: Option<i64>,
    /// The API's public URL (`API_BASE_URL`), for the discovery document's `jwks_uri`; without
    /// it, the URL the request came to.
    pub api_base_url: Option<String>,
    /// HTTP functions open the store's connection during init, beside the key fetch (one read
    /// of a missing item), so the first request does not pay the TLS handshake
    /// (`CONNECT_DURING_INIT`, on by default).
    pub connect_during_init: bool,
    /// Password checks waiting for a hashing worker before new ones are turned away (503).
    pub password_hash_queue: usize,
    /// How long one call to an AWS service may take (each attempt; two attempts at most), so a
    /// dependency that hangs gives a 503 well inside the function's timeout.
    pub aws_attempt_timeout: Duration,
    pub aws_connect_timeout: Duration,
    /// Where the web app lives: mailed links point at its pages.
    pub app_base_url: String,
    /// Login of a user whose address is not verified answers 403 `email_not_verified`.
    pub require_email_verification: bool,
    pub email_queue_url: Option<String>,
    pub telegram_queue_url: Option<String>,
    /// The dead-letter queues, for the dashboard's depths (metrics job).
    pub email_dead_letter_queue_url: Option<String>,
    pub telegram_dead_letter_queue_url: Option<String>,
    /// Items each dashboard counter is spread over on DynamoDB (`COUNTER_SHARDS`).
    pub counter_shards: u32,
    /// GSI1 partitions audit events are spread over and listed from (`AUDIT_SHARDS`). Every
    /// function on a table must use the same count.
    pub audit_shards: u32,
    /// Index partitions each global listing (users, posts of a status, posts with a tag) is
    /// spread over (`LISTING_SHARDS`); every instance on a table must use the same count.
    pub listing_shards: u32,
    /// At most one password-reset mail, and one sign-in mail, per account in this time
    /// (`RESET_MAIL_GAP_SECS`).
    pub reset_mail_gap: Duration,
    /// Sign-in by a link or code mailed to the account's address (`EMAIL_LOGIN`).
    pub email_login: bool,
    /// Social sign-in providers given inline (`OAUTH_PROVIDERS`, JSON; local runs). Never
    /// printed: it holds client secrets.
    pub oauth_providers: Option<SecretString>,
    /// Secrets Manager id of the providers' JSON (`OAUTH_PROVIDERS_SECRET_ID`; deployed runs).
    pub oauth_providers_secret_id: Option<String>,
    /// Where a social sign-in may send the browser back to (`OAUTH_RETURN_URLS`, comma
    /// separated, exact); the account and dashboard pages of `APP_BASE_URL` when empty.
    pub oauth_return_urls: Vec<String>,
    /// Passkeys' relying party (`WEBAUTHN_RP_ID`, `WEBAUTHN_ORIGINS`; `APP_BASE_URL`'s by
    /// default).
    pub relying_party: Option<RelyingParty>,
    /// Where new leads are mailed as well (Telegram gets them always).
    pub admin_email: Option<String>,
    /// Region (ISO 3166 code, e.g. `US`) for lead phone numbers given without `+<country>`.
    pub default_phone_region: Option<String>,
    /// Application-layer rate limits and login lockout (see `limits`).
    pub rate_limits: RateLimits,
    /// Proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`, CIDRs); nobody else's.
    pub trusted_proxies: Vec<IpNet>,
    /// How long audit events are kept (`AUDIT_RETENTION_DAYS`).
    pub audit_retention: Duration,
    /// The second-factor key set given inline (`MFA_KEYS`; local runs). Never printed.
    pub mfa_keys: Option<SecretString>,
    /// Secrets Manager id of the second-factor key set (`MFA_KEYS_SECRET_ID`; deployed runs).
    pub mfa_keys_secret_id: Option<String>,
    /// The name authenticator apps show beside the account (`MFA_ISSUER`).
    pub mfa_issuer: String,
    /// Admins without an active second factor are refused the admin routes, and admins with
    /// one need a session that used it (`REQUIRE_ADMIN_MFA`).
    pub require_admin_mfa: bool,
    /// How new passwords are checked against known breaches (`BREACHED_PASSWORDS*`).
    pub breached_passwords: BreachedPasswordsConfig,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// Every page of a global listing queries each of its shards.
const MAX_LISTING_SHARDS: usize = 32;

pub(crate) fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

pub(crate) fn seconds(name: &str, default: Duration) -> Result<Duration, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| ConfigError(format!("{name} must be a whole number of seconds"))),
    }
}

fn number(name: &str, default: usize) -> Result<usize, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ConfigError(format!("{name} must be a whole number"))),
    }
}

pub(crate) fn flag(name: &str, default: bool) -> Result<bool, ConfigError> {
    match var(name).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "on") => Ok(true),
        Some("0" | "false" | "off") => Ok(false),
        Some(_) => Err(ConfigError(format!("{name} must be true or false"))),
    }
}

fn millis(name: &str, default: Duration) -> Result<Duration, ConfigError> {
    Ok(Duration::from_millis(
        number(name, default.as_millis() as usize)? as u64,
    ))
}

impl Default for Config {
    /// What a local run uses when nothing is configured.
    fn default() -> Self {
        Self {
            // Lambda binaries are built without the embedded store.
            store: if cfg!(feature = "sqlite") {
                StoreKind::Sqlite
            } else {
                StoreKind::DynamoDb
            },
            data_dir: ".data".into(),
            table_name: "app-main".into(),
            issuer: "serverless-backend".into(),
            audience: "serverless-backend-api".into(),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            refresh_grace: Duration::from_secs(10),
            cors_origins: Vec::new(),
            auth_keys: None,
            auth_keys_secret_id: None,
            secrets_cache_ttl: Duration::from_secs(300),
            access_token_alg: SigningAlg::default(),
            hs256_accepted_until: None,
            api_base_url: None,
            connect_during_init: true,
            password_hash_queue: 64,
            aws_attempt_timeout: Duration::from_millis(3000),
            aws_connect_timeout: Duration::from_millis(1000),
            app_base_url: "http://localhost:3000".into(),
            require_email_verification: false,
            email_queue_url: None,
            telegram_queue_url: None,
            email_dead_letter_queue_url: None,
            telegram_dead_letter_queue_url: None,
            counter_shards: 4,
            audit_shards: 8,
            listing_shards: crate::store::entities::DEFAULT_LISTING_SHARDS,
            admin_email: None,
            default_phone_region: None,
            reset_mail_gap: Duration::from_secs(60),
            email_login: false,
            oauth_providers: None,
            oauth_providers_secret_id: None,
            oauth_return_urls: Vec::new(),
            relying_party: Some(RelyingParty {
                id: "localhost".into(),
                origins: vec!["http://localhost:3000".into()],
            }),
            rate_limits: RateLimits::default(),
            trusted_proxies: Vec::new(),
            audit_retention: Duration::from_secs(90 * 86_400),
            mfa_keys: None,
            mfa_keys_secret_id: None,
            mfa_issuer: "serverless-backend".into(),
            require_admin_mfa: false,
            breached_passwords: BreachedPasswordsConfig::default(),
        }
    }
}

impl Config {
    /// The defaults, overridden by whatever the environment sets.
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let store = match var("STORE").as_deref() {
            // A Lambda function (deployed, or under `cargo lambda watch`, which builds it with the
            // workspace's features, the embedded store's included) uses DynamoDB unless told.
            None if var("AWS_LAMBDA_RUNTIME_API").is_some() => StoreKind::DynamoDb,
            None => defaults.store,
            Some("sqlite") => StoreKind::Sqlite,
            Some("dynamodb") => StoreKind::DynamoDb,
            Some(other) => {
                return Err(ConfigError(format!(
                    "STORE must be `sqlite` or `dynamodb`, not `{other}`"
                )));
            }
        };
        let app_base_url = var("APP_BASE_URL").unwrap_or_else(|| defaults.app_base_url.clone());
        Ok(Self {
            store,
            data_dir: var("DATA_DIR").map_or(defaults.data_dir, Into::into),
            table_name: var("TABLE_NAME").unwrap_or(defaults.table_name),
            issuer: var("JWT_ISSUER").unwrap_or(defaults.issuer),
            audience: var("JWT_AUDIENCE").unwrap_or(defaults.audience),
            access_token_ttl: seconds("ACCESS_TOKEN_TTL_SECS", defaults.access_token_ttl)?,
            refresh_token_ttl: seconds("REFRESH_TOKEN_TTL_SECS", defaults.refresh_token_ttl)?,
            refresh_grace: seconds("REFRESH_GRACE_SECS", defaults.refresh_grace)?,
            cors_origins: var("CORS_ALLOWED_ORIGINS").map_or(defaults.cors_origins, |v| {
                v.split(',')
                    .map(|o| o.trim().to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            }),
            auth_keys: var("AUTH_KEYS").map(SecretString::from),
            auth_keys_secret_id: var("AUTH_KEYS_SECRET_ID"),
            secrets_cache_ttl: seconds("SECRETS_CACHE_TTL_SECS", defaults.secrets_cache_ttl)?,
            access_token_alg: match var("ACCESS_TOKEN_ALG") {
                None => defaults.access_token_alg,
                Some(name) => SigningAlg::parse(name.trim())
                    .ok_or_else(|| ConfigError("ACCESS_TOKEN_ALG must be EdDSA or ES256".into()))?,
            },
            hs256_accepted_until: var("HS256_ACCEPTED_UNTIL")
                .map(|text| {
                    crate::clock::parse_rfc3339(text.trim()).ok_or_else(|| {
                        ConfigError("HS256_ACCEPTED_UNTIL must be an RFC 3339 time".into())
                    })
                })
                .transpose()?,
            api_base_url: var("API_BASE_URL")
                .map(|url| {
                    let url = url.trim().trim_end_matches('/');
                    match url.starts_with("https://") || url.starts_with("http://") {
                        true => Ok(url.to_owned()),
                        false => Err(ConfigError("API_BASE_URL must be an http(s) URL".into())),
                    }
                })
                .transpose()?,
            connect_during_init: flag("CONNECT_DURING_INIT", defaults.connect_during_init)?,
            password_hash_queue: number("PASSWORD_HASH_QUEUE", defaults.password_hash_queue)?,
            aws_attempt_timeout: millis("AWS_ATTEMPT_TIMEOUT_MS", defaults.aws_attempt_timeout)?,
            aws_connect_timeout: millis("AWS_CONNECT_TIMEOUT_MS", defaults.aws_connect_timeout)?,
            relying_party: RelyingParty::from_settings(
                var("WEBAUTHN_RP_ID").as_deref(),
                var("WEBAUTHN_ORIGINS").as_deref(),
                &app_base_url,
            )?,
            app_base_url,
            require_email_verification: flag(
                "REQUIRE_EMAIL_VERIFICATION",
                defaults.require_email_verification,
            )?,
            email_queue_url: var("EMAIL_QUEUE_URL"),
            telegram_queue_url: var("TELEGRAM_QUEUE_URL"),
            email_dead_letter_queue_url: var("EMAIL_DEAD_LETTER_QUEUE_URL"),
            telegram_dead_letter_queue_url: var("TELEGRAM_DEAD_LETTER_QUEUE_URL"),
            counter_shards: match number("COUNTER_SHARDS", defaults.counter_shards as usize)? {
                n @ 1..=100 => n as u32,
                _ => return Err(ConfigError("COUNTER_SHARDS must be 1..=100".into())),
            },
            // Each page of the unfiltered audit listing queries every shard: past 32 that costs
            // more than the write rate it buys (~1,000 events a second per shard) is worth.
            audit_shards: match number("AUDIT_SHARDS", defaults.audit_shards as usize)? {
                n @ 1..=32 => n as u32,
                _ => return Err(ConfigError("AUDIT_SHARDS must be 1..=32".into())),
            },
            listing_shards: match number("LISTING_SHARDS", defaults.listing_shards as usize)? {
                n @ 1..=MAX_LISTING_SHARDS => n as u32,
                _ => {
                    return Err(ConfigError(format!(
                        "LISTING_SHARDS must be 1..={MAX_LISTING_SHARDS}"
                    )));
                }
            },
            admin_email: var("ADMIN_EMAIL"),
            reset_mail_gap: seconds("RESET_MAIL_GAP_SECS", defaults.reset_mail_gap)?,
            email_login: flag("EMAIL_LOGIN", defaults.email_login)?,
            oauth_providers: var("OAUTH_PROVIDERS").map(SecretString::from),
            oauth_providers_secret_id: var("OAUTH_PROVIDERS_SECRET_ID"),
            oauth_return_urls: var("OAUTH_RETURN_URLS")
                .map(|list| {
                    list.split(',')
                        .map(|url| url.trim().to_owned())
                        .filter(|url| !url.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            default_phone_region: var("DEFAULT_PHONE_REGION"),
            rate_limits: RateLimits::from_env()?,
            trusted_proxies: var("TRUSTED_PROXIES")
                .map(|list| parse_networks(&list))
                .transpose()?
                .unwrap_or_default(),
            audit_retention: Duration::from_secs(
                number("AUDIT_RETENTION_DAYS", 90)? as u64 * 86_400,
            ),
            mfa_keys: var("MFA_KEYS").map(SecretString::from),
            mfa_keys_secret_id: var("MFA_KEYS_SECRET_ID"),
            mfa_issuer: var("MFA_ISSUER").unwrap_or(defaults.mfa_issuer),
            require_admin_mfa: flag("REQUIRE_ADMIN_MFA", defaults.require_admin_mfa)?,
            breached_passwords: BreachedPasswordsConfig::from_env()?,
        })
    }

    /// The defaults with a browser origin allowed, as the tests use them. Rate limits are off:
    /// the tests of limits turn them on.
    pub fn for_tests() -> Self {
        Self {
            cors_origins: vec!["http://localhost:5173".into()],
            rate_limits: RateLimits::off(),
            ..Self::default()
        }
    }

    /// The embedded table's file. (Earlier versions kept one table per entity in
    /// `app.sqlite3`; that file is left alone and no longer read.)
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("table.sqlite3")
    }
}

/// `10.0.0.0/8, 192.0.2.7`: networks, or single addresses.
fn parse_networks(list: &str) -> Result<Vec<IpNet>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| ConfigError(format!("TRUSTED_PROXIES: `{entry}` is not a CIDR")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_key_set() {
        let config = Config {
            auth_keys: Some(SecretString::from(
                r#"{"activeKid":"k1","k1":"super-secret-signing-key-material"}"#,
            )),
            mfa_keys: Some(SecretString::from(
                r#"{"activeKid":"m1","m1":"super-secret-sealing-key-material"}"#,
            )),
            ..Config::default()
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("super-secret"), "{printed}");
    }

    #[test]
    fn trusted_proxies_are_networks_or_addresses() {
        let networks = parse_networks("10.0.0.0/8, 192.0.2.7 ,2001:db8::/32").unwrap();
        assert_eq!(networks.len(), 3);
        assert!(networks[1].contains(&"192.0.2.7".parse::<IpAddr>().unwrap()));
        assert!(parse_networks("10.0.0.0/33").is_err());
        assert!(parse_networks("proxy.local").is_err());
    }
}
