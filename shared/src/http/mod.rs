//! HTTP glue shared by every function: errors as problem+json, JSON bodies, the request
//! middleware (request id, log line, security headers, CORS).

mod cors;
mod problem;
mod request;
mod response;
mod serve;

pub use lambda_http::Request;
pub use problem::ApiError;
pub use request::{
    MAX_BODY_BYTES, bearer_token, header, path_of, query_param, read_json, request_id,
};
pub use response::{Response, json, no_content, with_header};
pub use serve::serve;
