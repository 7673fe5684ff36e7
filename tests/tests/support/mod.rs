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
    let req = json_request(
        Method::POST,
        "/api/auth/register",
        &serde_json::json!({ "email": email, "password": password, "name": "Test User" }),
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
