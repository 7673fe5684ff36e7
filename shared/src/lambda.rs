//! An HTTP function as Lambda runs it: invocations (API Gateway REST and HTTP API / function URL
//! events alike) served by the function's router.

use lambda_http::RequestExt;
use tower::ServiceBuilder;
use tower::util::MapRequestLayer;

use crate::http;
use crate::http::{AppState, Routes};

/// The function's router as Lambda runs it (what `app::serve_lambda` serves; tests feed it
/// events).
pub fn service(
    routes: Routes,
    app: AppState,
) -> impl tower::Service<
    lambda_http::Request,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future: Send,
> + Clone {
    ServiceBuilder::new()
        .layer(MapRequestLayer::new(without_stage))
        .service(http::service(routes, app))
}

/// API Gateway REST events carry the stage in the path (`/prod/api/...`) unless
/// `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set; route on the path the client asked for.
fn without_stage(mut req: lambda_http::Request) -> lambda_http::Request {
    let raw = req.raw_http_path().to_owned();
    if raw.is_empty() || raw == req.uri().path() || !raw.starts_with('/') {
        return req;
    }
    let target = match req.uri().query() {
        Some(query) => format!("{raw}?{query}"),
        None => raw,
    };
    if let Ok(uri) = target.parse() {
        *req.uri_mut() = uri;
    }
    req
}
