//! `/api/posts/...` and `/api/users/{id}/posts`: posts with drafts, tags, caching headers and
//! optimistic locking.

mod list;
mod single;
mod write;

use shared::http::Routes;

pub use list::{FEED_CACHE, PAGE_MAX_BYTES};
pub use write::{PostBody, parse_new_post};

pub fn routes() -> Routes {
    Routes::new("posts")
        .get("/api/posts", list::feed)
        .post("/api/posts", write::create)
        .get("/api/posts/{id}", single::get)
        .patch("/api/posts/{id}", write::patch)
        .delete("/api/posts/{id}", write::delete)
        .get("/api/users/{id}/posts", list::by_author)
}
