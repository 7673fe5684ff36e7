//! The HTTP server: turns each request into the Lambda request shape and back, so the local
//! API runs exactly the handlers that ship.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body as AxumBody, to_bytes};
use lambda_http::{Body, RequestExt};
use shared::App;
use shared::app::BoxError;
use shared::http::{self, ApiError, MAX_BODY_BYTES};

use local_api::router::dispatch;

pub async fn run(app: Arc<App>) -> Result<(), BoxError> {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
    // Tests and scripts wait for this exact line.
    println!("listening on http://{}", listener.local_addr()?);

    let service = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let app = app.clone();
        async move { handle(&app, req).await }
    });
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("shut down cleanly");
    Ok(())
}

async fn handle(app: &App, req: axum::extract::Request) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    let query: HashMap<String, String> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let response = match to_bytes(body, MAX_BODY_BYTES + 1).await {
        Ok(bytes) => {
            let req = lambda_http::http::Request::from_parts(parts, Body::from(bytes.to_vec()))
                .with_query_string_parameters(query);
            dispatch(app, req).await
        }
        // Over the limit: answer 413 without reading further.
        Err(_) => {
            let req = lambda_http::http::Request::from_parts(parts, Body::Empty);
            http::serve(app, req, |_| async {
                Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES))
            })
            .await
        }
    };
    let (parts, body) = response.into_parts();
    let body = match body {
        Body::Text(text) => AxumBody::from(text),
        Body::Binary(bytes) => AxumBody::from(bytes),
        _ => AxumBody::empty(),
    };
    axum::response::Response::from_parts(parts, body)
}

/// Ctrl-C or SIGTERM: stop accepting, let in-flight requests finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
