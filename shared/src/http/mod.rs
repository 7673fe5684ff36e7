//! HTTP glue shared by every function: the route builder, the middleware stack, extractors,
//! errors as problem+json, entity tags, signed cursors, and the JSON views of the entities.

mod assurance;
mod base_url;
mod cache;
mod caller;
mod cors;
mod cursor;
mod etag;
mod extract;
mod mail_request;
mod new_way_in;
mod optimistic;
mod pagination;
mod problem;
mod problems;
mod request_id;
mod response;
mod routes;
mod service;
mod sessions;
mod sign_in;
mod tokens;
mod uniform_time;
mod views;

pub use assurance::{require_assurance, step_up_required};
pub use base_url::{ApiBaseUrl, api_base_url};
pub use cache::{PRIVATE_NO_STORE, private_json, shared_json};
pub use caller::{Caller, client_ip, set_source_ip};
pub use cursor::{decode_cursor, encode_cursor};
pub use etag::{body_etag, etag, if_match, none_match, not_modified};
pub use extract::{Json, Params, PathId, PathIds, bearer_token, parse_id};
pub use mail_request::MailRequest;
pub use new_way_in::{RECENT_SIGN_IN_MS, confirm_new_way_in};
pub use optimistic::{WRITE_ATTEMPTS, retry_as, retry_lost_races, unless_lost};
pub use pagination::{PageBody, PageRequest, page_body, page_request};
pub use problem::{ApiError, Problem};
pub use problems::{MAX_URI_BYTES, PROBLEM_JSON, document as problem_document};
pub use request_id::X_REQUEST_ID;
pub use response::{json, no_content, with_header};
pub use routes::{AppState, RouteSpec, Routes};
pub use service::{MAX_BODY_BYTES, SECURITY_HEADERS, service};
pub use sessions::{end_session, sessions_owner, sessions_page};
pub use sign_in::{first_step_proven, signed_in};
pub use tokens::token_response;
pub use uniform_time::{UNIFORM_ANSWER_TIME, in_uniform_time};
pub use views::{
    AuditEventView, DiscoveryView, JwksView, LeadView, MfaChallengeView, PostSummaryView, PostView,
    RaisedSessionView, SessionView, TotpFactorView, UserView,
};

pub use axum::response::Response;
