//! Sign-in by mail (`EMAIL_LOGIN=on`): `POST /api/auth/email-login` `{email}` mails a link and a
//! code; `POST /api/auth/email-login/verify` takes `{token}` (from the link) or `{email, code}`
//! (typed, on any device). `GET /api/auth/methods` tells a sign-in page what to offer.

use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use shared::App;
use shared::auth::{
    MAX_MAILED_CODE_TRIES, account_link, account_token_hash, issue_email_login, mailed_code_matches,
};
use shared::clock::now_ms;
use shared::domain::{
    AuditAction, AuditOutcome, AuthMethod, Email, FieldErrors, MailedSignInCode, User,
};
use shared::http::{
    self, ApiError, AppState, Caller, Json, MailRequest, Response, first_step_proven,
};
use shared::jobs::{Job, MailMessage};
use shared::limits::{Quota, with_quota};
use shared::store::{AccountToken, Effects, StoreError, TokenPurpose};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignInMethods {
    password: bool,
    email_login: bool,
    /// Passkeys (a relying party is configured).
    passkeys: bool,
    /// The social sign-in providers, for their buttons.
    providers: Vec<ProviderView>,
}

#[derive(Serialize)]
struct ProviderView {
    id: String,
    name: String,
}

/// What this deployment's sign-in page can offer.
pub async fn methods(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // A provider secret that cannot be read hides the buttons rather than the whole page.
    let providers = match app.oauth.get().await {
        Ok(providers) => providers
            .iter()
            .map(|p| ProviderView {
                id: p.id().to_owned(),
                name: p.name().to_owned(),
            })
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "the sign-in providers cannot be read");
            Vec::new()
        }
    };
    let methods = SignInMethods {
        password: true,
        email_login: app.config.email_login,
        passkeys: app.config.relying_party.is_some(),
        providers,
    };
    http::shared_json(&headers, &methods, "public, max-age=300")
}

