//! A real OpenID Connect provider on loopback, small enough to read: discovery, its keys
//! (JWKS), an authorization endpoint that approves at once (as the user the test chose), and a
//! token endpoint that checks the client, the redirect URI, the code (once) and PKCE before it
//! signs an ID token. The test can rotate its key and make it misbehave (a wrong nonce, another
//! audience, an expired token, another issuer, a key it does not publish). It also speaks
//! GitHub's OAuth 2.0 (`/login/oauth/access_token`, `/user`, `/user/emails`) for the `github`
//! kind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "our-client";
pub const CLIENT_SECRET: &str = "our-client-secret";

/// Who signs in next, as the provider knows them.
#[derive(Clone)]
pub struct ProviderAccount {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

impl ProviderAccount {
    pub fn verified(subject: &str, email: &str) -> Self {
        Self {
            subject: subject.into(),
            email: Some(email.into()),
            email_verified: true,
            name: Some("Ada Lovelace".into()),
        }
    }
}

/// How the next ID token goes wrong.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub enum Misbehaviour {
    #[default]
    None,
    WrongNonce,
    WrongAudience,
    Expired,
    WrongIssuer,
    UnpublishedKey,
}

struct SigningKey {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

impl SigningKey {
    fn ed25519(kid: &str) -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        Self {
            kid: kid.into(),
            alg: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk: json!({ "kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig", "alg": "EdDSA" }),
        }
    }

    fn p256(kid: &str) -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        let (x, y) = point[1..].split_at(32);
        Self {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({
                "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
                "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
            }),
        }
    }
}

struct Pending {
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    account: ProviderAccount,
}

struct Inner {
    base: String,
    /// Published keys; the first signs.
    keys: Vec<SigningKey>,
    unpublished: SigningKey,
    codes: HashMap<String, Pending>,
    next: Option<ProviderAccount>,
    misbehaviour: Misbehaviour,
    /// GitHub access tokens handed out, and whose they are.
    github_tokens: HashMap<String, ProviderAccount>,
    /// Token requests answered, and JWKS fetches.
    pub token_requests: usize,
    pub jwks_fetches: usize,
}

#[derive(Clone)]
pub struct OidcProvider(Arc<Mutex<Inner>>);

impl OidcProvider {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let provider = Self(Arc::new(Mutex::new(Inner {
            base,
            keys: vec![SigningKey::ed25519("ed-1")],
            unpublished: SigningKey::ed25519("not-published"),
            codes: HashMap::new(),
            next: None,
            misbehaviour: Misbehaviour::None,
            github_tokens: HashMap::new(),
            token_requests: 0,
            jwks_fetches: 0,
        })));
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/login/oauth/access_token", post(github_token))
            .route("/user", get(github_user))
            .route("/user/emails", get(github_emails))
            .with_state(provider.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        provider
    }

    pub fn issuer(&self) -> String {
        self.0.lock().unwrap().base.clone()
    }

    /// The `OAUTH_PROVIDERS` JSON naming this provider `id`.
    pub fn config_json(&self, id: &str) -> String {
        json!([{
            "id": id, "name": "Stand-in", "kind": "oidc", "issuer": self.issuer(),
            "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
        }])
        .to_string()
    }

    /// The `OAUTH_PROVIDERS` JSON naming this server, as GitHub, `id`.
    pub fn github_config_json(&self, id: &str) -> String {
        let base = self.issuer();
        json!([{
            "id": id, "name": "Hub", "kind": "github",
            "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
            "authorizeUrl": format!("{base}/authorize"),
            "tokenUrl": format!("{base}/login/oauth/access_token"),
            "apiUrl": base,
        }])
        .to_string()
    }

    /// The account the next authorization approves.
    pub fn next_sign_in(&self, account: ProviderAccount) {
        self.0.lock().unwrap().next = Some(account);
    }

    pub fn misbehave(&self, how: Misbehaviour) {
        self.0.lock().unwrap().misbehaviour = how;
    }

    /// A new signing key (P-256) in front; the old one stays published, as providers rotate.
    pub fn rotate(&self) {
        let mut inner = self.0.lock().unwrap();
        let kid = format!("p256-{}", inner.keys.len() + 1);
        inner.keys.insert(0, SigningKey::p256(&kid));
    }

    pub fn jwks_fetches(&self) -> usize {
        self.0.lock().unwrap().jwks_fetches
    }
}

async fn discovery(State(provider): State<OidcProvider>) -> Json<Value> {
    let base = provider.issuer();
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "id_token_signing_alg_values_supported": ["EdDSA", "ES256"],
    }))
}

async fn jwks(State(provider): State<OidcProvider>) -> Json<Value> {
    let mut inner = provider.0.lock().unwrap();
    inner.jwks_fetches += 1;
    let keys: Vec<Value> = inner.keys.iter().map(|k| k.jwk.clone()).collect();
    Json(json!({ "keys": keys }))
}

