//! Extractors whose rejections are problem documents: JSON bodies, query parameters, the
//! caller's identity.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use axum::body::Bytes;
use axum::extract::{
    FromRequest, FromRequestParts, OptionalFromRequest, OptionalFromRequestParts, Path, Request,
};
use http::StatusCode;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::request::Parts;
use serde::de::DeserializeOwned;

use super::{ApiError, AppState};
use crate::auth::{AuthError, Principal};
use crate::domain::FieldError;

/// A JSON body: 415 for another content type, 413 over the limit, 400 for broken JSON, 422 for
/// JSON of the wrong shape.
pub struct Json<T>(pub T);

fn is_json(parts: &http::HeaderMap) -> bool {
    parts
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        parse_object(&read_body(req, state).await?).map(Json)
    }
}

/// `Option<Json<T>>`: `None` for a request with an empty body (whatever its content type),
/// otherwise exactly `Json<T>`, so a malformed body is refused, never ignored.
impl<T: DeserializeOwned, S: Send + Sync> OptionalFromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, ApiError> {
        let json = is_json(req.headers());
        let bytes = read_body(req, state).await?;
        if bytes.is_empty() {
            return Ok(None);
        }
        if !json {
            return Err(ApiError::UnsupportedMediaType);
        }
        parse_object(&bytes).map(|value| Some(Json(value)))
    }
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            _ => ApiError::bad_request("unreadable_body", "the request body could not be read"),
        })
}

fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde reads a struct from a JSON array too (`["tok"]` as `{"refreshToken": "tok"}`):
    // every body of this API is an object, so any other JSON is the wrong shape.
    let first = bytes.iter().find(|b| !b" \t\r\n".contains(b));
    if first.is_some_and(|b| *b != b'{') {
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(ApiError::MalformedJson)?;
        return Err(ApiError::Validation(vec![FieldError {
            field: "body".into(),
            code: "invalid_shape",
            message: "the body must be a JSON object".into(),
        }]));
    }
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ApiError::Validation(vec![FieldError {
            field: "body".into(),
            code: "invalid_shape",
            message: e.to_string(),
        }]),
        _ => ApiError::MalformedJson(e),
    })
}

/// The `{id}` of a path, parsed as the UUID every id is. Anything else names nothing (404) and
/// never reaches the store: a 3 KB id would exceed DynamoDB's key size limit there.
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = <Path<String> as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        parse_id(&raw).ok_or(ApiError::NotFound).map(PathId)
    }
}

/// The two ids of a path such as `/api/users/{id}/sessions/{sid}`, each parsed as `PathId`'s.
pub struct PathIds(pub String, pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path((first, second)) =
            <Path<(String, String)> as FromRequestParts<S>>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::NotFound)?;
        match (parse_id(&first), parse_id(&second)) {
            (Some(first), Some(second)) => Ok(PathIds(first, second)),
            _ => Err(ApiError::NotFound),
        }
    }
}

pub use crate::domain::parse_id;

/// The query string: each parameter's value, and which came more than once.
pub struct Params {
    values: HashMap<String, String>,
    repeated: HashSet<String>,
}

impl Params {
    /// The value of the parameter `name`, if it was sent; 400 `duplicate_parameter` if it was
    /// sent more than once: a route reads one value, and which one a proxy, a cache or a firewall
    /// in front read is anyone's guess (`?scope=others&scope=all`). A repeated parameter no route
    /// reads is ignored like any other unknown one.
    pub fn get(&self, name: &str) -> Result<Option<&str>, ApiError> {
        if self.repeated.contains(name) {
            return Err(ApiError::bad_request(
                "duplicate_parameter",
                format!("the query parameter `{name}` may be given once"),
            ));
        }
        Ok(self.values.get(name).map(String::as_str))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut values = HashMap::new();
        let mut repeated = HashSet::new();
        for (name, value) in form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
            match values.entry(name.into_owned()) {
                Entry::Occupied(sent) => {
                    repeated.insert(sent.key().clone());
                }
                Entry::Vacant(new) => {
                    new.insert(value.into_owned());
                }
            }
        }
        Ok(Params { values, repeated })
    }
}

/// The bearer token, if an `Authorization: Bearer ...` header is present.
pub fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// Routes that need a caller take a `Principal`: 401 without a live session.
impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers).ok_or(AuthError::MissingToken)?;
        Ok(app.sessions().authenticate(token).await?)
    }
}

/// Routes open to everyone take an `Option<Principal>`: `None` without an `Authorization`
/// header, 401 when one is sent and is not valid.
impl OptionalFromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Option<Self>, ApiError> {
        if !parts.headers.contains_key(AUTHORIZATION) {
            return Ok(None);
        }
        <Principal as FromRequestParts<AppState>>::from_request_parts(parts, app)
            .await
            .map(Some)
    }
}
