//! Telegram delivery against a local stand-in for the Bot API: the exact request sent, and how
//! each kind of failure is sorted for retrying.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use serde_json::{Value, json};
use shared::notify::DeliveryError;
use shared::notify::html::escape;
use shared::notify::telegram::{Telegram, TelegramConfig, render_local};

const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
const CHAT_ID: &str = "-1001234567890";

const SENT: &str = r#"{"ok":true,"result":{"message_id":7}}"#;
const RATE_LIMITED: &str = r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}"#;
const BLOCKED: &str =
    r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#;
const CHAT_NOT_FOUND: &str =
    r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#;
const UNAUTHORIZED: &str = r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#;
const NOT_FOUND: &str = r#"{"ok":false,"error_code":404,"description":"Not Found"}"#;
const SERVER_ERROR: &str = r#"{"ok":false,"error_code":500,"description":"Internal Server Error"}"#;

struct Received {
    path: String,
    content_type: Option<String>,
    body: Value,
}

/// A Bot API on 127.0.0.1 that records every request and gives each the same answer.
struct StandIn {
    base: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl StandIn {
    async fn answering(status: StatusCode, answer: &'static str) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(Received {
                    path: uri.path().to_owned(),
                    content_type: headers
                        .get(header::CONTENT_TYPE)
                        .and_then(|value| value.to_str().ok())
                        .map(str::to_owned),
                    body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                });
                (status, [(header::CONTENT_TYPE, "application/json")], answer)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, received }
    }

    fn telegram(&self) -> Telegram {
        telegram_at(&self.base)
    }

    fn received(&self) -> Vec<Received> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }
}

fn telegram_at(api_base: &str) -> Telegram {
    Telegram::new(TelegramConfig {
        api_base: api_base.to_owned(),
        bot_token: TOKEN.into(),
        admin_chat_id: CHAT_ID.to_owned(),
    })
}

async fn failure_for(status: StatusCode, answer: &'static str) -> DeliveryError {
    let stand_in = StandIn::answering(status, answer).await;
    stand_in
        .telegram()
        .send_html(CHAT_ID, "<b>hello</b>")
        .await
        .expect_err("the stand-in refused the message")
}

/// An address where nothing listens.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

#[tokio::test]
async fn posts_exactly_the_local_rendering_to_the_bot_path() {
    let stand_in = StandIn::answering(StatusCode::OK, SENT).await;
    let html = "<b>New sign-up</b>\n<i>3 pending</i>";

    stand_in.telegram().send_html(CHAT_ID, html).await.unwrap();

    let received = stand_in.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.path, format!("/bot{TOKEN}/sendMessage"));
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        request.body,
        json!({
            "chat_id": CHAT_ID,
            "text": html,
            "parse_mode": "HTML",
            "disable_web_page_preview": true,
        })
    );
    assert_eq!(request.body, render_local(CHAT_ID, html));
}

#[tokio::test]
async fn escaped_user_values_arrive_intact() {
    let stand_in = StandIn::answering(StatusCode::OK, SENT).await;
    let name = r#"ada_lovelace *[admin]* <script> & "quoted""#;
    let html = format!("<b>New user</b>: {}", escape(name));

    stand_in.telegram().send_html(CHAT_ID, &html).await.unwrap();

    let text = &stand_in.received()[0].body["text"];
    assert_eq!(text, &Value::String(html));
    assert_eq!(
        text,
        "<b>New user</b>: ada_lovelace *[admin]* &lt;script&gt; &amp; &quot;quoted&quot;"
    );
}

#[tokio::test]
async fn too_many_requests_asks_to_retry_after_the_given_delay() {
    let error = failure_for(StatusCode::TOO_MANY_REQUESTS, RATE_LIMITED).await;
    assert!(
        matches!(error, DeliveryError::RetryAfter(delay) if delay == Duration::from_secs(3)),
        "{error:?}"
    );
}

#[tokio::test]
async fn too_many_requests_without_a_delay_is_transient() {
    let error = failure_for(StatusCode::TOO_MANY_REQUESTS, r#"{"ok":false}"#).await;
    assert!(matches!(error, DeliveryError::Transient(_)), "{error:?}");
}

#[tokio::test]
async fn a_blocked_bot_is_permanent_and_says_why() {
    let error = failure_for(StatusCode::FORBIDDEN, BLOCKED).await;
    assert!(
        matches!(&error, DeliveryError::Permanent(reason) if reason.contains("bot was blocked by the user")),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_unknown_chat_is_permanent() {
    let error = failure_for(StatusCode::BAD_REQUEST, CHAT_NOT_FOUND).await;
    assert!(
        matches!(&error, DeliveryError::Permanent(reason) if reason.contains("chat not found")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_bad_token_or_method_is_permanent() {
    for (status, answer) in [
        (StatusCode::UNAUTHORIZED, UNAUTHORIZED),
        (StatusCode::NOT_FOUND, NOT_FOUND),
    ] {
        let error = failure_for(status, answer).await;
        assert!(matches!(error, DeliveryError::Permanent(_)), "{error:?}");
    }
}

#[tokio::test]
async fn a_server_error_is_transient() {
    for (status, answer) in [
        (StatusCode::INTERNAL_SERVER_ERROR, SERVER_ERROR),
        (StatusCode::BAD_GATEWAY, "<html>502 Bad Gateway</html>"),
    ] {
        let error = failure_for(status, answer).await;
        assert!(matches!(error, DeliveryError::Transient(_)), "{error:?}");
    }
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let error = telegram_at(&closed_port().await)
        .send_html(CHAT_ID, "hello")
        .await
        .unwrap_err();
    assert!(matches!(error, DeliveryError::Transient(_)), "{error:?}");
}

#[tokio::test]
async fn no_error_or_debug_output_reveals_the_token() {
    let mut errors = Vec::new();
    for (status, answer) in [
        (StatusCode::TOO_MANY_REQUESTS, RATE_LIMITED),
        (StatusCode::FORBIDDEN, BLOCKED),
        (StatusCode::BAD_REQUEST, CHAT_NOT_FOUND),
        (StatusCode::UNAUTHORIZED, UNAUTHORIZED),
        (StatusCode::NOT_FOUND, NOT_FOUND),
        (StatusCode::INTERNAL_SERVER_ERROR, SERVER_ERROR),
    ] {
        errors.push(failure_for(status, answer).await);
    }
    for unreachable in [closed_port().await, "http://not a host".to_owned()] {
        errors.push(
            telegram_at(&unreachable)
                .send_html(CHAT_ID, "hello")
                .await
                .unwrap_err(),
        );
    }

    let secret_half = TOKEN.split_once(':').unwrap().1;
    let mut outputs: Vec<String> = errors
        .iter()
        .flat_map(|error| [error.to_string(), format!("{error:?}")])
        .collect();
    let telegram = telegram_at("http://127.0.0.1:9");
    outputs.push(format!("{telegram:?}"));
    for output in outputs {
        assert!(!output.contains(secret_half), "{output}");
    }
}
