//! Passkeys (WebAuthn): a signed-in user registers one
//! (`POST /api/auth/passkeys/register/options` → `.../register/verify`), anyone signs in with
//! one (`POST /api/auth/passkeys/login/options` → `.../login/verify`: with an address, its
//! passkeys are offered; without, the authenticator picks one), and the user lists, renames and
//! removes theirs at `/api/auth/passkeys`.

mod answer;
mod ceremony;
mod manage;
mod register;
mod relying_party;
mod sign_in;
mod stored;

use shared::http::Routes;

pub fn routes() -> Routes {
    Routes::new("passkeys")
        .post("/api/auth/passkeys/register/options", register::options)
        .post("/api/auth/passkeys/register/verify", register::verify)
        .post("/api/auth/passkeys/login/options", sign_in::options)
        .post("/api/auth/passkeys/login/verify", sign_in::verify)
        .get("/api/auth/passkeys", manage::list)
        .patch("/api/auth/passkeys/{id}", manage::rename)
        .delete("/api/auth/passkeys/{id}", manage::remove)
}
