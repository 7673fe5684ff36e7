//! Fixtures: an app on each store, and requests shaped as a function receives them.
#![allow(dead_code)]

use std::sync::Arc;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, RequestExt};
use serde_json::Value;
use shared::App;
use shared::auth::KeySet;
use shared::config::Config;
use shared::http::{Request, Response};
use shared::secrets::KeyProvider;
use shared::store::Stores;
use shared::store::dynamo::{DynamoStore, schema};

/// An app on a fresh store; the temp dir (embedded store) lives as long as it does.
pub struct TestApp {
    pub app: App,
    _dir: Option<tempfile::TempDir>,
}

impl std::ops::Deref for TestApp {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

pub fn test_keys() -> KeyProvider {
    KeyProvider::fixed(KeySet::generate())
}

pub fn sqlite_app_with(config: Config) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        data_dir: dir.path().to_owned(),
        ..config
    };
    TestApp {
        app: App::embedded(config, test_keys()).expect("embedded store opens"),
        _dir: Some(dir),
    }
}

/// The emulator endpoint the test command exported; these tests cannot run without it.
pub fn emulator_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect(
        "AWS_ENDPOINT_URL is not set: run the suite with `scripts/test`, which starts a moto server",
    )
}

pub async fn dynamo_client() -> aws_sdk_dynamodb::Client {
    emulator_endpoint();
    aws_sdk_dynamodb::Client::new(&aws_config::load_from_env().await)
}

/// An app on a brand-new DynamoDB table in the emulator, created from the shared schema.
pub async fn dynamo_app_with(config: Config) -> TestApp {
    let client = dynamo_client().await;
    let table = format!("test-{}", uuid::Uuid::new_v4().simple());
    schema::create_table(&client, &table)
        .await
        .expect("table created");
    let store = Arc::new(DynamoStore::new(client, table.clone()));
    let config = Config {
        table_name: table,
        ..config
    };
    TestApp {
        app: App::new(config, Stores::from_adapter(store), test_keys()),
        _dir: None,
    }
}

pub fn request(method: Method, path: &str) -> Request {
    lambda_http::http::Request::builder()
        .method(method)
        .uri(path)
        .body(Body::Empty)
        .expect("valid request")
}

pub fn json_request(method: Method, path: &str, body: &Value) -> Request {
    let mut req = request(method, path);
    *req.body_mut() = Body::Text(body.to_string());
    req.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    req
}

pub fn with_bearer(mut req: Request, token: &str) -> Request {
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    req
}

pub fn with_query(req: Request, pairs: &[(&str, &str)]) -> Request {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    req.with_query_string_parameters(map)
}

pub fn body_json(response: &Response) -> Value {
    match response.body() {
        Body::Text(text) => serde_json::from_str(text).expect("JSON body"),
        Body::Binary(bytes) => serde_json::from_slice(bytes).expect("JSON body"),
        _ => Value::Null,
    }
}

pub fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Asserts a problem+json error with the given status and code; returns the document.
pub fn assert_problem(response: &Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "body: {:?}", response.body());
    assert_eq!(
        header(response, "content-type"),
        Some("application/problem+json")
    );
    let body = body_json(response);
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["requestId"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(body["type"].as_str().is_some() && body["title"].as_str().is_some());
    body
}

/// Registers through the real handler; returns the response body (user + tokens).
pub async fn register_user(app: &App, email: &str, password: &str) -> Value {
    register_named(app, email, password, "Test User").await
}

async fn register_named(app: &App, email: &str, password: &str, name: &str) -> Value {
    let req = json_request(
        Method::POST,
        "/api/auth/register",
        &serde_json::json!({ "email": email, "password": password, "name": name }),
    );
    let response = register::handle(app, req).await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        response.body()
    );
    body_json(&response)
}

pub async fn refresh_with(app: &App, token: &str) -> Response {
    let req = json_request(
        Method::POST,
        "/api/auth/refresh",
        &serde_json::json!({ "refreshToken": token }),
    );
    refresh::handle(app, req).await
}

/// A request as a client sends it: optional token, JSON body, extra headers, query string.
pub struct Call<'a> {
    pub method: Method,
    pub path: &'a str,
    pub token: Option<&'a str>,
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
}

impl<'a> Call<'a> {
    pub fn new(method: Method, path: &'a str) -> Self {
        Self {
            method,
            path,
            token: None,
            body: None,
            headers: Vec::new(),
        }
    }

    pub fn token(mut self, token: &'a str) -> Self {
        self.token = Some(token);
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub async fn send(self, app: &App) -> Response {
        let (path, query) = self.path.split_once('?').unwrap_or((self.path, ""));
        let mut req = match &self.body {
            Some(body) => json_request(self.method.clone(), path, body),
            None => request(self.method.clone(), path),
        };
        if let Some(token) = self.token {
            req = with_bearer(req, token);
        }
        for (name, value) in &self.headers {
            req.headers_mut().insert(*name, value.parse().unwrap());
        }
        let pairs: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.replace("%2B", "+").replace("%40", "@"))
            })
            .collect();
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        req = with_query(req, &pairs);
        local_api::router::dispatch(app, req).await
    }
}

/// A registered user: id, tokens.
pub struct Account {
    pub id: String,
    pub email: String,
    pub access: String,
    pub refresh: String,
}

pub async fn account(app: &App, email: &str, name: &str) -> Account {
    let req = json_request(
        Method::POST,
        "/api/auth/register",
        &serde_json::json!({ "email": email, "password": "correct horse battery", "name": name }),
    );
    let response = register::handle(app, req).await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        response.body()
    );
    let body = body_json(&response);
    Account {
        id: body["user"]["id"].as_str().unwrap().to_owned(),
        email: email.to_owned(),
        access: body["accessToken"].as_str().unwrap().to_owned(),
        refresh: body["refreshToken"].as_str().unwrap().to_owned(),
    }
}

/// A user with a role set through the store, as `local-api promote` does.
pub async fn account_with_role(app: &App, email: &str, role: shared::domain::Role) -> Account {
    let account = account(app, email, "Staff").await;
    app.stores
        .users
        .set_role(&account.id, role, shared::clock::now_ms())
        .await
        .unwrap();
    account
}
