use lambda_http::http::StatusCode;
use serde::Deserialize;
use shared::App;
use shared::auth::{authenticate, hash_password, start_session, verify_password};
use shared::clock::now_ms;
use shared::domain::{FieldErrors, Invalid, Password, User};
use shared::http::{self, ApiError, Request, Response, read_json};
use shared::store::StoreError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ChangeBody {
    current_password: Option<String>,
    new_password: Option<String>,
}

pub async fn change(app: &App, req: Request) -> Result<Response, ApiError> {
    let principal = authenticate(app, &req).await?;
    let body: ChangeBody = read_json(&req)?;
    let user = principal.user;
    let mut errors = FieldErrors::default();
    let current = errors.required("currentPassword", body.current_password);
    let new = errors.parse("newPassword", body.new_password, |raw| {
        Password::parse(raw, Some(&user.email))
    });
    let (Some(current), Some(new)) = (current, new) else {
        return Err(ApiError::Validation(errors.into_vec()));
    };
    if !verify_password(&current, Some(&user.password_hash)).await {
        errors.push(
            "currentPassword",
            Invalid::new("incorrect", "is not your current password"),
        );
        return Err(ApiError::Validation(errors.into_vec()));
    }

    let now = now_ms();
    let next = User {
        password_hash: hash_password(&new).await?,
        sessions_valid_after: now,
        updated_at: now,
        version: user.version + 1,
        ..user.clone()
    };
    match app.stores.users.update_user(&user, &next).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(ApiError::conflict(
                "write_conflict",
                "your account changed meanwhile; retry",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    // Every session, this one included, ended above; the caller continues in a new one.
    let tokens = start_session(app, &next).await?;
    http::json(StatusCode::OK, &tokens.with_user(&next))
}
