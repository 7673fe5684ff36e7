//! The layer that writes every error as `application/problem+json` with the request id: the
//! handlers' own (`Problem` attached by `ApiError`) and the framework's bare ones (unknown route,
//! wrong method, body too large, panics).

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, StatusCode};
use serde_json::json;

use super::Problem;
use super::request_id::X_REQUEST_ID;

pub const PROBLEM_JSON: &str = "application/problem+json";
/// Longer request targets answer 414 (API Gateway's own limit is about 10 KiB).
pub const MAX_URI_BYTES: usize = 8 * 1024;

fn is_problem(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()))
}

/// The RFC 9457 document.
pub fn document(problem: &Problem, request_id: &str) -> String {
    let mut body = json!({
        "type": format!("/problems/{}", problem.code.replace('_', "-")),
        "title": problem.status.canonical_reason().unwrap_or("Error"),
        "status": problem.status.as_u16(),
        "detail": problem.detail,
        "code": problem.code,
        "requestId": request_id,
    });
    if !problem.errors.is_empty() {
        body["errors"] = problem
            .errors
            .iter()
            .map(|e| json!({ "field": e.field, "code": e.code, "message": e.message }))
            .collect();
    }
    body.to_string()
}

/// The problem response, keeping the headers already set (Allow, Retry-After...).
pub fn render(problem: &Problem, request_id: &str, mut headers: HeaderMap) -> Response {
    headers.remove(CONTENT_LENGTH);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    let mut response = Response::new(Body::from(document(problem, request_id)));
    *response.status_mut() = problem.status;
    *response.headers_mut() = headers;
    response
}

pub async fn problems(req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let target_len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target_len > MAX_URI_BYTES {
        let problem = Problem::from_status(StatusCode::URI_TOO_LONG);
        return render(&problem, &request_id, HeaderMap::new());
    }
    let response = next.run(req).await;
    let problem = match response.extensions().get::<Problem>() {
        Some(problem) => problem.clone(),
        None if response.status().is_client_error() || response.status().is_server_error() => {
            if is_problem(response.headers()) {
                return response;
            }
            Problem::from_status(response.status())
        }
        None => return response,
    };
    let (parts, _) = response.into_parts();
    render(&problem, &request_id, parts.headers)
}

/// What a panicking handler answers: a bare 500 the `problems` layer turns into a document.
pub fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FieldError;

    #[test]
    fn field_errors_are_listed_with_field_code_and_message() {
        let problem = Problem {
            errors: vec![FieldError {
                field: "email".into(),
                code: "invalid_email",
                message: "must be an e-mail address".into(),
            }],
            ..Problem::from_status(StatusCode::UNPROCESSABLE_ENTITY)
        };
        let document: serde_json::Value =
            serde_json::from_str(&document(&problem, "req-1")).unwrap();
        assert_eq!(
            document["errors"],
            json!([{
                "field": "email",
                "code": "invalid_email",
                "message": "must be an e-mail address",
            }])
        );
    }
}
