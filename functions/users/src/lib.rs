//! `/api/users/...`: profiles, the admin listing, updates with optimistic locking, deletion;
//! and `/api/audit`, the admins' log of security events.

mod audit;
mod email;
mod list;
mod profile;

use shared::http::Routes;

pub fn routes() -> Routes {
    Routes::new("users")
        .get("/api/users", list::list)
        .get("/api/users/me", profile::me)
        .post("/api/users/me/email", email::request_change)
        .get("/api/users/{id}", profile::get)
        .patch("/api/users/{id}", profile::patch)
        .delete("/api/users/{id}", profile::delete)
        .get("/api/audit", audit::list)
}
