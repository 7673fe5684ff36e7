//! The HTTPS client every AWS SDK client of a function shares.
//!
//! It trusts Amazon Trust Services' five roots, compiled in, rather than the system's bundle:
//! every AWS endpoint chains to one of them, and parsing ~140 system roots at the first request
//! costs a cold start milliseconds for nothing. `AWS_CA_BUNDLE` (the name the AWS CLI and SDKs
//! give it) adds a PEM file of further roots, for a TLS-inspecting proxy or a local emulator
//! behind TLS.

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::BoxError;

const AMAZON_ROOTS: &[u8] = include_bytes!("amazon-roots.pem");

/// The client, with the roots above and any `AWS_CA_BUNDLE`.
pub fn https_client() -> Result<SharedHttpClient, BoxError> {
    let mut roots = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AMAZON_ROOTS);
    if let Some(path) = std::env::var_os("AWS_CA_BUNDLE") {
        let pem = std::fs::read(&path)
            .map_err(|error| format!("AWS_CA_BUNDLE {}: {error}", path.to_string_lossy()))?;
        roots = roots.with_pem_certificate(pem);
    }
    let context = TlsContext::builder().with_trust_store(roots).build()?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
}
