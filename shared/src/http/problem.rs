//! One error type for every handler, rendered as RFC 9457 `application/problem+json`.

use http::StatusCode;
use http::header::{ALLOW, RETRY_AFTER, WWW_AUTHENTICATE};
use lambda_http::Body;
use serde_json::json;

use super::Response;
use crate::domain::{FieldError, FieldErrors};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    #[error("one or more fields are invalid")]
    Validation(Vec<FieldError>),
    #[error("{detail}")]
    Unauthorized { code: &'static str, detail: String },
    #[error("you are not allowed to do this")]
    Forbidden,
    #[error("no such resource")]
    NotFound,
    #[error("no route matches this path")]
    NoRoute,
    #[error("method not allowed")]
    MethodNotAllowed(&'static [&'static str]),
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("the resource has changed since you read it")]
    PreconditionFailed,
    #[error("the request body exceeds {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            detail: detail.into(),
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            detail: detail.into(),
        }
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
        }
    }

    /// 422 listing every recorded field error, if there is any.
    pub fn check(errors: FieldErrors) -> Result<(), ApiError> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(errors.into_vec()))
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::MalformedJson(_) | Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound | Self::NoRoute => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable, machine-readable code; also the last segment of `type`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedJson(_) => "malformed_json",
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Conflict { code, .. } => code,
            Self::Validation(_) => "validation_failed",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::NoRoute => "route_not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::PreconditionFailed => "precondition_failed",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::TooManyRequests { .. } => "rate_limited",
            Self::Internal(_) => "internal_error",
        }
    }

    fn detail(&self) -> String {
        match self {
            // Internals stay in the logs, never in the body.
            Self::Internal(_) => "something went wrong on our side; quote the request id".into(),
            other => other.to_string(),
        }
    }

    /// The problem document, with the request id so a user can quote it.
    pub fn into_response(self, request_id: &str) -> Response {
        let status = self.status();
        let mut body = json!({
            "type": format!("/problems/{}", self.code().replace('_', "-")),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": self.detail(),
            "code": self.code(),
            "requestId": request_id,
        });
        if let Self::Validation(errors) = &self {
            body["errors"] = json!(errors);
        }
        let mut builder = http::Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, "application/problem+json");
        match &self {
            Self::MethodNotAllowed(allowed) => builder = builder.header(ALLOW, allowed.join(", ")),
            Self::Unauthorized { code, .. } => {
                builder = builder.header(WWW_AUTHENTICATE, format!("Bearer error=\"{code}\""))
            }
            Self::TooManyRequests { retry_after_secs } => {
                builder = builder.header(RETRY_AFTER, retry_after_secs.to_string())
            }
            _ => {}
        }
        builder
            .body(Body::Text(body.to_string()))
            .unwrap_or_else(|_| http::Response::new(Body::Empty))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::EmailTaken => {
                ApiError::conflict("email_taken", "this e-mail address is already registered")
            }
            StoreError::Conflict => ApiError::conflict(
                "write_conflict",
                "the resource changed concurrently; retry the request",
            ),
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Backend(detail) => ApiError::Internal(detail),
        }
    }
}
