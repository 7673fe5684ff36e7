//! Who is calling, as far as the request can be trusted to say: the source address from the
//! API Gateway request context (never a client's `X-Forwarded-For`, unless the address the
//! request came from is one of `TRUSTED_PROXIES`), the user agent and the request id.

use std::convert::Infallible;
use std::net::IpAddr;

use axum::extract::FromRequestParts;
use http::header::USER_AGENT;
use http::request::Parts;
use ipnet::IpNet;
use lambda_http::request::RequestContext;

use super::{AppState, X_REQUEST_ID};
use crate::clock::now_ms;
use crate::domain::{self, AuditAction, AuditEvent, AuditOutcome};
use crate::store::SessionOrigin;

#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl Caller {
    /// An audit event of this request, now.
    pub fn event(&self, action: AuditAction, outcome: AuditOutcome) -> AuditEvent {
        let mut event = AuditEvent::new(action, outcome, now_ms());
        event.source_ip = self.ip.map(|ip| ip.to_string());
        event.user_agent = self.user_agent.clone();
        event.request_id = self.request_id.clone();
        event
    }

    /// Where a session this request starts is from.
    pub fn origin(&self) -> SessionOrigin {
        SessionOrigin {
            ip: self.ip,
            user_agent: self.user_agent.clone(),
        }
    }
}

/// Puts `ip` where API Gateway puts the source address, unless a request context is there
/// already: how `local-api` passes on the socket's peer (and tests, a client's address).
pub fn set_source_ip(extensions: &mut http::Extensions, ip: IpAddr) {
    if extensions.get::<RequestContext>().is_some() {
        return;
    }
    let mut context =
        lambda_http::aws_lambda_events::apigw::ApiGatewayProxyRequestContext::default();
    context.identity.source_ip = Some(ip.to_string());
    extensions.insert(RequestContext::ApiGatewayV1(context));
}

/// The address API Gateway (or `local-api`, from the socket) saw the request come from.
fn context_source_ip(parts: &Parts) -> Option<IpAddr> {
    let raw = match parts.extensions.get::<RequestContext>()? {
        RequestContext::ApiGatewayV1(context) => context.identity.source_ip.as_deref(),
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.as_deref(),
        #[allow(unreachable_patterns)]
        _ => None,
    }?;
    raw.trim().parse().ok()
}

/// The client's address: `peer` itself, unless `peer` is a trusted proxy; then the nearest
/// `X-Forwarded-For` hop (right to left) that is not a trusted proxy.
pub fn client_ip(
    peer: Option<IpAddr>,
    forwarded_for: &[&str],
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer?;
    if !is_trusted(&client) {
        return Some(client);
    }
    let hops = forwarded_for
        .iter()
        .flat_map(|header| header.split(','))
        .map(str::trim)
        .rev();
    for hop in hops {
        // A hop that does not parse ends the chain we can believe.
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
}

/// `203.0.113.5`, `203.0.113.5:443`, `2001:db8::1` or `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            let bracketed = hop.strip_prefix('[')?.strip_suffix(']')?;
            bracketed.parse().ok()
        })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Infallible> {
        // Header bytes that are not UTF-8 are kept as replacement characters, not dropped.
        let header = |name| {
            parts
                .headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect::<Vec<_>>()
        };
        let forwarded_for = header(http::HeaderName::from_static("x-forwarded-for"));
        let forwarded_for: Vec<&str> = forwarded_for.iter().map(String::as_str).collect();
        let ip = client_ip(
            context_source_ip(parts),
            &forwarded_for,
            &app.config.trusted_proxies,
        );
        let user_agent = header(USER_AGENT)
            .first()
            .and_then(|ua| domain::user_agent(ua));
        let request_id = header(X_REQUEST_ID).into_iter().next();
        Ok(Caller {
            ip,
            user_agent,
            request_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let spoofed = ["1.2.3.4"];
        // Nobody trusted: the header is ignored.
        assert_eq!(
            client_ip(Some(ip("203.0.113.9")), &spoofed, &[]),
            Some(ip("203.0.113.9"))
        );
        // From an untrusted peer: ignored too.
        assert_eq!(
            client_ip(Some(ip("203.0.113.9")), &spoofed, &proxies),
            Some(ip("203.0.113.9"))
        );
        // From a trusted proxy: the nearest untrusted hop, not the client-written leftmost one.
        assert_eq!(
            client_ip(
                Some(ip("10.0.0.2")),
                &["1.2.3.4, 198.51.100.7, 10.0.0.5"],
                &proxies
            ),
            Some(ip("198.51.100.7"))
        );
        // Ports and brackets are read past.
        assert_eq!(
            client_ip(Some(ip("10.0.0.2")), &["198.51.100.7:5678"], &proxies),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            client_ip(Some(ip("10.0.0.2")), &["[2001:db8::7]:443"], &proxies),
            Some(ip("2001:db8::7"))
        );
        assert_eq!(
            client_ip(Some(ip("10.0.0.2")), &["[2001:db8::8]"], &proxies),
            Some(ip("2001:db8::8"))
        );
        // Garbage ends the chain at the last believable hop.
        assert_eq!(
            client_ip(Some(ip("10.0.0.2")), &["198.51.100.7, nonsense"], &proxies),
            Some(ip("10.0.0.2"))
        );
        assert_eq!(client_ip(None, &spoofed, &proxies), None);
    }
}
