//! Passkeys' relying party (`WEBAUTHN_RP_ID`, `WEBAUTHN_ORIGINS`): the domain a passkey is bound
//! to, and the page origins allowed to use it. Both default to `APP_BASE_URL`'s, so a local run
//! at `http://localhost:3000` works as it is; a deployment whose pages are on
//! `https://app.example.com` may widen the id to `example.com` (passkeys then also work on the
//! other subdomains listed).

use super::ConfigError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// A domain (never an IP address), e.g. `example.com`.
    pub id: String,
    /// Exact origins (`https://app.example.com`), each on `id` or a subdomain of it.
    pub origins: Vec<String>,
}

impl RelyingParty {
    /// As configured, checked (an error names the setting); with neither set, the pages'
    /// (`APP_BASE_URL`), or none where that cannot carry passkeys (an IP address): passkeys are
    /// then off until a domain is configured.
    pub fn from_settings(
        id: Option<&str>,
        origins: Option<&str>,
        app_base_url: &str,
    ) -> Result<Option<Self>, ConfigError> {
        match (id, origins) {
            (None, None) => Ok(Self::new(None, None, app_base_url).ok()),
            _ => Self::new(id, origins, app_base_url).map(Some),
        }
    }

    /// `id` and `origins` (comma separated), checked; `app_base_url` gives what is missing.
    pub fn new(
        id: Option<&str>,
        origins: Option<&str>,
        app_base_url: &str,
    ) -> Result<Self, ConfigError> {
        let page = Origin::parse(app_base_url.trim_end_matches('/'), true)
            .map_err(|e| ConfigError(format!("APP_BASE_URL: {e}")))?;
        let id = id.map_or_else(|| page.host.clone(), |id| id.trim().to_ascii_lowercase());
        if !is_domain(&id) {
            return Err(ConfigError(format!(
                "WEBAUTHN_RP_ID must be a domain name (not an IP address or URL): `{id}`"
            )));
        }
        let origins: Vec<String> = match origins {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|origin| !origin.is_empty())
                .map(str::to_owned)
                .collect(),
            None => vec![page.text],
        };
        if origins.is_empty() {
            return Err(ConfigError("WEBAUTHN_ORIGINS names no origin".into()));
        }
        for origin in &origins {
            let parsed = Origin::parse(origin, false)
                .map_err(|e| ConfigError(format!("WEBAUTHN_ORIGINS: `{origin}`: {e}")))?;
            if parsed.host != id && !parsed.host.ends_with(&format!(".{id}")) {
                return Err(ConfigError(format!(
                    "WEBAUTHN_ORIGINS: `{origin}` is not on WEBAUTHN_RP_ID `{id}` or a subdomain"
                )));
            }
            if parsed.scheme != "https" && parsed.host != "localhost" {
                return Err(ConfigError(format!(
                    "WEBAUTHN_ORIGINS: `{origin}` must be https (plain http only on localhost)"
                )));
            }
        }
        Ok(Self { id, origins })
    }
}

struct Origin {
    scheme: String,
    host: String,
    /// `scheme://host[:port]`, lower-cased.
    text: String,
}

impl Origin {
    /// `scheme://host[:port]`; with `allow_path`, anything after the host is dropped.
    fn parse(raw: &str, allow_path: bool) -> Result<Self, String> {
        let raw = raw.trim().to_ascii_lowercase();
        let (scheme, rest) = raw
            .split_once("://")
            .ok_or("must be scheme://host[:port]")?;
        if scheme != "https" && scheme != "http" {
            return Err("must be http or https".into());
        }
        let (authority, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        if !allow_path && !path.is_empty() {
            return Err("an origin has no path".into());
        }
        let host = match authority.rsplit_once(':') {
            Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
                host
            }
            _ => authority,
        };
        if host.is_empty() || authority.contains('@') {
            return Err("has no host".into());
        }
        Ok(Self {
            scheme: scheme.to_owned(),
            host: host.to_owned(),
            text: format!("{scheme}://{authority}"),
        })
    }
}

/// `localhost`, `example.com`: letters, digits and hyphens in dot-separated labels, not all
/// digits at the end (an IPv4 address), no brackets (IPv6).
fn is_domain(id: &str) -> bool {
    let labels: Vec<&str> = id.split('.').collect();
    let well_formed = id.len() <= 253
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    let last_is_numeric = labels
        .last()
        .is_some_and(|label| label.bytes().all(|b| b.is_ascii_digit()));
    well_formed && !last_is_numeric
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_come_from_the_pages_address() {
        let rp = RelyingParty::new(None, None, "http://localhost:3000/").unwrap();
        assert_eq!(rp.id, "localhost");
        assert_eq!(rp.origins, ["http://localhost:3000"]);
        let rp = RelyingParty::new(None, None, "https://App.Example.com/base").unwrap();
        assert_eq!(rp.id, "app.example.com");
        assert_eq!(rp.origins, ["https://app.example.com"]);
    }

    #[test]
    fn a_wider_id_covers_listed_subdomains() {
        let rp = RelyingParty::new(
            Some("example.com"),
            Some("https://app.example.com, https://admin.example.com:8443"),
            "https://app.example.com",
        )
        .unwrap();
        assert_eq!(rp.origins.len(), 2);
    }

    #[test]
    fn what_a_browser_would_refuse_is_refused_at_start() {
        let base = "https://app.example.com";
        for (id, origins) in [
            (Some("127.0.0.1"), Some("http://127.0.0.1:3000")),
            (Some("example.com"), Some("https://evil.com")),
            (Some("example.com"), Some("https://notexample.com")),
            (Some("example.com"), Some("http://app.example.com")),
            (Some("example.com"), Some("https://app.example.com/path")),
            (Some("example.com"), Some("https://user@app.example.com")),
            (Some("example.com"), Some(" , ")),
            (Some("https://example.com"), None),
            (None, Some("ftp://app.example.com")),
        ] {
            assert!(
                RelyingParty::new(id, origins, base).is_err(),
                "{id:?} {origins:?}"
            );
        }
        assert!(RelyingParty::new(None, None, "http://127.0.0.1:3000").is_err());
    }

    #[test]
    fn pages_on_an_ip_address_leave_passkeys_off_unless_configured() {
        let ip = "http://127.0.0.1:3000";
        assert_eq!(RelyingParty::from_settings(None, None, ip).unwrap(), None);
        assert!(RelyingParty::from_settings(Some("localhost"), None, ip).is_err());
        let set = RelyingParty::from_settings(Some("localhost"), Some("http://localhost:4000"), ip);
        assert_eq!(set.unwrap().unwrap().origins, ["http://localhost:4000"]);
    }
}
