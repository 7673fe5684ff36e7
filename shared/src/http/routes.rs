//! A function's routes, built once: an axum router plus the (method, path, function) list
//! that template.yaml, the `cargo lambda watch` router and `local-api` are checked against.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::handler::Handler;
use axum::routing::{MethodFilter, on};
use http::{Method, StatusCode};

use crate::App;
use crate::secrets::KeyProvider;
use crate::store::Stores;

pub type AppState = Arc<App>;

/// A handler that needs only the stores takes `State<Stores>`.
impl FromRef<AppState> for Stores {
    fn from_ref(app: &AppState) -> Self {
        app.stores.clone()
    }
}

/// A handler that signs or checks cursors takes `State<KeyProvider>`.
impl FromRef<AppState> for KeyProvider {
    fn from_ref(app: &AppState) -> Self {
        app.keys.clone()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteSpec {
    pub method: Method,
    /// Path template as API Gateway writes it: `/api/posts/{id}`.
    pub path: &'static str,
    /// The Lambda function (binary) that serves it.
    pub function: &'static str,
}

pub struct Routes {
    function: &'static str,
    specs: Vec<RouteSpec>,
    router: Router<AppState>,
}

impl Routes {
    pub fn new(function: &'static str) -> Self {
        Self {
            function,
            specs: Vec::new(),
            router: Router::new(),
        }
    }

    fn on<H, T>(mut self, method: Method, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
        self.specs.push(RouteSpec {
            method,
            path,
            function: self.function,
        });
        self.router = self.router.route(path, on(filter, handler));
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.on(Method::GET, path, h)
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.on(Method::POST, path, h)
    }

    pub fn patch<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.on(Method::PATCH, path, h)
    }

    pub fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.on(Method::DELETE, path, h)
    }

    /// Several functions' routes as one (the local server).
    pub fn merge(mut self, other: Routes) -> Self {
        self.specs.extend(other.specs);
        self.router = self.router.merge(other.router);
        self
    }

    pub fn specs(&self) -> &[RouteSpec] {
        &self.specs
    }

    /// Every distinct path, each of which also answers `OPTIONS` (CORS preflight).
    pub fn paths(&self) -> BTreeSet<&'static str> {
        self.specs.iter().map(|spec| spec.path).collect()
    }

    /// The router, with an `OPTIONS` route on every path for CORS preflight.
    pub(super) fn into_router(self) -> Router<AppState> {
        let mut router = self.router;
        for path in self.specs.iter().map(|s| s.path).collect::<BTreeSet<_>>() {
            router = router.route(path, on(MethodFilter::OPTIONS, preflight));
        }
        router
    }
}

/// An `OPTIONS` that is not a CORS preflight (the CORS layer answers those).
async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}
