//! The HTTP server: every function's router on one port, shut down gracefully.

use std::sync::Arc;

use shared::jobs::{Deliveries, Needs};
use shared::{App, BoxError};

use crate::connections::Limits;
use crate::server_errors::ProblemListener;

pub async fn run(app: Arc<App>) -> Result<(), BoxError> {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let limits = Limits::from_env()?;
    // Bound first: a second server on a taken port (and the same data) exits before it takes
    // any job from the queue or the change log.
    let listener = tokio::net::TcpListener::bind(format!("{host}:{port}")).await?;
    start_workers(&app).await?;
    crate::metrics::start_timer(app.clone());
    // Tests and scripts wait for this exact line.
    println!("listening on http://{}", listener.local_addr()?);

    let router = local_api::router(app);
    crate::connections::serve(ProblemListener(listener), router, limits, shutdown_signal()).await;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// The stream consumers and the e-mail and Telegram workers run here, on the embedded store or
/// against the emulators (`emulated`);
/// without SMTP or a bot token configured they write files under `DATA_DIR`.
async fn start_workers(app: &Arc<App>) -> Result<(), BoxError> {
    let Some(store) = app.embedded_store().cloned() else {
        return crate::emulated::start(app.clone()).await;
    };
    let needs = Needs {
        mail: false,
        telegram: false,
        files_fallback: true,
    };
    let deliveries = Deliveries::from_env(None, &app.config.data_dir, needs).await?;
    let (mail, telegram) = deliveries.describe();
    tracing::info!(mail, telegram, "workers running in-process");
    crate::jobs::start(app.clone(), store, deliveries)
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
