//! HTTPS to services outside AWS (the Telegram Bot API, the Pwned Passwords range API): the
//! TLS stack and crypto provider the AWS SDK's client already links (hyper-rustls on aws-lc-rs),
//! so nothing new is linked, with the system's root certificates.

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A pooled client (connections are kept for the next call). Plain `http://` works too, for
/// stand-ins on loopback in tests.
///
/// # Errors
///
/// If the system's root certificates cannot be read.
pub fn https_client() -> std::io::Result<HttpsClient> {
    let connector = HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}
