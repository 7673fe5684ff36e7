//! Social sign-in (`OAUTH_PROVIDERS`): `GET /api/auth/oauth/{provider}/start` sends the browser
//! to the provider; its `.../callback` signs in (or links), and sends the browser back to the
//! page with a one-time code in the fragment, which the page trades for tokens at
//! `POST /api/auth/oauth/exchange`. A signed-in user lists, links and unlinks providers at
//! `/api/auth/identities`.

mod browser;
mod callback;
mod exchange;
mod identities;
mod start;

use shared::auth::oauth::Providers;
use shared::http::{ApiError, Routes};

pub fn routes() -> Routes {
    Routes::new("oauth")
        .get("/api/auth/oauth/{provider}/start", start::start)
        .get("/api/auth/oauth/{provider}/callback", callback::callback)
        .post("/api/auth/oauth/exchange", exchange::exchange)
        .get("/api/auth/identities", identities::list)
        .post("/api/auth/identities/{provider}", identities::link)
        .delete("/api/auth/identities/{provider}", identities::unlink)
}

/// The configured providers; a secret that cannot be read is a 503.
async fn providers(app: &shared::App) -> Result<std::sync::Arc<Providers>, ApiError> {
    app.oauth
        .get()
        .await
        .map_err(|cause| ApiError::Unavailable {
            detail: "the sign-in providers cannot be read right now",
            retry_after_secs: 5,
            cause: Some(cause.into()),
        })
}

fn unknown_provider() -> ApiError {
    ApiError::NotFound
}
