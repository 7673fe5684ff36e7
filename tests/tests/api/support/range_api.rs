//! A stand-in for the Pwned Passwords range API on 127.0.0.1: answers `GET /range/<prefix>`
//! as the real one does with `Add-Padding: true` (every listed hash with that prefix, plus
//! made-up entries seen 0 times, sorted, CRLF lines), and records every request it gets.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri};
use shared::auth::breached::sha1;

/// How the stand-in answers.
#[derive(Clone, Copy)]
pub enum Answer {
    /// As the real API: the listed hashes and padding.
    Listing,
    /// This status, with a short body.
    Status(StatusCode),
    /// 200 with this body.
    Body(&'static str),
    /// Nothing for a minute.
    Hang,
}

/// One request as the stand-in saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub query: Option<String>,
    pub add_padding: Option<String>,
    /// Every header value, to look for anything of the password beyond the prefix.
    pub headers: Vec<String>,
}

struct State {
    answer: Answer,
    /// Upper-case SHA-1 hex of each listed password, and how often it was seen.
    listed: Vec<(String, u64)>,
    received: Vec<Received>,
}

pub struct RangeStandIn {
    pub url: String,
    state: Arc<Mutex<State>>,
}

pub fn sha1_hex(password: &str) -> String {
    sha1(password.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect()
}

impl RangeStandIn {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State {
            answer: Answer::Listing,
            listed: Vec::new(),
            received: Vec::new(),
        }));
        let shared = state.clone();
        let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let state = shared.clone();
            async move { answer(&state, &uri, &headers).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, state }
    }

    /// Lists `password` as seen `times` times (0: as padding, which is how the real API pads).
    pub fn list(&self, password: &str, times: u64) {
        self.state
            .lock()
            .unwrap()
            .listed
            .push((sha1_hex(password), times));
    }

    pub fn answer_with(&self, answer: Answer) {
        self.state.lock().unwrap().answer = answer;
    }

    /// Every request so far, forgotten once read.
    pub fn received(&self) -> Vec<Received> {
        std::mem::take(&mut self.state.lock().unwrap().received)
    }
}

async fn answer(state: &Mutex<State>, uri: &Uri, headers: &HeaderMap) -> (StatusCode, String) {
    let (mode, body) = {
        let mut state = state.lock().unwrap();
        state.received.push(Received {
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            add_padding: headers
                .get("add-padding")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
            headers: headers
                .iter()
                .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("")))
                .collect(),
        });
        let prefix = uri.path().strip_prefix("/range/").unwrap_or("");
        (state.answer, listing(&state.listed, prefix))
    };
    match mode {
        Answer::Listing => (StatusCode::OK, body),
        Answer::Status(status) => (status, "error".into()),
        Answer::Body(body) => (StatusCode::OK, body.into()),
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            (StatusCode::OK, body)
        }
    }
}

/// The listed hashes under `prefix`, with 30 padding entries, sorted as the API sorts them.
fn listing(listed: &[(String, u64)], prefix: &str) -> String {
    let mut lines: Vec<String> = listed
        .iter()
        .filter(|(hash, _)| hash.starts_with(prefix))
        .map(|(hash, times)| format!("{}:{times}", &hash[5..]))
        .collect();
    lines
        .extend((0..30).map(|i| format!("{}:0", &sha1_hex(&format!("padding {prefix} {i}"))[5..])));
    lines.sort();
    lines.join("\r\n")
}