fn refuse(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

/// A query string or form body, by name (the last of a repeated name).
fn pairs(text: &str) -> HashMap<String, String> {
    form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

async fn authorize(State(provider): State<OidcProvider>, uri: Uri) -> Response {
    let query = pairs(uri.query().unwrap_or_default());
    let get = |name: &str| query.get(name).cloned();
    // GitHub's scopes have no `openid`; every OpenID Connect sign-in asks for it.
    let scope_ok = get("scope").is_some_and(|s| {
        s.split(' ').any(|s| s == "openid") || (get("nonce").is_none() && s.contains("user:email"))
    });
    let ok = get("response_type").as_deref() == Some("code")
        && get("client_id").as_deref() == Some(CLIENT_ID)
        && get("code_challenge_method").as_deref() == Some("S256")
        && scope_ok;
    let (Some(redirect_uri), Some(state), Some(challenge), true) =
        (get("redirect_uri"), get("state"), get("code_challenge"), ok)
    else {
        return refuse(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let mut inner = provider.0.lock().unwrap();
    let Some(account) = inner.next.clone() else {
        return refuse(StatusCode::BAD_REQUEST, "no account chosen");
    };
    let code = uuid::Uuid::new_v4().to_string();
    inner.codes.insert(
        code.clone(),
        Pending {
            redirect_uri: redirect_uri.clone(),
            challenge,
            nonce: get("nonce"),
            account,
        },
    );
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("code", &code)
        .append_pair("state", &state)
        .finish();
    let location = format!("{redirect_uri}?{query}");
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

async fn token(State(provider): State<OidcProvider>, body: String) -> Response {
    let form = pairs(&body);
    let get = |name: &str| form.get(name).cloned().unwrap_or_default();
    let mut inner = provider.0.lock().unwrap();
    inner.token_requests += 1;
    if get("grant_type") != "authorization_code"
        || get("client_id") != CLIENT_ID
        || get("client_secret") != CLIENT_SECRET
    {
        return refuse(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    // A code works once.
    let Some(pending) = inner.codes.remove(&get("code")) else {
        return refuse(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let verifier = get("code_verifier");
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    if pending.redirect_uri != get("redirect_uri") || challenge != pending.challenge {
        return refuse(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let now = shared::clock::now_ms() / 1000;
    let how = inner.misbehaviour;
    let account = pending.account;
    let mut claims = json!({
        "iss": if how == Misbehaviour::WrongIssuer { "https://elsewhere.example".to_owned() } else { inner.base.clone() },
        "aud": if how == Misbehaviour::WrongAudience { "another-client" } else { CLIENT_ID },
        "sub": account.subject,
        "iat": now,
        "exp": if how == Misbehaviour::Expired { now - 600 } else { now + 600 },
        "nonce": if how == Misbehaviour::WrongNonce { Some("another nonce".to_owned()) } else { pending.nonce },
        "email_verified": account.email_verified,
    });
    if let Some(email) = account.email {
        claims["email"] = email.into();
    }
    if let Some(name) = account.name {
        claims["name"] = name.into();
    }
    let key = if how == Misbehaviour::UnpublishedKey {
        &inner.unpublished
    } else {
        &inner.keys[0]
    };
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    let id_token = jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap();
    Json(json!({ "access_token": "opaque", "token_type": "Bearer", "id_token": id_token }))
        .into_response()
}

/// GitHub's token endpoint: the same checks, an opaque access token naming the account (and
/// GitHub's way of refusing: 200 with `error`).
async fn github_token(State(provider): State<OidcProvider>, body: String) -> Response {
    let form = pairs(&body);
    let get = |name: &str| form.get(name).cloned().unwrap_or_default();
    let mut inner = provider.0.lock().unwrap();
    inner.token_requests += 1;
    let Some(pending) = inner.codes.remove(&get("code")) else {
        return Json(json!({ "error": "bad_verification_code" })).into_response();
    };
    let verifier = get("code_verifier");
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    if get("client_secret") != CLIENT_SECRET
        || pending.redirect_uri != get("redirect_uri")
        || challenge != pending.challenge
    {
        return Json(json!({ "error": "incorrect_client_credentials" })).into_response();
    }
    let token = format!("gho_{}", uuid::Uuid::new_v4().simple());
    inner.github_tokens.insert(token.clone(), pending.account);
    Json(json!({ "access_token": token, "token_type": "bearer", "scope": "read:user,user:email" }))
        .into_response()
}

fn github_account(
    provider: &OidcProvider,
    headers: &axum::http::HeaderMap,
) -> Option<ProviderAccount> {
    let bearer = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = bearer.strip_prefix("Bearer ")?;
    provider.0.lock().unwrap().github_tokens.get(token).cloned()
}

async fn github_user(
    State(provider): State<OidcProvider>,
    headers: axum::http::HeaderMap,
) -> Response {
    let Some(account) = github_account(&provider, &headers) else {
        return refuse(StatusCode::UNAUTHORIZED, "Bad credentials");
    };
    let id: u64 = account.subject.parse().unwrap_or(7);
    Json(json!({ "id": id, "login": "octo", "name": account.name })).into_response()
}

async fn github_emails(
    State(provider): State<OidcProvider>,
    headers: axum::http::HeaderMap,
) -> Response {
    let Some(account) = github_account(&provider, &headers) else {
        return refuse(StatusCode::UNAUTHORIZED, "Bad credentials");
    };
    let mut emails =
        vec![json!({ "email": "old@example.com", "primary": false, "verified": true })];
    if let Some(email) = account.email {
        emails.push(json!({ "email": email, "primary": true, "verified": account.email_verified }));
    }
    Json(Value::Array(emails)).into_response()
}
