//! GitHub's OAuth 2.0 (no OpenID Connect): the code is traded for an access token, which reads
//! the user (`GET /user`) and their addresses (`GET /user/emails`: the primary one, and whether
//! GitHub verified it).

use serde::Deserialize;

use super::fetch::{get_json, post_form};
use super::{OAuthError, ProviderConfig, ProviderUser};

pub fn authorize_url(config: &ProviderConfig) -> String {
    config
        .authorize_url
        .clone()
        .unwrap_or_else(|| "https://github.com/login/oauth/authorize".into())
}

pub async fn user_for_code(
    config: &ProviderConfig,
    form: &[(&str, &str)],
) -> Result<ProviderUser, OAuthError> {
    #[derive(Deserialize)]
    struct Token {
        access_token: Option<String>,
        error: Option<String>,
    }
    #[derive(Deserialize)]
    struct User {
        id: u64,
        name: Option<String>,
        login: String,
    }
    #[derive(Deserialize)]
    struct Address {
        email: String,
        primary: bool,
        verified: bool,
    }
    let token_url = config
        .token_url
        .clone()
        .unwrap_or_else(|| "https://github.com/login/oauth/access_token".into());
    let api = config
        .api_url
        .clone()
        .unwrap_or_else(|| "https://api.github.com".into());
    let api = api.trim_end_matches('/');
    // GitHub answers a bad code with 200 and `error`.
    let token: Token = post_form(&token_url, form).await?;
    let access = match (token.access_token, token.error) {
        (Some(access), None) => access,
        (_, error) => return Err(OAuthError::Refused(error.unwrap_or_default())),
    };
    let user: User = get_json(&format!("{api}/user"), Some(&access)).await?;
    let addresses: Vec<Address> = get_json(&format!("{api}/user/emails"), Some(&access)).await?;
    let primary = addresses.into_iter().find(|a| a.primary);
    Ok(ProviderUser {
        subject: user.id.to_string(),
        email_verified: primary.as_ref().is_some_and(|a| a.verified),
        email: primary.map(|a| a.email),
        name: user.name.or(Some(user.login)),
    })
}
