//! local-api's tests, one binary: the server over real sockets, its flows and its limits.

mod support;

mod account_flow;
mod account_pages;
mod auth_flow;
mod bad_input;
mod connection_limits;
mod dashboard_page;
mod emulated_flow;
mod jwks_interop;
mod mfa_flow;
mod pages_served;
mod posts_flow;
mod promote;
