//! The API's public URL, for documents that name our own URLs (`jwks_uri`): `API_BASE_URL` when
//! set; otherwise where this request came: `X-Forwarded-Proto` (API Gateway sets `https`), the
//! `Host`, and on an `execute-api` host the stage, which is in that URL's path.

use axum::response::Response;
use http::header::{CACHE_CONTROL, HOST, HeaderValue, VARY};
use http::request::Parts;
use lambda_http::request::RequestContext;

use crate::config::Config;

/// What an answer read the base URL from, when it was read off the request.
const READ_FROM: &str = "Host, X-Forwarded-Proto";

/// The API's public URL and whether it was read off the request.
pub struct ApiBaseUrl {
    pub url: String,
    from_request: bool,
}

impl ApiBaseUrl {
    /// `response`, an answer naming this URL that any cache may otherwise keep (a `public`
    /// `Cache-Control`), as it may be cached: unchanged when the URL is configured. Read off the
    /// request it is the client's own: `private` for the same time, varying on what it was read
    /// from. A shared cache (a CDN in front) keys on neither `X-Forwarded-Proto` nor, always, the
    /// `Host`, so a shared copy would hand what one client sent to everyone else.
    pub fn cache_as_naming_it(&self, mut response: Response) -> Response {
        if !self.from_request {
            return response;
        }
        let headers = response.headers_mut();
        let lifetime = headers
            .get(CACHE_CONTROL)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("public"))
            .map(|rest| format!("private{rest}"));
        if let Some(Ok(private)) = lifetime.map(HeaderValue::try_from) {
            headers.insert(CACHE_CONTROL, private);
        }
        let vary = match headers.get(VARY).and_then(|value| value.to_str().ok()) {
            Some(vary) => format!("{vary}, {READ_FROM}"),
            None => READ_FROM.to_owned(),
        };
        if let Ok(vary) = HeaderValue::try_from(vary) {
            headers.insert(VARY, vary);
        }
        response
    }
}

/// `https://api.example.com`, `https://abc123.execute-api.eu-west-1.amazonaws.com/prod`,
/// `http://127.0.0.1:3000`; no trailing slash. Empty when the request names no host.
pub fn api_base_url(config: &Config, parts: &Parts) -> ApiBaseUrl {
    match &config.api_base_url {
        Some(url) => ApiBaseUrl {
            url: url.clone(),
            from_request: false,
        },
        None => ApiBaseUrl {
            url: read_off(parts),
            from_request: true,
        },
    }
}

/// Where the request came: its scheme, host and stage.
fn read_off(parts: &Parts) -> String {
    let host = parts
        .headers
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| parts.uri.authority().map(|authority| authority.as_str()))
        .filter(|host| is_host(host));
    let Some(host) = host else {
        return String::new();
    };
    let scheme = match parts
        .headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    let stage = match parts.extensions.get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV1(context)) if host.contains(".execute-api.") => context
            .stage
            .as_deref()
            .filter(|stage| is_path_segment(stage)),
        _ => None,
    };
    match stage {
        Some(stage) => format!("{scheme}://{host}/{stage}"),
        None => format!("{scheme}://{host}"),
    }
}

/// A host name or address with an optional port, and nothing that would change the URL's shape.
fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
}

fn is_path_segment(stage: &str) -> bool {
    !stage.is_empty()
        && stage
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(host: Option<&str>, proto: Option<&str>, stage: Option<&str>) -> Parts {
        let mut request = http::Request::builder().uri("/.well-known/openid-configuration");
        if let Some(host) = host {
            request = request.header(HOST, host);
        }
        if let Some(proto) = proto {
            request = request.header("x-forwarded-proto", proto);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        if let Some(stage) = stage {
            let mut context =
                lambda_http::aws_lambda_events::apigw::ApiGatewayProxyRequestContext::default();
            context.stage = Some(stage.into());
            parts
                .extensions
                .insert(RequestContext::ApiGatewayV1(context));
        }
        parts
    }

    #[test]
    fn names_the_url_the_request_came_to() {
        let config = Config::for_tests();
        let url = |host, proto, stage| api_base_url(&config, &parts(host, proto, stage)).url;
        assert_eq!(
            url(Some("127.0.0.1:3000"), None, None),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            url(
                Some("abc123.execute-api.eu-west-1.amazonaws.com"),
                Some("https"),
                Some("prod")
            ),
            "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
        );
        // A custom domain maps the stage at its root.
        assert_eq!(
            url(Some("api.example.com"), Some("https"), Some("prod")),
            "https://api.example.com"
        );
        assert_eq!(url(Some("evil.example/x?"), None, None), "");
        assert_eq!(url(None, None, None), "");
        let configured = Config {
            api_base_url: Some("https://api.example.com/v1".into()),
            ..Config::for_tests()
        };
        assert_eq!(
            api_base_url(&configured, &parts(Some("other.example"), None, None)).url,
            "https://api.example.com/v1"
        );
    }
}
