//! `/api/users/...`: profiles, the admin listing, updates with optimistic locking, deletion.

mod list;
mod profile;

use shared::http::Routes;

pub fn routes() -> Routes {
    Routes::new("users")
        .get("/api/users", list::list)
        .get("/api/users/me", profile::me)
        .get("/api/users/{id}", profile::get)
        .patch("/api/users/{id}", profile::patch)
        .delete("/api/users/{id}", profile::delete)
}
