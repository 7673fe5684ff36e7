//! Bootstraps the first admin (or changes any role) from the command line.

use std::sync::Arc;

use shared::App;
use shared::BoxError;
use shared::clock::now_ms;
use shared::domain::{AuditAction, AuditEvent, AuditOutcome, Email, Role};

pub async fn run(app: Arc<App>, email: &str, role: &str) -> Result<(), BoxError> {
    let email = Email::parse(email).map_err(|e| format!("email {}", e.message))?;
    let role = Role::parse(role).map_err(|e| format!("role {}", e.message))?;
    let user = app
        .stores
        .users
        .find_user_by_email(&email)
        .await?
        .ok_or_else(|| format!("no active user has the e-mail {email}"))?;
    let before = user.role;
    let user = app.stores.users.set_role(&user.id, role, now_ms()).await?;
    let event = AuditEvent::new(AuditAction::RoleChange, AuditOutcome::Success, now_ms());
    let detail = format!("{}->{} (command line)", before.as_str(), role.as_str());
    app.audit(event.target(&user.id).detail(detail)).await;
    println!("{} ({}) is now {}", user.email, user.id, user.role);
    Ok(())
}
