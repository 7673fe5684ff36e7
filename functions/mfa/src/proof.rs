//! What the routes that take a second factor share: reading `{code}` or `{recoveryCode}`, and
//! checking it as a sign-in attempt is checked (refused while the account is locked, a wrong
//! one counted against the lock and audited), so no route offers unlimited guesses.

use shared::App;
use shared::auth::mfa::{CheckError, MfaKeyError, Submitted, Verdict, check};
use shared::clock::now_ms;
use shared::domain::{
    AuditAction, AuditOutcome, AuthMethod, FieldErrors, Invalid, RecoveryCode, TotpCode, User,
};
use shared::http::{ApiError, Caller, Response};
use shared::limits::{Quota, with_quota};
use shared::store::{FactorProof, TotpFactor};

/// `code` or `recoveryCode`, exactly one; `recovery` says whether a recovery code is taken.
pub fn submitted(
    errors: &mut FieldErrors,
    code: Option<String>,
    recovery_code: Option<String>,
    recovery: bool,
) -> Option<Submitted> {
    match (code, recovery_code) {
        (Some(code), None) => errors
            .check("code", TotpCode::parse(&code))
            .map(Submitted::Code),
        (None, Some(code)) if recovery => errors
            .check("recoveryCode", RecoveryCode::parse(&code))
            .map(Submitted::RecoveryCode),
        (None, Some(_)) => {
            errors.push(
                "recoveryCode",
                Invalid::new("not_allowed", "is not taken here; send a code"),
            );
            None
        }
        (Some(_), Some(_)) => {
            errors.push(
                "recoveryCode",
                Invalid::new("not_allowed", "send either code or recoveryCode, not both"),
            );
            None
        }
        (None, None) => {
            errors.push("code", Invalid::new("required", "is required"));
            None
        }
    }
}

/// The method a proof is named by in `amr`.
pub fn method(proof: &FactorProof) -> AuthMethod {
    match proof {
        FactorProof::Step(_) => AuthMethod::Otp,
        FactorProof::Recovery { .. } => AuthMethod::Recovery,
    }
}

pub enum Checked {
    /// Right (the attempt given back): spend `proof` with the store; the quota is for the
    /// `RateLimit-*` headers.
    Proven(FactorProof, Option<Quota>),
    /// Wrong or replayed: the answer, already counted and audited.
    Refused(Response),
    /// The account is locked (or its address over its count): nothing was checked.
    Locked(Response),
}

/// Checks `submitted` against `factor` as a sign-in attempt on `user`'s account; a wrong answer
/// is audited as a failed `action`.
pub async fn check_counted(
    app: &App,
    caller: &Caller,
    user: &User,
    factor: &TotpFactor,
    submitted: &Submitted,
    action: AuditAction,
) -> Result<Checked, ApiError> {
    let attempt = match app
        .logins()
        .admit(user.email.as_str(), caller.ip, now_ms())
        .await
    {
        Ok(attempt) => attempt,
        Err(locked) => {
            return Ok(Checked::Locked(
                axum::response::IntoResponse::into_response(locked),
            ));
        }
    };
    let verdict = match check(&app.mfa_keys, factor, submitted, app.clock.now_ms()).await {
        Ok(verdict) => verdict,
        Err(error) => {
            attempt.succeeded().await;
            return Err(key_error(error));
        }
    };
    let (field, code, message, detail) = match (verdict, submitted) {
        (Verdict::Proven(proof), _) => {
            attempt.succeeded().await;
            return Ok(Checked::Proven(proof, attempt.quota_after_success()));
        }
        (Verdict::Replayed, _) => (
            "code",
            "already_used",
            "was used already; wait for the next one",
            "replayed_code",
        ),
        (Verdict::Wrong, Submitted::Code(_)) => {
            ("code", "incorrect", "is not the current code", "wrong_code")
        }
        (Verdict::Wrong, Submitted::RecoveryCode(_)) => (
            "recoveryCode",
            "incorrect",
            "is not one of your unused recovery codes",
            "wrong_recovery_code",
        ),
    };
    attempt.failed(caller, Some(&user.id)).await;
    let event = caller.event(action, AuditOutcome::Failure);
    app.audit(event.by_self(&user.id).detail(detail)).await;
    Ok(Checked::Refused(with_quota(
        attempt.quota(),
        incorrect(field, code, message),
    )))
}

fn incorrect(field: &str, code: &'static str, message: &str) -> ApiError {
    let mut errors = FieldErrors::default();
    errors.push(field, Invalid::new(code, message));
    ApiError::Validation(errors.into_vec())
}

/// A right proof that another request spent first (two tabs, a double submit).
pub fn spent_meanwhile(proof: &FactorProof) -> ApiError {
    match proof {
        FactorProof::Step(_) => incorrect(
            "code",
            "already_used",
            "was used already; wait for the next one",
        ),
        FactorProof::Recovery { .. } => {
            incorrect("recoveryCode", "already_used", "was used already")
        }
    }
}

/// Keys that cannot be had, or a sealed secret that does not open.
pub fn key_error(error: CheckError) -> ApiError {
    match error {
        CheckError::Keys(error) => unavailable(error),
        CheckError::Open(error) => ApiError::Internal(error.into()),
    }
}

pub fn unavailable(error: MfaKeyError) -> ApiError {
    ApiError::Unavailable {
        detail: "two-factor sign-in is not available right now; retry shortly",
        retry_after_secs: 5,
        cause: Some(error.into()),
    }
}

/// The user's active factor, or `missing()`.
pub async fn active_factor(
    app: &App,
    user_id: &str,
    missing: fn() -> ApiError,
) -> Result<TotpFactor, ApiError> {
    app.stores
        .mfa
        .get_totp(user_id, app.clock.now_ms())
        .await?
        .filter(|factor| factor.is_active())
        .ok_or_else(missing)
}

/// The user has no active factor for this.
pub fn no_active_factor() -> ApiError {
    ApiError::conflict(
        "no_active_factor",
        "two-factor sign-in is not on for this account: POST /api/auth/mfa/totp, then \
         POST /api/auth/mfa/totp/verify {code}",
    )
}
