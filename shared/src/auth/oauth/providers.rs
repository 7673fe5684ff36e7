//! The providers a deployment signs in with (`OAUTH_PROVIDERS`, or the Secrets Manager secret
//! `OAUTH_PROVIDERS_SECRET_ID` holding the same JSON): any OpenID Connect provider by its
//! issuer (Google: `https://accounts.google.com`), and GitHub as plain OAuth 2.0.
//!
//! ```json
//! [{"id": "google", "kind": "oidc", "issuer": "https://accounts.google.com",
//!   "clientId": "...", "clientSecret": "..."},
//!  {"id": "github", "kind": "github", "clientId": "...", "clientSecret": "..."}]
//! ```

use serde::Deserialize;

use super::oidc::Oidc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Oidc,
    Github,
}

#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderConfig {
    /// In the routes (`/api/auth/oauth/{id}/start`) and stored with each identity: never
    /// change it once used.
    pub id: String,
    /// What a sign-in button says ("Google"); the id when absent.
    #[serde(default)]
    pub name: Option<String>,
    pub kind: ProviderKind,
    /// OpenID Connect: the issuer, whose discovery document names every endpoint.
    #[serde(default)]
    pub issuer: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    /// OpenID Connect: `openid email profile` unless given.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// GitHub (or GitHub Enterprise): its endpoints, github.com's unless given.
    #[serde(default)]
    pub authorize_url: Option<String>,
    #[serde(default)]
    pub token_url: Option<String>,
    #[serde(default)]
    pub api_url: Option<String>,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// One configured provider, with what it caches (OpenID Connect: discovery and keys).
pub struct Provider {
    pub config: ProviderConfig,
    pub oidc: Option<Oidc>,
}

impl Provider {
    pub fn id(&self) -> &str {
        &self.config.id
    }

    pub fn name(&self) -> &str {
        self.config.name.as_deref().unwrap_or(&self.config.id)
    }

    pub fn scopes(&self) -> String {
        match (&self.config.scopes, self.config.kind) {
            (Some(scopes), _) => scopes.join(" "),
            (None, ProviderKind::Oidc) => "openid email profile".into(),
            (None, ProviderKind::Github) => "read:user user:email".into(),
        }
    }
}

/// Every configured provider.
#[derive(Default)]
pub struct Providers(Vec<Provider>);

impl Providers {
    /// The providers in `json` (a JSON array), each checked: ids unique and URL-safe, an
    /// OpenID Connect provider with an issuer, every URL `https://` (plain `http://` only on
    /// loopback, for stand-ins).
    pub fn from_json(json: &str) -> Result<Self, String> {
        let configs: Vec<ProviderConfig> =
            serde_json::from_str(json).map_err(|e| format!("OAUTH_PROVIDERS: {e}"))?;
        let mut providers = Vec::with_capacity(configs.len());
        for config in configs {
            check(&config)?;
            if providers
                .iter()
                .any(|p: &Provider| p.config.id == config.id)
            {
                return Err(format!("OAUTH_PROVIDERS: {} is given twice", config.id));
            }
            let oidc = match config.kind {
                ProviderKind::Oidc => Some(Oidc::new(config.issuer.clone().unwrap_or_default())),
                ProviderKind::Github => None,
            };
            providers.push(Provider { config, oidc });
        }
        Ok(Self(providers))
    }

    pub fn get(&self, id: &str) -> Option<&Provider> {
        self.0.iter().find(|p| p.config.id == id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Provider> {
        self.0.iter()
    }
}

fn check(config: &ProviderConfig) -> Result<(), String> {
    let id = &config.id;
    let id_ok = !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !id_ok {
        return Err(format!(
            "OAUTH_PROVIDERS: the id {id:?} must be 1 to 32 of a-z, 0-9 and -"
        ));
    }
    if config.client_id.is_empty() || config.client_secret.is_empty() {
        return Err(format!(
            "OAUTH_PROVIDERS: {id} needs a clientId and a clientSecret"
        ));
    }
    if config.kind == ProviderKind::Oidc && config.issuer.is_none() {
        return Err(format!("OAUTH_PROVIDERS: {id} (oidc) needs an issuer"));
    }
    let urls = [
        &config.issuer,
        &config.authorize_url,
        &config.token_url,
        &config.api_url,
    ];
    for url in urls.into_iter().flatten() {
        if !safe_url(url) {
            return Err(format!(
                "OAUTH_PROVIDERS: {id}: {url} must be https:// (http:// only on loopback)"
            ));
        }
    }
    Ok(())
}

/// `https://`, or `http://` to a loopback host.
pub fn safe_url(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // `http://localhost:1@elsewhere` is elsewhere.
    if authority.contains('@') {
        return false;
    }
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_are_checked() {
        let google = r#"[{"id":"google","kind":"oidc","issuer":"https://accounts.google.com","clientId":"c","clientSecret":"s"},
            {"id":"github","kind":"github","clientId":"c","clientSecret":"s"}]"#;
        let providers = Providers::from_json(google).unwrap();
        assert_eq!(
            providers.get("google").unwrap().scopes(),
            "openid email profile"
        );
        assert!(providers.get("github").unwrap().oidc.is_none());
        assert!(providers.get("nope").is_none());
        for bad in [
            r#"[{"id":"Google","kind":"oidc","issuer":"https://a","clientId":"c","clientSecret":"s"}]"#,
            r#"[{"id":"g","kind":"oidc","clientId":"c","clientSecret":"s"}]"#,
            r#"[{"id":"g","kind":"oidc","issuer":"http://evil.example","clientId":"c","clientSecret":"s"}]"#,
            r#"[{"id":"g","kind":"github","clientId":"","clientSecret":"s"}]"#,
            r#"[{"id":"g","kind":"github","clientId":"c","clientSecret":"s"},{"id":"g","kind":"github","clientId":"c","clientSecret":"s"}]"#,
            r#"[{"id":"g","kind":"saml","clientId":"c","clientSecret":"s"}]"#,
        ] {
            assert!(Providers::from_json(bad).is_err(), "{bad}");
        }
        assert!(safe_url("http://127.0.0.1:8080/x"));
        assert!(safe_url("http://localhost/x"));
        assert!(!safe_url("http://localhost.evil.example/x"));
        assert!(!safe_url("http://localhost:1@192.0.2.2/x"));
        assert!(!safe_url("http://127.0.0.1@evil.example"));
        let debug = format!("{:?}", providers.get("google").unwrap().config);
        assert!(
            !debug.contains("clientSecret") && !debug.contains("\"s\""),
            "{debug}"
        );
    }
}
