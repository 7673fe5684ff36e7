//! Account flows by mailed link: e-mail verification and password reset.

mod reset;
mod verify;

use shared::http::{ApiError, Routes};

pub fn routes() -> Routes {
    Routes::new("account")
        .post("/api/auth/verify-email", verify::verify)
        .post("/api/auth/verify-email/resend", verify::resend)
        .post("/api/auth/forgot-password", reset::forgot)
        .post("/api/auth/reset-password", reset::reset)
}

/// The answer to a token that is unknown, spent, expired or superseded: the same for each, so
/// a caller learns nothing about which.
fn invalid_token() -> ApiError {
    ApiError::bad_request(
        "invalid_token",
        "the link is invalid, used or expired; ask for a new one",
    )
}
