//! The local server's routing, shared with the tests so they route exactly as `local-api` does.

pub mod router;
