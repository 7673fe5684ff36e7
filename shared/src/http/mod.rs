//! HTTP glue shared by every function: errors as problem+json, JSON bodies, the request
//! middleware (request id, log line, security headers, CORS).

mod cors;
mod cursor;
mod etag;
mod pagination;
mod problem;
mod request;
mod response;
mod serve;

pub use cursor::{decode_cursor, encode_cursor};
pub use etag::{etag, not_modified, required_version};
pub use lambda_http::Request;
pub use pagination::{PageBody, PageRequest, page_body, page_request};
pub use problem::ApiError;
pub use request::{
    MAX_BODY_BYTES, bearer_token, header, path_of, query_param, read_json, request_id,
};
pub use response::{Response, json, no_content, with_header};
pub use serve::serve;
