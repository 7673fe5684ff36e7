//! The id that ties a response, its log line and a user's bug report together: Lambda's own
//! request id in Lambda; locally a caller-supplied `x-request-id` of a sane shape, or a fresh one.

use axum::extract::Request;
use http::HeaderValue;
use http::header::HeaderName;
use lambda_http::RequestExt;
use tower_http::request_id::{MakeRequestId, RequestId};

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Runs before `SetRequestIdLayer`: puts Lambda's id in place, drops an id of a strange shape
/// (so the layer makes a fresh one).
pub fn normalize(mut req: Request) -> Request {
    let lambda_id = req
        .lambda_context_ref()
        .and_then(|context| HeaderValue::from_str(&context.request_id).ok());
    if let Some(id) = lambda_id {
        req.headers_mut().insert(X_REQUEST_ID, id);
    } else if req
        .headers()
        .get(X_REQUEST_ID)
        .is_some_and(|v| !v.to_str().is_ok_and(sane))
    {
        req.headers_mut().remove(X_REQUEST_ID);
    }
    req
}

#[derive(Clone, Copy, Default)]
pub struct MakeUuid;

impl MakeRequestId for MakeUuid {
    fn make_request_id<B>(&mut self, _: &http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
            .ok()
            .map(RequestId::new)
    }
}
