//! `/api/users/...`: profiles, the admin listing, updates with optimistic locking, deletion, a
//! user's sessions; and `/api/audit`, the admins' log of security events.

mod audit;
mod email;
mod list;
mod profile;
mod sessions;

use shared::http::Routes;

pub fn routes() -> Routes {
    Routes::new("users")
        .get("/api/users", list::list)
        .get("/api/users/me", profile::me)
        .post("/api/users/me/email", email::request_change)
        .get("/api/users/{id}", profile::get)
        .patch("/api/users/{id}", profile::patch)
        .delete("/api/users/{id}", profile::delete)
        .get("/api/users/{id}/sessions", sessions::list)
        .delete("/api/users/{id}/sessions/{sid}", sessions::end)
        .get("/api/audit", audit::list)
}
