//! Starts the real `local-api` binary on a free port with its own data directory.

pub mod browser;
pub mod mail;
/// The same provider the API tests sign in with, on loopback (its misbehaviours are theirs).
#[allow(dead_code)]
#[path = "../../../../tests/tests/api/support/oidc_provider.rs"]
pub mod oidc_provider;
pub mod stores;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

pub struct Server {
    child: Child,
    pub base: String,
    pub http: reqwest::Client,
}

impl Server {
    pub fn start(data_dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_local-api"))
            .env("PORT", "0")
            .env("DATA_DIR", data_dir)
            .env("CORS_ALLOWED_ORIGINS", "http://localhost:5173")
            .env("RUST_LOG", "warn")
            .env_remove("STORE")
            .env_remove("TABLE_NAME")
            .env_remove("AUTH_KEYS")
            .env_remove("AUTH_KEYS_SECRET_ID")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .expect("local-api starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("local-api printed its address");
        Self {
            child,
            base,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM, then the exit status of a graceful shutdown.
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        self.child.wait().expect("local-api exits")
    }

    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_authed(&self, path: &str, token: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_authed(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn register(&self, email: &str, password: &str) -> Value {
        let response = self
            .post(
                "/api/auth/register",
                json!({ "email": email, "password": password, "name": "Ada" }),
            )
            .await;
        assert_eq!(response.status(), 201);
        response.json().await.expect("JSON body")
    }

    /// Proves `email`'s address with the link of the welcome mail written under `data`.
    pub async fn verify_from_welcome(&self, data: &Path, email: &str) {
        let welcome =
            mail::mail_to(data, email, "Welcome! Please verify your e-mail address").await;
        let verified = self
            .post(
                "/api/auth/verify-email",
                json!({ "token": mail::token_in(&welcome, "verify-email") }),
            )
            .await;
        assert_eq!(verified.status(), 204);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts a problem+json answer; returns it.
pub async fn problem(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = response.json().await.expect("JSON problem");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert_eq!(body["requestId"].as_str(), request_id.as_deref());
    body
}
