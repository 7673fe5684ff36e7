//! The state a function builds once at start-up and every request shares: the composition
//! root. Lower layers take only the parts they use; the views below hand them those parts.

mod aws_http;
mod aws_sdk;
mod environment;
mod lambdas;

use std::sync::Arc;

pub use aws_sdk::{aws_sdk_config, from_environment as aws_sdk_config_from_environment};
pub use lambdas::serve_lambda;
#[cfg(all(feature = "sqs", feature = "dynamodb", feature = "delivery"))]
pub use lambdas::worker_from_env;

#[cfg(feature = "sqlite")]
use crate::BoxError;
use crate::audit::{AuditRetry, AuditTrail};
use crate::auth::mfa::{MfaKeyProvider, MfaKeys};
use crate::auth::{BreachedPasswords, PasswordHasher, Refusal, Sessions};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::{FieldErrors, Password};
use crate::http::ApiError;
use crate::jobs::{JobQueue, NoQueue};
use crate::limits::{Limits, Logins};
use crate::secrets::KeyProvider;
use crate::store::Stores;
#[cfg(feature = "sqlite")]
use crate::store::entities::TableStore;

pub struct App {
    pub config: Config,
    pub stores: Stores,
    pub keys: KeyProvider,
    /// The keys that seal second factors (their own secret; fetched on first use).
    pub mfa_keys: MfaKeyProvider,
    /// The social sign-in providers (their secret is read on first use).
    pub oauth: crate::auth::oauth::OAuthProviders,
    /// The time one-time codes and their challenges are checked at.
    pub clock: Clock,
    pub hasher: PasswordHasher,
    /// Refuses new passwords found in known breaches (`BREACHED_PASSWORDS*`).
    pub breached_passwords: BreachedPasswords,
    /// Where committed jobs go: SQS on AWS, the embedded store's queue locally.
    pub queue: Arc<dyn JobQueue>,
    /// The AWS SDK configuration the app's clients were built from, when it uses AWS: a
    /// function builds its other clients from it, sharing their connections.
    pub aws: Option<aws_types::SdkConfig>,
    #[cfg(feature = "sqlite")]
    embedded: Option<Arc<crate::store::table::sqlite::SqliteTable>>,
}

impl App {
    pub fn new(config: Config, stores: Stores, keys: KeyProvider) -> Self {
        Self {
            hasher: PasswordHasher::per_core(config.password_hash_queue),
            breached_passwords: BreachedPasswords::new(config.breached_passwords.clone()),
            config,
            stores,
            keys,
            mfa_keys: MfaKeyProvider::fixed(MfaKeys::generate()),
            oauth: crate::auth::oauth::OAuthProviders::none(),
            clock: Clock::system(),
            queue: Arc::new(NoQueue("no job queue is configured")),
            aws: None,
            #[cfg(feature = "sqlite")]
            embedded: None,
        }
    }

    /// An app on the embedded store at `config.sqlite_path()`.
    #[cfg(feature = "sqlite")]
    pub fn embedded(config: Config, keys: KeyProvider) -> Result<Self, BoxError> {
        let table = Arc::new(crate::store::table::sqlite::SqliteTable::open(
            &config.sqlite_path(),
        )?);
        let store = TableStore::new(table.clone())
            .with_counter_shards(config.counter_shards)
            .with_audit_shards(config.audit_shards)
            .with_listing_shards(config.listing_shards);
        let stores = Stores::from_adapter(Arc::new(store));
        let mut app = Self::new(config, stores, keys).with_queue(table.clone());
        app.embedded = Some(table);
        Ok(app)
    }

    /// The embedded store, when the app runs on it.
    #[cfg(feature = "sqlite")]
    pub fn embedded_store(&self) -> Option<&Arc<crate::store::table::sqlite::SqliteTable>> {
        self.embedded.as_ref()
    }

    pub fn with_queue(self, queue: Arc<dyn JobQueue>) -> Self {
        Self { queue, ..self }
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

/// The parts each lower layer works with.
impl App {
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions {
            users: &*self.stores.users,
            sessions: &*self.stores.sessions,
            keys: &self.keys,
            config: &self.config,
        }
    }

    pub fn audit_trail(&self) -> AuditTrail<'_> {
        AuditTrail {
            log: &*self.stores.audit,
            retention: self.config.audit_retention,
            retry: AuditRetry::default(),
            table: &self.config.table_name,
        }
    }

    pub fn limits(&self) -> Limits<'_> {
        Limits {
            store: &*self.stores.limits,
            rules: &self.config.rate_limits,
        }
    }

    pub fn logins(&self) -> Logins<'_> {
        Logins {
            limits: self.limits(),
            hasher: &self.hasher,
            audit: self.audit_trail(),
        }
    }
}

/// Shorthands for what most handlers do.
impl App {
    /// Records a security event. Never fails the request: a write the store refuses is retried,
    /// then logged at ERROR with the event and counted (`AuditTrail::record`).
    pub async fn audit(&self, event: crate::domain::AuditEvent) {
        self.audit_trail().record(event).await;
    }

    /// Refuses a new password found in known breaches: 422 with `password_breached` on `field`,
    /// or 503 when the check could not be completed and `BREACHED_PASSWORDS_ON_ERROR=refuse`.
    /// Runs after the password's other rules and before it is hashed; login never runs it.
    pub async fn check_new_password(
        &self,
        field: &str,
        password: &Password,
    ) -> Result<(), ApiError> {
        match self.breached_passwords.check(password).await {
            Ok(()) => Ok(()),
            Err(Refusal::Breached) => {
                let mut errors = FieldErrors::default();
                errors.push(field, Password::breached());
                Err(ApiError::Validation(errors.into_vec()))
            }
            Err(Refusal::Unchecked(cause)) => Err(ApiError::Unavailable {
                detail: "the new password could not be checked against known breaches; \
                         try again in a moment",
                retry_after_secs: 1,
                cause: Some(cause),
            }),
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
}
