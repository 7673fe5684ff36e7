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
        check_roots(&pem)
            .map_err(|error| format!("AWS_CA_BUNDLE {}: {error}", path.to_string_lossy()))?;
        roots = roots.with_pem_certificate(pem);
    }
    let context = TlsContext::builder().with_trust_store(roots).build()?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
}

/// The SDK parses the roots only when it first connects, and panics on a bad one: a bundle is
/// checked here, so a bad one stops the function at start-up with its reason.
fn check_roots(pem: &[u8]) -> Result<(), String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("not a PEM bundle ({error})"))?;
    if certificates.is_empty() {
        return Err("holds no certificate".into());
    }
    let (_, unusable) = rustls::RootCertStore::empty().add_parsable_certificates(certificates);
    match unusable {
        0 => Ok(()),
        n => Err(format!("{n} certificate(s) are not usable as roots")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_roots_are_five_usable_certificates() {
        check_roots(AMAZON_ROOTS).unwrap();
        let count = String::from_utf8_lossy(AMAZON_ROOTS)
            .matches("BEGIN CERTIFICATE")
            .count();
        assert_eq!(count, 5);
    }

    #[test]
    fn a_bundle_that_is_not_roots_is_refused_with_its_reason() {
        assert!(check_roots(b"").unwrap_err().contains("no certificate"));
        assert!(
            check_roots(b"just text")
                .unwrap_err()
                .contains("no certificate")
        );
        let garbage = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(check_roots(garbage).unwrap_err().contains("not usable"));
    }
}
