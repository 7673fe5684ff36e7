//! The HTTP server: every function's router on one port, shut down gracefully.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request};
use axum::serve::IncomingStream;
use shared::http::set_source_ip;
use shared::jobs::{Deliveries, Needs};
use shared::{App, BoxError};

use crate::server_errors::ProblemListener;

pub async fn run(app: Arc<App>) -> Result<(), BoxError> {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    start_workers(&app).await?;
    crate::metrics::start_timer(app.clone());
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
    // Tests and scripts wait for this exact line.
    println!("listening on http://{}", listener.local_addr()?);

    let router = local_api::router(app)
        .layer(axum::middleware::map_request(peer_as_source_ip))
        .into_make_service_with_connect_info::<Peer>();
    axum::serve(ProblemListener(listener), router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// The address a connection came from.
#[derive(Clone, Copy)]
struct Peer(SocketAddr);

impl Connected<IncomingStream<'_, ProblemListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, ProblemListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// The socket's peer, where API Gateway puts the source address: handlers read the caller's
/// address one way on Lambda and here (`X-Forwarded-For` only counts behind `TRUSTED_PROXIES`).
async fn peer_as_source_ip(mut req: Request) -> Request {
    if let Some(ConnectInfo(Peer(peer))) = req.extensions().get::<ConnectInfo<Peer>>().cloned() {
        set_source_ip(req.extensions_mut(), peer.ip());
    }
    req
}

/// On the embedded store, the e-mail and Telegram workers and the outbox sweeper run here;
/// without SMTP or a bot token configured they write files under `DATA_DIR`.
async fn start_workers(app: &Arc<App>) -> Result<(), BoxError> {
    let Some(store) = app.embedded_store().cloned() else {
        tracing::warn!("not on the embedded store: jobs go to the configured queues (if any)");
        return Ok(());
    };
    let needs = Needs {
        mail: false,
        telegram: false,
        files_fallback: true,
    };
    let deliveries = Deliveries::from_env(None, &app.config.data_dir, needs).await?;
    let (mail, telegram) = deliveries.describe();
    tracing::info!(mail, telegram, "workers running in-process");
    crate::jobs::start(app.clone(), store, deliveries);
    Ok(())
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
