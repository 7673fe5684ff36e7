//! The API's public URL, for documents that name our own URLs (`jwks_uri`): `API_BASE_URL` when
//! set; otherwise where this request came: `X-Forwarded-Proto` (API Gateway sets `https`), the
//! `Host`, and on an `execute-api` host the stage, which is in that URL's path.

use http::header::HOST;
use http::request::Parts;
use lambda_http::request::RequestContext;

use crate::config::Config;

/// `https://api.example.com`, `https://abc123.execute-api.eu-west-1.amazonaws.com/prod`,
/// `http://127.0.0.1:3000`; no trailing slash. Empty when the request names no host.
pub fn api_base_url(config: &Config, parts: &Parts) -> String {
    if let Some(url) = &config.api_base_url {
        return url.clone();
    }
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
        let url = |host, proto, stage| api_base_url(&config, &parts(host, proto, stage));
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
            api_base_url(&configured, &parts(Some("other.example"), None, None)),
            "https://api.example.com/v1"
        );
    }
}
