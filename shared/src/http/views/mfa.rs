//! Second-factor answers: the sign-in challenge, a raised session's new access token, a
//! factor's state.

use serde::Serialize;

use crate::auth::IssuedAccess;
use crate::auth::mfa::CHALLENGE_TTL_MS;
use crate::clock::rfc3339;
use crate::domain::Authentication;
use crate::store::{FactorState, TotpFactor};

/// What the password step answers a user with an active factor: no tokens, a challenge.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MfaChallengeView {
    mfa_required: bool,
    challenge: String,
    methods: [&'static str; 2],
    /// Seconds the challenge can be answered for.
    expires_in: i64,
}

impl MfaChallengeView {
    pub fn new(challenge: String) -> Self {
        Self {
            mfa_required: true,
            challenge,
            methods: ["totp", "recovery_code"],
            expires_in: CHALLENGE_TTL_MS / 1000,
        }
    }
}

/// A session raised to `aal2`: its new access token (the refresh token carries on).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RaisedSessionView {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    aal: &'static str,
    amr: Vec<&'static str>,
}

impl RaisedSessionView {
    pub fn new(access: IssuedAccess, authentication: &Authentication) -> Self {
        Self {
            access_token: access.access_token,
            token_type: "Bearer",
            expires_in: access.expires_in,
            aal: authentication.aal.as_str(),
            amr: authentication.amr_names(),
        }
    }
}

/// A user's TOTP factor, without its secret.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TotpFactorView {
    status: &'static str,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    activated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery_codes_remaining: Option<usize>,
}

impl From<&TotpFactor> for TotpFactorView {
    fn from(factor: &TotpFactor) -> Self {
        let (status, activated_at, remaining) = match &factor.state {
            FactorState::Pending { .. } => ("pending", None, None),
            FactorState::Active {
                activated_at,
                recovery,
                ..
            } => (
                "active",
                Some(rfc3339(*activated_at)),
                Some(recovery.remaining()),
            ),
        };
        Self {
            status,
            created_at: rfc3339(factor.created_at),
            activated_at,
            recovery_codes_remaining: remaining,
        }
    }
}
