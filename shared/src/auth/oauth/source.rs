//! Where the providers come from: the environment (`OAUTH_PROVIDERS`, local runs and tests), or
//! a Secrets Manager secret holding the same JSON (`OAUTH_PROVIDERS_SECRET_ID`, read on first
//! use, so only the function that signs in with them reads it, and client secrets stay out of
//! the template).

use std::sync::Arc;

use super::Providers;

#[derive(Clone)]
pub struct OAuthProviders(Arc<Source>);

enum Source {
    Given(Arc<Providers>),
    #[cfg(feature = "secrets")]
    SecretsManager {
        /// The client is made on first use: most functions never sign in with a provider.
        aws: Box<aws_types::SdkConfig>,
        secret_id: String,
        loaded: tokio::sync::OnceCell<Arc<Providers>>,
    },
}

impl OAuthProviders {
    pub fn given(providers: Providers) -> Self {
        Self(Arc::new(Source::Given(Arc::new(providers))))
    }

    pub fn none() -> Self {
        Self::given(Providers::default())
    }

    #[cfg(feature = "secrets")]
    pub fn secrets_manager(aws: aws_types::SdkConfig, secret_id: String) -> Self {
        Self(Arc::new(Source::SecretsManager {
            aws: Box::new(aws),
            secret_id,
            loaded: tokio::sync::OnceCell::new(),
        }))
    }

    /// The providers; an unreadable secret is an error (tried again on the next call).
    pub async fn get(&self) -> Result<Arc<Providers>, String> {
        match &*self.0 {
            Source::Given(providers) => Ok(providers.clone()),
            #[cfg(feature = "secrets")]
            Source::SecretsManager {
                aws,
                secret_id,
                loaded,
            } => loaded
                .get_or_try_init(|| async {
                    let client = aws_sdk_secretsmanager::Client::new(aws);
                    let json = crate::secrets::secret_string(&client, secret_id).await?;
                    Providers::from_json(&json).map(Arc::new)
                })
                .await
                .cloned(),
        }
    }
}
