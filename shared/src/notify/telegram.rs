//! Telegram Bot API delivery: `sendMessage` with `parse_mode: HTML`.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::DeliveryError;
use crate::https_client::{HttpsClient, https_client};

pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";

/// Bounds connecting, sending and reading the answer together, so a stalled Bot API cannot hold
/// a function until Lambda stops it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Error answers are a few hundred bytes; anything longer is not worth reading.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct TelegramConfig {
    /// Without the `/bot<token>` part: [`DEFAULT_API_BASE`], or a stand-in in tests.
    pub api_base: String,
    pub bot_token: SecretString,
    /// Where notices for the operators go.
    pub admin_chat_id: String,
}

impl TelegramConfig {
    /// A configuration for the public Bot API.
    pub fn new(bot_token: SecretString, admin_chat_id: String) -> Self {
        Self {
            api_base: DEFAULT_API_BASE.to_owned(),
            bot_token,
            admin_chat_id,
        }
    }
}

#[derive(Debug)]
pub struct Telegram {
    client: HttpsClient,
    config: TelegramConfig,
}

impl Telegram {
    /// # Panics
    ///
    /// If the system's root certificates cannot be read.
    pub fn new(config: TelegramConfig) -> Self {
        Self {
            client: https_client()
                .expect("the system's root certificates, for the Telegram Bot API"),
            config,
        }
    }

    pub fn admin_chat_id(&self) -> &str {
        &self.config.admin_chat_id
    }

    /// Sends `html` (Telegram's HTML subset; escape values with [`super::html::escape`]).
    pub async fn send_html(&self, chat_id: &str, html: &str) -> Result<(), DeliveryError> {
        let token = self.config.bot_token.expose_secret();
        let url = format!(
            "{}/bot{token}/sendMessage",
            self.config.api_base.trim_end_matches('/')
        );
        let body = render_local(chat_id, html).to_string();
        let request = Request::post(url)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|error| DeliveryError::Permanent(failure("invalid request", &error, token)))?;
        tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(request, token))
            .await
            .unwrap_or_else(|_| {
                Err(DeliveryError::Transient(format!(
                    "no answer from Telegram within {} s",
                    REQUEST_TIMEOUT.as_secs()
                )))
            })
    }

    async fn exchange(
        &self,
        request: Request<Full<Bytes>>,
        token: &str,
    ) -> Result<(), DeliveryError> {
        let response = self.client.request(request).await.map_err(|error| {
            DeliveryError::Transient(failure("request to Telegram failed", &error, token))
        })?;
        let status = response.status();
        // Read to the end even on success, so the connection can carry the next message; an
        // unreadable answer still leaves the status to decide by.
        let answer = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map(|collected| collected.to_bytes())
            .unwrap_or_default();
        if status.is_success() {
            return Ok(());
        }
        Err(rejection(status, &answer, token))
    }
}

/// The exact JSON body [`Telegram::send_html`] posts, for writing somewhere instead of sending
/// when no bot token is configured.
pub fn render_local(chat_id: &str, html: &str) -> Value {
    json!({
        "chat_id": chat_id,
        "text": html,
        "parse_mode": "HTML",
        "disable_web_page_preview": true,
    })
}

/// The Bot API's answer to a failed call.
#[derive(Deserialize, Default)]
struct FailedCall {
    #[serde(default)]
    description: String,
    #[serde(default)]
    parameters: ResponseParameters,
}

#[derive(Deserialize, Default)]
struct ResponseParameters {
    retry_after: Option<u64>,
}

fn rejection(status: StatusCode, body: &[u8], token: &str) -> DeliveryError {
    let answer: FailedCall = serde_json::from_slice(body).unwrap_or_default();
    if let Some(seconds) = answer.parameters.retry_after {
        return DeliveryError::RetryAfter(Duration::from_secs(seconds));
    }
    // The description repeats the status's own reason phrase, so only the code goes before it.
    let reason = if answer.description.is_empty() {
        format!("Telegram answered {status}")
    } else {
        format!(
            "Telegram answered {}: {}",
            status.as_u16(),
            answer.description
        )
    };
    let reason = redacted(reason, token);
    let may_pass_later = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT;
    if may_pass_later {
        DeliveryError::Transient(reason)
    } else {
        DeliveryError::Permanent(reason)
    }
}

/// `what` followed by the error and its causes: the useful detail is usually the innermost.
fn failure(what: &str, error: &(dyn std::error::Error + 'static), token: &str) -> String {
    let mut reason = format!("{what}: {error}");
    let mut cause = error.source();
    while let Some(inner) = cause {
        reason = format!("{reason}: {inner}");
        cause = inner.source();
    }
    redacted(reason, token)
}

/// Errors end up in logs; whatever a library or the API puts in a message, the token stays out.
fn redacted(text: String, token: &str) -> String {
    if token.is_empty() {
        return text;
    }
    text.replace(token, "<bot token>")
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn redaction_removes_every_copy_of_the_token() {
        let text = "POST /bot123:abc/sendMessage failed; token 123:abc".to_owned();
        assert_eq!(
            redacted(text, "123:abc"),
            "POST /bot<bot token>/sendMessage failed; token <bot token>"
        );
    }
}
