//! Calls to a provider: JSON answers only, within a time and size budget, over the client the
//! other outside calls use (rustls on aws-lc-rs).

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, header};
use http_body_util::{BodyExt, Full, Limited};
use serde::de::DeserializeOwned;

use super::OAuthError;
use crate::https_client::{HttpsClient, https_client};

const TIMEOUT: Duration = Duration::from_secs(5);
const MAX_ANSWER_BYTES: usize = 256 * 1024;
const USER_AGENT: &str = "serverless-backend-oauth";

fn client() -> Result<&'static HttpsClient, OAuthError> {
    static CLIENT: OnceLock<HttpsClient> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client);
    }
    let client = https_client().map_err(|e| OAuthError::Provider(format!("roots: {e}")))?;
    Ok(CLIENT.get_or_init(|| client))
}

/// GET `url` as JSON, with `bearer` if given.
pub async fn get_json<T: DeserializeOwned>(
    url: &str,
    bearer: Option<&str>,
) -> Result<T, OAuthError> {
    let mut request = Request::get(url)
        .header(header::ACCEPT, "application/json")
        .header(header::USER_AGENT, USER_AGENT);
    if let Some(token) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request
        .body(Full::new(Bytes::new()))
        .map_err(|e| OAuthError::Provider(e.to_string()))?;
    send(request).await
}

/// POST `form` to `url`, answered in JSON.
pub async fn post_form<T: DeserializeOwned>(
    url: &str,
    form: &[(&str, &str)],
) -> Result<T, OAuthError> {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let request = Request::post(url)
        .header(header::ACCEPT, "application/json")
        .header(header::USER_AGENT, USER_AGENT)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| OAuthError::Provider(e.to_string()))?;
    send(request).await
}

async fn send<T: DeserializeOwned>(request: Request<Full<Bytes>>) -> Result<T, OAuthError> {
    let uri = request.uri().clone();
    tokio::time::timeout(TIMEOUT, async {
        let response = client()?
            .request(request)
            .await
            .map_err(|e| OAuthError::Provider(format!("{uri}: {e}")))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| OAuthError::Provider(format!("{uri}: {e}")))?
            .to_bytes();
        if !status.is_success() {
            return Err(OAuthError::Refused(format!("{uri} answered {status}")));
        }
        serde_json::from_slice(&body)
            .map_err(|e| OAuthError::Provider(format!("{uri}: not the expected JSON: {e}")))
    })
    .await
    .map_err(|_| OAuthError::Provider(format!("{uri}: no answer within {TIMEOUT:?}")))?
}
