//! One error type for every handler, rendered as RFC 9457 `application/problem+json`.
//!
//! A handler's error becomes a response carrying a `Problem` (status, code, detail, field
//! errors); the `problems` layer writes the document, with the request id, for it and for
//! every bare error response the framework makes (404, 405, 413...).

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{RETRY_AFTER, WWW_AUTHENTICATE};

use crate::BoxError;
use crate::auth::AuthError;
use crate::domain::{FieldError, FieldErrors};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(#[source] serde_json::Error),
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    #[error("one or more fields are invalid")]
    Validation(Vec<FieldError>),
    #[error("{detail}")]
    Unauthorized { code: &'static str, detail: String },
    #[error("you are not allowed to do this")]
    Forbidden,
    /// Forbidden for a reason the client can act on.
    #[error("{detail}")]
    ForbiddenBecause { code: &'static str, detail: String },
    #[error("no such resource")]
    NotFound,
    #[error("no route matches this path")]
    NoRoute,
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("the resource has changed since you read it")]
    PreconditionFailed,
    #[error("the request body exceeds {} bytes", super::MAX_BODY_BYTES)]
    PayloadTooLarge,
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    #[error("{detail}")]
    TooManyRequests {
        code: &'static str,
        detail: String,
        /// The limit that was reached: `Retry-After` and `RateLimit-*` come from it.
        quota: crate::limits::Quota,
    },
    #[error("{detail}")]
    Unavailable {
        detail: &'static str,
        retry_after_secs: u64,
        #[source]
        cause: Option<BoxError>,
    },
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// What the `problems` layer needs to write the document.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// For an error response the framework made itself, with no problem attached.
    pub fn from_status(status: StatusCode) -> Self {
        let (code, detail) = match status {
            StatusCode::BAD_REQUEST => ("bad_request", "the request is malformed"),
            StatusCode::NOT_FOUND => ("route_not_found", "no route matches this path"),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method_not_allowed",
                "this route does not accept this method; see the Allow header",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => (
                "payload_too_large",
                "the request body exceeds the size limit",
            ),
            StatusCode::URI_TOO_LONG => ("uri_too_long", "the request URI is too long"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "the request body must be application/json",
            ),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (
                "request_headers_too_large",
                "the request headers are too many or too large",
            ),
            s if s.is_server_error() => (
                "internal_error",
                "something went wrong on our side; quote the request id",
            ),
            _ => ("error", "the request failed"),
        };
        Self {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }
}

fn unauthorized(code: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::Unauthorized {
        code,
        detail: detail.into(),
    }
}

impl ApiError {
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
            Self::Forbidden | Self::ForbiddenBecause { .. } => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound | Self::NoRoute => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable, machine-readable code; also the last segment of `type`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedJson(_) => "malformed_json",
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Conflict { code, .. }
            | Self::ForbiddenBecause { code, .. }
            | Self::TooManyRequests { code, .. } => code,
            Self::Validation(_) => "validation_failed",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::NoRoute => "route_not_found",
            Self::PreconditionFailed => "precondition_failed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Unavailable { .. } => "service_unavailable",
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
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            // The whole cause chain, for whoever reads the logs.
            Self::Internal(_) => tracing::error!(error = ?self, "request failed"),
            // Back-pressure or a slow dependency: expected under load, retried by the client.
            Self::Unavailable { .. } => tracing::warn!(error = ?self, "request turned away"),
            _ => {}
        }
        let status = self.status();
        let mut response = status.into_response();
        let headers = response.headers_mut();
        match &self {
            Self::Unauthorized { code, .. } => {
                if let Ok(value) = format!("Bearer error=\"{code}\"").parse() {
                    headers.insert(WWW_AUTHENTICATE, value);
                }
            }
            Self::Unavailable {
                retry_after_secs, ..
            } => {
                headers.insert(RETRY_AFTER, (*retry_after_secs).into());
            }
            Self::TooManyRequests { quota, .. } => {
                headers.insert(RETRY_AFTER, quota.reset_secs.into());
                quota.write(headers);
            }
            _ => {}
        }
        let errors = match &self {
            Self::Validation(errors) => errors.clone(),
            _ => Vec::new(),
        };
        response.extensions_mut().insert(Problem {
            status,
            code: self.code(),
            detail: self.detail(),
            errors,
        });
        response
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
            StoreError::Unavailable(cause) => ApiError::Unavailable {
                detail: "a service we depend on is not answering; retry shortly",
                retry_after_secs: 2,
                cause: Some(cause),
            },
            e @ StoreError::Backend(_) => ApiError::Internal(e.into()),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let detail = e.to_string();
        match e {
            AuthError::MissingToken => unauthorized("missing_token", detail),
            AuthError::InvalidToken => unauthorized("invalid_token", detail),
            AuthError::TokenExpired => unauthorized("token_expired", detail),
            AuthError::SessionEnded => unauthorized("session_ended", detail),
            AuthError::EmailNotVerified => ApiError::ForbiddenBecause {
                code: "email_not_verified",
                detail,
            },
            AuthError::InvalidRefreshToken => unauthorized("invalid_refresh_token", detail),
            AuthError::RefreshTokenReused { .. } => unauthorized("refresh_token_reused", detail),
            AuthError::Busy => ApiError::Unavailable {
                detail: "too many sign-ins at once; retry in a moment",
                retry_after_secs: 1,
                cause: None,
            },
            AuthError::Store(e) => e.into(),
            e @ (AuthError::Signing(_) | AuthError::Hashing(_)) => ApiError::Internal(e.into()),
        }
    }
}
