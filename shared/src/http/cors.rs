//! CORS from the configured allow-list of origins (`*` in the list admits any), and for the
//! public documents (`Routes::public_get`), any origin.

use std::time::Duration;

use http::Method;
use http::header::{
    AUTHORIZATION, CONTENT_TYPE, ETAG, HeaderName, HeaderValue, IF_MATCH, IF_NONE_MATCH, LOCATION,
    RETRY_AFTER,
};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::request_id::X_REQUEST_ID;

pub fn layer(allowed_origins: &[String]) -> CorsLayer {
    let any = allowed_origins.iter().any(|o| o == "*");
    let origin = if any {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            allowed_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(origin)
        // The listed origins' pages send the social sign-in binding cookie with the two calls
        // that need it (the code's exchange, a link's start); `*` never gets credentials.
        .allow_credentials(!any)
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            AUTHORIZATION,
            CONTENT_TYPE,
            IF_MATCH,
            IF_NONE_MATCH,
            X_REQUEST_ID,
        ])
        .expose_headers([
            ETAG,
            LOCATION,
            RETRY_AFTER,
            X_REQUEST_ID,
            HeaderName::from_static("ratelimit-limit"),
            HeaderName::from_static("ratelimit-remaining"),
            HeaderName::from_static("ratelimit-reset"),
        ])
        .max_age(Duration::from_secs(600))
}

/// For answers that are the same for everyone and hold nothing a credential unlocks (the public
/// keys): any origin may read them, `Access-Control-Allow-Origin: *` with no credentials. The
/// answer does not depend on the origin, so it says nothing to vary on either: one cached copy
/// serves every page.
pub fn public_layer() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET, Method::HEAD])
        .allow_headers([IF_NONE_MATCH, X_REQUEST_ID])
        .expose_headers([ETAG, X_REQUEST_ID])
        .max_age(Duration::from_secs(600))
        .vary(Vec::<HeaderName>::new())
}
