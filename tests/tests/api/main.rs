//! The cross-crate tests, one binary: every function's routes over the shared middleware, on
//! both engines (`on_both_stores!`), the workers, the template and the contract.

#[macro_use]
mod support;

mod account_cleanup;
mod account_flows;
mod audit;
mod audit_writes;
mod breached_passwords;
mod capacity;
mod credential_events;
mod email_login;
mod emulator_setup;
mod events;
mod feed_cache;
mod index_projection;
mod jwks;
mod key_rotation;
mod lead_flood;
mod leads;
mod listing_bodies;
mod listings;
mod login_races;
mod logout;
mod mail;
mod metrics;
mod metrics_rerun;
mod mfa;
mod oauth;
mod openapi;
mod outbox_relay;
mod passkeys;
mod password_spellings;
mod races;
mod rate_limits;
mod role_held;
mod session_races;
mod sessions;
mod sharded_listings;
mod store_conformance;
mod stream_counts;
mod table_differential;
mod telegram;
mod telegram_notice;
mod template;
mod timeouts;
mod users_and_posts;
mod verification_required;
mod workers;
