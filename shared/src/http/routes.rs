//! A function's routes, built once: an axum router plus the (method, path, function) list
//! that template.yaml, the `cargo lambda watch` router and `local-api` are checked against.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::handler::Handler;
use axum::routing::{MethodFilter, on};
use http::{Method, StatusCode};

use super::cors;
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
    /// Routes any web origin may read (`public_get`), with their own CORS.
    public: Router<AppState>,
    public_paths: BTreeSet<&'static str>,
}

impl Routes {
    pub fn new(function: &'static str) -> Self {
        Self {
            function,
            specs: Vec::new(),
            router: Router::new(),
            public: Router::new(),
            public_paths: BTreeSet::new(),
        }
    }

    /// A `GET` whose answer is the same for everyone and carries no credentials (public keys):
    /// a page on any origin may read it (`Access-Control-Allow-Origin: *`), whatever
    /// `CORS_ALLOWED_ORIGINS` says. Its path has no other method.
    pub fn public_get<H: Handler<T, AppState>, T: 'static>(
        mut self,
        path: &'static str,
        handler: H,
    ) -> Self {
        self.specs.push(RouteSpec {
            method: Method::GET,
            path,
            function: self.function,
        });
        self.public = self.public.route(path, axum::routing::get(handler));
        self.public_paths.insert(path);
        self
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
        self.public = self.public.merge(other.public);
        self.public_paths.extend(other.public_paths);
        self
    }

    pub fn specs(&self) -> &[RouteSpec] {
        &self.specs
    }

    /// Every distinct path, each of which also answers `OPTIONS` (CORS preflight).
    pub fn paths(&self) -> BTreeSet<&'static str> {
        self.specs.iter().map(|spec| spec.path).collect()
    }

    /// The router, with an `OPTIONS` route on every path for CORS preflight, and CORS on every
    /// route: for `allowed_origins`, or for any origin on the public ones. Only on known routes,
    /// so an `OPTIONS` to an unknown path is a 404.
    pub(super) fn into_router(self, allowed_origins: &[String]) -> Router<AppState> {
        let public_paths = self.public_paths;
        let paths = self.specs.iter().map(|s| s.path).collect::<BTreeSet<_>>();
        let with_preflight = |mut router: Router<AppState>, public: bool| {
            for path in paths.iter().filter(|p| public_paths.contains(*p) == public) {
                router = router.route(path, on(MethodFilter::OPTIONS, preflight));
            }
            router
        };
        let mut router = with_preflight(self.router, false);
        if paths.iter().any(|path| !public_paths.contains(path)) {
            router = router.route_layer(cors::layer(allowed_origins));
        }
        if !public_paths.is_empty() {
            let public = with_preflight(self.public, true).route_layer(cors::public_layer());
            router = router.merge(public);
        }
        router
    }
}

/// An `OPTIONS` that is not a CORS preflight (the CORS layer answers those).
async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}
