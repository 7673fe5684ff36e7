//! The AWS SDK configuration every client of a function is built from.
//!
//! On Lambda the runtime hands a function everything the SDK needs in its environment: the
//! region (`AWS_REGION`) and the execution role's credentials (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`). Lambda binaries read exactly that
//! ([`from_environment`]) and link none of aws-config's other providers (profiles, SSO, web
//! identity through STS, IMDS), which cost binary size and start-up time. local-api, the tests
//! and the tools, run by people with profiles, take the SDK's full chain (feature
//! `aws-profiles`).

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::SdkConfig;
use aws_types::region::Region;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

use crate::BoxError;
use crate::config::Config;

/// The configuration from the environment, with time limits: a dependency that hangs costs at
/// most two attempts of `aws_attempt_timeout`, well inside the function's timeout. Every client
/// built from it shares one HTTPS client (one connection pool, one trust store).
pub async fn aws_sdk_config(config: &Config) -> Result<SdkConfig, BoxError> {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(config.aws_connect_timeout)
        .read_timeout(config.aws_attempt_timeout)
        .operation_attempt_timeout(config.aws_attempt_timeout)
        .operation_timeout(config.aws_attempt_timeout * 2 + config.aws_connect_timeout)
        .build();
    let retries = RetryConfig::standard().with_max_attempts(2);
    let http = super::aws_http::https_client()?;
    #[cfg(feature = "aws-profiles")]
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .timeout_config(timeouts)
        .retry_config(retries)
        .load()
        .await;
    #[cfg(not(feature = "aws-profiles"))]
    let sdk = from_environment(|name| std::env::var(name).ok())?
        .to_builder()
        .http_client(http)
        .timeout_config(timeouts)
        .retry_config(retries)
        .build();
    Ok(sdk)
}

/// The region, the credentials and the endpoint overrides (`AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_<SERVICE>`) from environment variables alone, read through `env`.
pub fn from_environment(
    env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
) -> Result<SdkConfig, BoxError> {
    let region = env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .filter(|region| !region.is_empty())
        .ok_or("AWS_REGION is not set (Lambda sets it; set it for local runs)")?;
    let (Some(key), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) else {
        return Err(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them \
                    from the function's role; export them for local runs)"
                .into(),
        );
    };
    // Lambda's role credentials outlive the execution environment, so they are read once.
    let credentials = Credentials::new(key, secret, env("AWS_SESSION_TOKEN"), None, "environment");
    Ok(SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .service_config(EndpointsFromEnvironment(Box::new(env)))
        .build())
}

/// What the SDK asks of the environment per service, in aws-config's order: the
/// service's own variable (`AWS_ENDPOINT_URL_DYNAMODB`), then the general one
/// (`AWS_ENDPOINT_URL`); `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` turns the endpoint ones off.
struct EndpointsFromEnvironment(Box<ReadVariable>);

/// Reads one environment variable (a closure, so tests pass their own environment).
type ReadVariable = dyn Fn(&str) -> Option<String> + Send + Sync;

impl std::fmt::Debug for EndpointsFromEnvironment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EndpointsFromEnvironment")
    }
}

impl LoadServiceConfig for EndpointsFromEnvironment {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let env = &self.0;
        if key.env() == "AWS_ENDPOINT_URL"
            && env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
                .is_some_and(|value| value.eq_ignore_ascii_case("true"))
        {
            return None;
        }
        let service = key
            .service_id()
            .to_ascii_uppercase()
            .replace([' ', '-'], "_");
        env(&format!("{}_{service}", key.env()))
            .or_else(|| env(key.env()))
            .filter(|value| !value.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(
        pairs: &[(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
        let pairs = pairs.to_vec();
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        }
    }

    fn endpoint(pairs: &[(&'static str, &'static str)], service: &str) -> Option<String> {
        let key = ServiceConfigKey::builder()
            .service_id(service)
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .unwrap();
        EndpointsFromEnvironment(Box::new(env_of(pairs))).load_config(key)
    }

    #[test]
    fn a_service_endpoint_wins_over_the_general_one() {
        let env = &[
            ("AWS_ENDPOINT_URL", "http://general"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://dynamodb"),
        ];
        assert_eq!(
            endpoint(env, "DynamoDB").as_deref(),
            Some("http://dynamodb")
        );
        assert_eq!(endpoint(env, "SQS").as_deref(), Some("http://general"));
        assert_eq!(
            endpoint(
                &[("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://sm")],
                "Secrets Manager"
            )
            .as_deref(),
            Some("http://sm")
        );
        assert_eq!(endpoint(&[], "SQS"), None);
    }

    #[test]
    fn configured_endpoints_can_be_ignored() {
        let env = &[
            ("AWS_ENDPOINT_URL", "http://general"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ];
        assert_eq!(endpoint(env, "SQS"), None);
    }

    #[test]
    fn the_region_and_credentials_are_required() {
        let keys = [
            ("AWS_ACCESS_KEY_ID", "id"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ];
        assert!(from_environment(env_of(&[])).is_err());
        assert!(from_environment(env_of(&[("AWS_REGION", "eu-west-1")])).is_err());
        assert!(from_environment(env_of(&[keys[0], keys[1]])).is_err());
        let sdk = from_environment(env_of(&[
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            keys[0],
            keys[1],
        ]))
        .unwrap();
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
    }
}
