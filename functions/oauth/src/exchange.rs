//! `POST /api/auth/oauth/exchange` `{code}`: the page trades the one-time code the callback put
//! in its fragment for tokens (or, for an account with a second factor, a challenge), from the
//! browser the callback came to (its binding cookie): a code handed to someone else's page
//! signs nobody in there.

use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use shared::auth::check_verified;
use shared::auth::oauth::secret_hash;
use shared::clock::now_ms;
use shared::domain::{AuthMethod, FieldErrors};
use shared::http::{ApiError, AppState, Caller, Json, Response, first_step_proven};

use crate::browser::{binding, with_binding};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeBody {
    code: Option<String>,
}

fn invalid_code() -> ApiError {
    ApiError::bad_request(
        "invalid_code",
        "this sign-in code is unknown, used or expired: sign in again",
    )
}

pub async fn exchange(
    State(app): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<ExchangeBody>,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::default();
    let Some(code) = errors.required("code", body.code) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let Some(bound) = binding(&headers).filter(|_| code.len() <= 64) else {
        return Err(invalid_code());
    };
    let grant = app
        .stores
        .identities
        .take_grant(&secret_hash(&code), &secret_hash(&bound), now_ms())
        .await?
        .filter(|grant| grant.session_id.is_none())
        .ok_or_else(invalid_code)?;
    let user = app
        .stores
        .users
        .get_user(&grant.user_id)
        .await?
        .filter(|user| user.is_active() && user.session_generation == grant.generation)
        .ok_or_else(invalid_code)?;
    check_verified(&app.config, &user)?;
    let how = format!("oauth:{}", grant.provider);
    let answer =
        first_step_proven(&app, &caller, &user, AuthMethod::Oauth, Some(&how), None).await?;
    Ok(with_binding(answer, None))
}
