//! The bootstrap every function's `main` calls: build the app once, then serve invocations.

use std::future::Future;

use lambda_http::service_fn;

use crate::app::BoxError;
use crate::http::{Request, Response};
use crate::{App, telemetry};

pub async fn run<F, Fut>(handle: F) -> Result<(), BoxError>
where
    F: Fn(&'static App, Request) -> Fut,
    Fut: Future<Output = Response> + Send,
{
    telemetry::init();
    // Lives as long as the execution environment; leaking it lets handlers borrow it freely.
    let app: &'static App = Box::leak(Box::new(App::from_env().await?));
    lambda_http::run(service_fn(|req| {
        let response = handle(app, req);
        async move { Ok::<_, std::convert::Infallible>(response.await) }
    }))
    .await
}
