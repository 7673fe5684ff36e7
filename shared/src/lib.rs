//! Everything the functions share: domain types, auth, HTTP glue, storage ports and adapters.

pub mod app;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod config;
pub mod domain;
pub mod http;
pub mod https_client;
pub mod jobs;
pub mod lambda;
pub mod limits;
pub mod metrics;
#[cfg(feature = "delivery")]
pub mod notify;
pub mod permissions;
pub mod secrets;
pub mod store;
pub mod stream;
pub mod telemetry;

pub use app::App;

/// Any error, kept with its cause chain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
