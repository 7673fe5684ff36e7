//! Everything the functions share: domain types, auth, HTTP glue, storage ports and adapters.

pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod domain;
pub mod http;
pub mod lambda;
pub mod secrets;
pub mod store;
pub mod telemetry;

pub use app::App;
pub use http::{ApiError, Request, Response};
