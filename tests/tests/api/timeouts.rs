//! Defect 14: a dependency that accepts connections and never answers costs a bounded time and
//! answers 503 with `Retry-After`, instead of hanging until Lambda kills the function.

use crate::support;

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{Credentials, Region};
use axum::http::{Method, StatusCode};
use shared::App;
use shared::config::Config;
use shared::store::Stores;
use support::{Call, TestApp, assert_problem, header};

/// A listener that accepts every connection and never writes a byte.
async fn black_hole() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn a_hung_store_answers_503_within_the_time_budget() {
    let config = Config {
        aws_attempt_timeout: Duration::from_millis(300),
        aws_connect_timeout: Duration::from_millis(300),
        ..Config::for_tests()
    };
    let sdk = shared::app::aws_sdk_config(&config).await.unwrap();
    let dynamo = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .endpoint_url(black_hole().await)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .build();
    let store = support::dynamo_store(aws_sdk_dynamodb::Client::from_conf(dynamo), "hung-table");
    let app = TestApp::new(
        App::new(config, Stores::from_adapter(store), support::test_keys()),
        None,
    );

    let started = Instant::now();
    let response = Call::new(Method::GET, "/api/posts").send(&app).await;
    let took = started.elapsed();
    assert_problem(
        &response,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    );
    assert!(header(&response, "retry-after").is_some());
    // Two attempts of 300 ms and a back-off, far inside a 10 s function timeout.
    assert!(took < Duration::from_secs(5), "took {took:?}");
}
