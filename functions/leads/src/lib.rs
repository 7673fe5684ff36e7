//! `/api/leads`: the public form that pages a human (`POST`), and the admins' list of leads.

mod admin;
mod form;
mod phone;

use shared::http::Routes;

pub use phone::load_metadata as load_phone_metadata;

pub fn routes() -> Routes {
    Routes::new("leads")
        .post("/api/leads", form::submit)
        .get("/api/leads", admin::list)
        .patch("/api/leads/{id}", admin::patch)
}
