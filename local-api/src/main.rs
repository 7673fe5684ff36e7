//! `local-api` serves every function on one port; `local-api promote <email> <role>` sets a
//! user's role and `local-api metrics` runs the metrics job once, on whichever store is
//! configured; `local-api events` plays the event source mappings against the emulators.

mod body_deadline;
mod connections;
mod emulated;
mod jobs;
mod metrics;
mod promote;
mod server;
mod server_errors;

use std::process::ExitCode;

use shared::App;

const USAGE: &str = "usage: local-api [serve] | local-api promote <email> <user|moderator|admin> | local-api metrics | local-api events";

#[tokio::main]
async fn main() -> ExitCode {
    shared::telemetry::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        [] | ["serve"] => with_app(server::run).await,
        ["promote", email, role] => with_app(|app| promote::run(app, email, role)).await,
        ["metrics"] => with_app(metrics::run_once).await,
        ["events"] => with_app(run_events).await,
        _ => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Only the event source mappings (stream consumers, queue workers) against the emulators, for
/// `cargo lambda watch`, which serves the functions but runs no consumer.
async fn run_events(app: std::sync::Arc<App>) -> Result<(), shared::BoxError> {
    emulated::start(app).await?;
    println!("playing the event source mappings; Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    Ok(())
}

async fn with_app<F, Fut>(work: F) -> Result<(), shared::BoxError>
where
    F: FnOnce(std::sync::Arc<App>) -> Fut,
    Fut: Future<Output = Result<(), shared::BoxError>>,
{
    let app = std::sync::Arc::new(App::from_env().await?);
    let result = work(app.clone()).await;
    app.close().await;
    result
}
