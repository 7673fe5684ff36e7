//! Social sign-in: the OAuth 2.0 authorization code flow with PKCE (S256), a `state` and a
//! `nonce` per sign-in, with OpenID Connect providers (the ID token verified against the
//! provider's keys) and GitHub (its user and e-mail API). Knows nothing of HTTP routes or of
//! storage: `functions/oauth` ties it to them.

mod fetch;
mod github;
mod oidc;
mod providers;
mod source;

pub use oidc::{Discovery, IdClaims, Oidc};
pub use providers::{Provider, ProviderConfig, ProviderKind, Providers, safe_url};
pub use source::OAuthProviders;

use super::{RefreshToken, sha256_b64url};

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The provider could not be reached, or answered what no provider should.
    #[error("the provider: {0}")]
    Provider(String),
    /// The provider refused (a code already used or expired, a wrong secret).
    #[error("the provider refused: {0}")]
    Refused(String),
    /// What the provider sent does not hold up.
    #[error("the ID token is {0}")]
    Invalid(&'static str),
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderUser {
    /// Stable and unique at the provider (`sub`; GitHub's numeric id).
    pub subject: String,
    pub email: Option<String>,
    /// The provider vouches the address is the user's.
    pub email_verified: bool,
    pub name: Option<String>,
}

/// The secrets of one sign-in, made at its start: `state` (sent, and kept as its hash),
/// `nonce` (sent, and kept), the PKCE `verifier` (kept; its S256 challenge is sent) and the
/// browser `binding` (set as a cookie, kept as its hash).
pub struct Authorization {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub binding: String,
}

impl Authorization {
    pub fn new() -> Self {
        let random = || RefreshToken::generate().expose();
        Self {
            state: random(),
            nonce: random(),
            verifier: random(),
            binding: random(),
        }
    }

    pub fn challenge(&self) -> String {
        pkce_challenge(&self.verifier)
    }
}

impl Default for Authorization {
    fn default() -> Self {
        Self::new()
    }
}

/// RFC 7636 S256: BASE64URL(SHA256(verifier)).
pub fn pkce_challenge(verifier: &str) -> String {
    sha256_b64url(verifier.as_bytes())
}

/// The stored form of a state, binding or grant: SHA-256, base64url.
pub fn secret_hash(raw: &str) -> String {
    sha256_b64url(raw.as_bytes())
}

impl Provider {
    /// Where to send the browser: the provider's authorization endpoint with this sign-in's
    /// parameters, coming back to `redirect_uri`.
    pub async fn authorize_url(
        &self,
        auth: &Authorization,
        redirect_uri: &str,
    ) -> Result<String, OAuthError> {
        let endpoint = match &self.oidc {
            Some(oidc) => oidc.discovery().await?.authorization_endpoint,
            None => github::authorize_url(&self.config),
        };
        let challenge = auth.challenge();
        let scopes = self.scopes();
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &scopes)
            .append_pair("state", &auth.state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if self.oidc.is_some() {
            query.append_pair("nonce", &auth.nonce);
        }
        let separator = if endpoint.contains('?') { '&' } else { '?' };
        Ok(format!("{endpoint}{separator}{}", query.finish()))
    }

    /// Trades the callback's `code` (with the PKCE verifier) for who signed in.
    pub async fn user_for_code(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<ProviderUser, OAuthError> {
        let config = &self.config;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", config.client_id.as_str()),
            ("client_secret", config.client_secret.as_str()),
            ("code_verifier", verifier),
        ];
        match &self.oidc {
            Some(oidc) => {
                #[derive(serde::Deserialize)]
                struct Tokens {
                    id_token: String,
                }
                let endpoint = oidc.discovery().await?.token_endpoint;
                let tokens: Tokens = fetch::post_form(&endpoint, &form).await?;
                let claims = oidc
                    .verify(&tokens.id_token, &config.client_id, nonce)
                    .await?;
                Ok(ProviderUser {
                    subject: claims.sub,
                    email: claims.email,
                    email_verified: claims.email_verified,
                    name: claims.name,
                })
            }
            None => github::user_for_code(config, &form).await,
        }
    }
}
