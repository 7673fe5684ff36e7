//! `/api/auth/mfa/...`: a TOTP second factor (enrol, verify, remove), its recovery codes, the
//! second step of a sign-in, and raising a session to aal2; `/api/users/{id}/mfa`: an admin's
//! reset of a user's factor.

mod challenge;
mod enrol;
mod proof;
mod qr;
mod recovery;
mod remove;
mod status;
mod step_up;

use shared::http::Routes;

pub fn routes() -> Routes {
    Routes::new("mfa")
        .get("/api/auth/mfa", status::get)
        .post("/api/auth/mfa/totp", enrol::enrol)
        .delete("/api/auth/mfa/totp", remove::disable)
        .post("/api/auth/mfa/totp/verify", enrol::verify)
        .post("/api/auth/mfa/recovery-codes", recovery::regenerate)
        .post("/api/auth/mfa/challenge", challenge::answer)
        .post("/api/auth/mfa/step-up", step_up::step_up)
        .delete("/api/users/{id}/mfa", remove::reset)
}