/// Off, the routes say so (403 `email_login_off`).
fn enabled(app: &App) -> Result<(), ApiError> {
    if app.config.email_login {
        return Ok(());
    }
    Err(ApiError::ForbiddenBecause {
        code: "email_login_off",
        detail: "sign-in by mail is not offered here (EMAIL_LOGIN)".into(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    email: Option<String>,
}

/// Always 202 with the same body, in the same time; mails only an account that exists.
pub async fn request(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<RequestBody>,
) -> Result<Response, ApiError> {
    enabled(&app)?;
    let mut errors = FieldErrors::default();
    let Some(email) = errors.required("email", body.email) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    let limits = &app.config.rate_limits;
    let request = MailRequest {
        route: "email-login",
        rules: (limits.email_login_ip, limits.email_login_email),
        message: "if an account has this address, a sign-in link and code are on their way",
    };
    let app = &*app;
    request
        .answer(app, &caller, &email, |email| async move {
            mail_sign_in(app, &email).await
        })
        .await
}

async fn mail_sign_in(app: &App, email: &Email) -> Result<(), ApiError> {
    let Some(user) = app.stores.users.find_user_by_email(email).await? else {
        return Ok(());
    };
    let now = now_ms();
    let keys = app.keys.current().await;
    let mailed = issue_email_login(&keys, &user, now);
    let link = account_link(&app.config.app_base_url, "account", &mailed.token);
    let effects = Effects {
        token: Some(mailed.record),
        jobs: vec![Job::email(
            user.email.as_str(),
            user.name.as_str(),
            MailMessage::EmailLogin {
                link,
                code: mailed.code,
            },
            now,
        )],
    };
    let gap = app.config.reset_mail_gap.as_millis() as i64;
    match app.stores.accounts.issue_token(&effects, gap, now).await {
        // One went out less than `gap` ago (no mail bombing), or the user was deleted or
        // re-addressed meanwhile: the answer stays the same.
        Ok(()) | Err(StoreError::Conflict) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    token: Option<String>,
    email: Option<String>,
    code: Option<String>,
}

fn invalid_link() -> ApiError {
    ApiError::bad_request(
        "invalid_token",
        "the link is invalid, used or expired; ask for a new one",
    )
}

fn invalid_code() -> ApiError {
    ApiError::Unauthorized {
        code: "invalid_code",
        detail: "the e-mail or code is wrong, or the code was used or has expired".into(),
    }
}

/// Signs in with the link's token, or with the address and the code typed.
pub async fn verify(
    State(app): State<AppState>,
    caller: Caller,
    Json(body): Json<VerifyBody>,
) -> Result<Response, ApiError> {
    enabled(&app)?;
    match (body.token, body.email, body.code) {
        (Some(token), None, None) => by_link(&app, &caller, &token).await,
        (None, email, code) if email.is_some() || code.is_some() => {
            let mut errors = FieldErrors::default();
            let email = errors.required("email", email);
            let code = errors.parse("code", code, |raw| MailedSignInCode::parse(&raw));
            match (email, code) {
                (Some(email), Some(code)) => by_code(&app, &caller, &email, &code).await,
                _ => Err(ApiError::Validation(errors.into_vec())),
            }
        }
        _ => Err(ApiError::bad_request(
            "token_or_code",
            "send either the link's token, or the e-mail address and the code",
        )),
    }
}

async fn by_link(app: &App, caller: &Caller, token: &str) -> Result<Response, ApiError> {
    let hash = account_token_hash(token).ok_or_else(invalid_link)?;
    let record = app
        .stores
        .accounts
        .find_token(&hash)
        .await?
        .filter(|t| t.purpose == TokenPurpose::EmailLogin)
        .ok_or_else(invalid_link)?;
    let user = app
        .stores
        .users
        .get_user(&record.user_id)
        .await?
        .filter(User::is_active)
        .ok_or_else(invalid_link)?;
    spend(app, caller, user, &record, "email_link", None, invalid_link).await
}

/// Counted like a password: before it is checked, against the account's lock.
async fn by_code(
    app: &App,
    caller: &Caller,
    email: &str,
    code: &MailedSignInCode,
) -> Result<Response, ApiError> {
    let (parsed, account) = Email::as_typed(email);
    let attempt = app.logins().admit(&account, caller.ip, now_ms()).await?;
    let user = match &parsed {
        Some(email) => app.stores.users.find_user_by_email(email).await?,
        None => None,
    };
    let pending = match &user {
        Some(user) => app.stores.accounts.find_email_login(&user.id).await?,
        None => None,
    };
    let keys = app.keys.current().await;
    let counted = match &pending {
        Some(record) => {
            match app
                .stores
                .accounts
                .count_code_try(record, MAX_MAILED_CODE_TRIES, now_ms())
                .await
            {
                Ok(()) => true,
                Err(StoreError::Conflict) => false,
                Err(e) => {
                    attempt.succeeded().await;
                    return Err(e.into());
                }
            }
        }
        None => false,
    };
    let proven = match (user, pending) {
        (Some(user), Some(record)) if counted && mailed_code_matches(&keys, &record, code) => {
            Some((user, record))
        }
        (user, _) => {
            let target = user.as_ref().map(|u| u.id.as_str());
            attempt.failed(caller, target).await;
            let mut failure = caller.event(AuditAction::Login, AuditOutcome::Failure);
            failure.target = target.map(str::to_owned);
            app.audit(failure.detail("email_code")).await;
            None
        }
    };
    let Some((user, record)) = proven else {
        return Ok(with_quota(attempt.quota(), invalid_code()));
    };
    attempt.succeeded().await;
    let quota = attempt.quota_after_success();
    spend(
        app,
        caller,
        user,
        &record,
        "email_code",
        quota,
        invalid_code,
    )
    .await
}

/// Spends the mail (link and code together) and signs in. Following it proves the address: an
/// unverified one becomes verified, and the sessions and the password set before it (by whoever
/// registered the address, perhaps not its owner) end; the owner is told.
async fn spend(
    app: &App,
    caller: &Caller,
    user: User,
    record: &AccountToken,
    how: &str,
    quota: Option<Quota>,
    refused: fn() -> ApiError,
) -> Result<Response, ApiError> {
    let proves_address = !user.email_verified;
    let now = now_ms();
    let effects = if proves_address {
        Effects::jobs(vec![Job::email(
            user.email.as_str(),
            user.name.as_str(),
            MailMessage::AddressConfirmedPasswordRemoved,
            now,
        )])
    } else {
        Effects::none()
    };
    match app
        .stores
        .accounts
        .sign_in_by_email(record, proves_address, now, &effects)
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Ok(with_quota(quota, refused())),
        Err(e) => return Err(e.into()),
    }
    let user = if proves_address {
        match app.stores.users.get_user(&user.id).await? {
            Some(user) if user.is_active() => user,
            _ => return Ok(with_quota(quota, refused())),
        }
    } else {
        user
    };
    first_step_proven(app, caller, &user, AuthMethod::Email, Some(how), quota).await
}
