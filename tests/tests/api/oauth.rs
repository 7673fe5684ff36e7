//! Social sign-in against a real OpenID Connect provider on loopback (`support::oidc_provider`),
//! on both engines. The test is the browser: it follows each redirect itself, carrying the
//! binding cookie the API set. A state works once and only in its browser; ID tokens that do
//! not hold up are refused; a key rotation is followed; an address only links two accounts when
//! both sides proved it; a signed-in user links and unlinks, never the last way in.

use crate::support;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use futures_util::future::join_all;
use serde_json::{Value, json};
use shared::auth::oauth::{OAuthProviders, Providers};
use shared::config::{Config, RateLimits};
use shared::domain::Email;
use shared::jobs::{MailMessage, Work};
use support::oidc_provider::{Misbehaviour, OidcProvider, ProviderAccount};
use support::{Call, TestApp, assert_problem, body_json, header, links};

pub(crate) const API: &str = "http://api.test";
const ACCOUNT_PAGE: &str = "http://localhost:3000/account";

/// The app signing in with `provider` (as `stand-in`), its API at `API`.
pub(crate) fn with_provider(app: TestApp, provider: &OidcProvider) -> TestApp {
    let providers = Providers::from_json(&provider.config_json("stand-in")).unwrap();
    support::rebuilt_with(app, |mut app| {
        app.oauth = OAuthProviders::given(providers);
        app.config.api_base_url = Some(API.into());
        app
    })
}

/// What the API's callback sent the browser back with: the fragment's one key and value.
#[derive(Debug, PartialEq)]
pub(crate) enum Landed {
    Code(String),
    Linked(String),
    Error(String),
}

/// The browser's side of one sign-in: the start's redirect and cookie, then the provider's
/// redirect back (the callback URL to open).
pub(crate) struct Started {
    pub(crate) cookie: String,
    pub(crate) callback: String,
}

/// Opens the start URL `path` in a browser holding `cookie` (a link's binding), if any.
pub(crate) async fn start(app: &TestApp, path: &str, cookie: Option<&str>) -> Started {
    let mut call = Call::new(Method::GET, path);
    if let Some(cookie) = cookie {
        call = call.header("cookie", cookie);
    }
    let started = call.send(app).await;
    assert_eq!(started.status(), StatusCode::FOUND, "{:?}", started.body());
    let cookie = header(&started, "set-cookie").unwrap().to_owned();
    assert!(
        cookie.starts_with("__Host-oauth=")
            && cookie.contains("Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("Path=/"),
        "{cookie}"
    );
    let binding = cookie.split(';').next().unwrap().to_owned();
    let authorize = header(&started, "location").unwrap().to_owned();
    let approved = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&authorize)
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 302, "{authorize}");
    let back = approved.headers()["location"].to_str().unwrap().to_owned();
    let callback = back
        .strip_prefix(API)
        .unwrap_or_else(|| panic!("back to our callback: {back}"))
        .to_owned();
    Started {
        cookie: binding,
        callback,
    }
}

pub(crate) async fn open_callback(app: &TestApp, callback: &str, cookie: Option<&str>) -> Landed {
    let mut call = Call::new(Method::GET, callback);
    if let Some(cookie) = cookie {
        call = call.header("cookie", cookie);
    }
    let landed = call.send(app).await;
    assert_eq!(landed.status(), StatusCode::FOUND, "{:?}", landed.body());
    assert_eq!(header(&landed, "cache-control"), Some("no-store"));
    let location = header(&landed, "location").unwrap();
    let (page, fragment) = location.split_once('#').expect("a fragment");
    assert_eq!(page, ACCOUNT_PAGE);
    let (key, value) = fragment.split_once('=').unwrap();
    let value = value.to_owned();
    match key {
        "oauth_code" => Landed::Code(value),
        "oauth_linked" => Landed::Linked(value),
        "oauth_error" => Landed::Error(value),
        other => panic!("{other}"),
    }
}

/// A sign-in in a new browser: where it landed, and the browser's binding cookie.
async fn sign_in_with_cookie(app: &TestApp) -> (Landed, String) {
    let started = start(app, "/api/auth/oauth/stand-in/start", None).await;
    let landed = open_callback(app, &started.callback, Some(&started.cookie)).await;
    (landed, started.cookie)
}

async fn sign_in(app: &TestApp) -> Landed {
    sign_in_with_cookie(app).await.0
}

/// The page's exchange of `code`, in the browser holding `cookie`.
async fn exchange(app: &TestApp, code: &str, cookie: &str) -> support::TestResponse {
    Call::new(Method::POST, "/api/auth/oauth/exchange")
        .header("cookie", cookie)
        .json(json!({ "code": code }))
        .send(app)
        .await
}

/// Signs in with the provider and exchanges the code: the token answer.
async fn signed_in(app: &TestApp) -> Value {
    let (Landed::Code(code), cookie) = sign_in_with_cookie(app).await else {
        panic!("not signed in");
    };
    let tokens = exchange(app, &code, &cookie).await;
    assert_eq!(tokens.status(), StatusCode::OK, "{:?}", tokens.body());
    body_json(&tokens)
}

/// A registered account whose address is verified (by its welcome mail's link).
pub(crate) async fn verified_account(
    app: &TestApp,
    mails: &support::Captured,
    email: &str,
) -> support::Account {
    let account = support::account(app, email, "Ada").await;
    let token = mails.token_mailed_to(email, links::verify).await;
    let verified = Call::new(Method::POST, "/api/auth/verify-email")
        .json(json!({ "token": token }))
        .send(app)
        .await;
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);
    account
}

/// The binding cookie a link's answer set (`name=value`).
pub(crate) fn link_cookie(asked: &support::TestResponse) -> String {
    let cookie = header(asked, "set-cookie").expect("a binding cookie");
    cookie.split(';').next().unwrap().to_owned()
}

async fn identities(app: &TestApp, access: &str) -> Value {
    let listed = Call::new(Method::GET, "/api/auth/identities")
        .token(access)
        .send(app)
        .await;
    assert_eq!(listed.status(), StatusCode::OK, "{:?}", listed.body());
    body_json(&listed)
}

async fn a_new_user_signs_in_and_the_code_works_once(app: TestApp) {
    let provider = OidcProvider::start().await;
    let app = with_provider(app, &provider);
    provider.next_sign_in(ProviderAccount::verified("sub-1", "new@example.com"));
    let (Landed::Code(code), cookie) = sign_in_with_cookie(&app).await else {
        panic!("not signed in");
    };
    // Handed to another browser (a login CSRF), or sent with none: nothing.
    for other in ["__Host-oauth=another-browser", "x=y"] {
        let refused = exchange(&app, &code, other).await;
        assert_problem(&refused, StatusCode::BAD_REQUEST, "invalid_code");
    }
    let tokens = exchange(&app, &code, &cookie).await;
    assert_eq!(
        header(&tokens, "set-cookie").map(|c| c.contains("Max-Age=0")),
        Some(true),
        "the binding is cleared"
    );
    assert_eq!(tokens.status(), StatusCode::OK, "{:?}", tokens.body());
    let body = body_json(&tokens);
    assert_eq!(body["user"]["email"], "new@example.com");
    assert_eq!(body["user"]["emailVerified"], true);
    assert_eq!(body["user"]["name"], "Ada Lovelace");
    let again = exchange(&app, &code, &cookie).await;
    assert_problem(&again, StatusCode::BAD_REQUEST, "invalid_code");
    let access = body["accessToken"].as_str().unwrap();
    let sessions = Call::new(Method::GET, "/api/auth/sessions")
        .token(access)
        .send(&app)
        .await;
    assert_eq!(body_json(&sessions)["data"][0]["amr"], json!(["oauth"]));
    let listed = identities(&app, access).await;
    assert_eq!(listed["hasPassword"], false);
    assert_eq!(listed["data"][0]["provider"], "stand-in");
    assert_eq!(listed["data"][0]["email"], "new@example.com");
    // The only way in: kept.
    let unlink = Call::new(Method::DELETE, "/api/auth/identities/stand-in")
        .token(access)
        .send(&app)
        .await;
    assert_problem(&unlink, StatusCode::CONFLICT, "last_sign_in_method");
    // The same provider account signs in as the same user again.
    let second = signed_in(&app).await;
    assert_eq!(second["user"]["id"], body["user"]["id"]);
}

async fn a_state_works_once_and_only_in_its_browser(app: TestApp) {
    let provider = OidcProvider::start().await;
    let app = Arc::new(with_provider(app, &provider));
    provider.next_sign_in(ProviderAccount::verified("sub-2", "state@example.com"));
    let started = start(&app, "/api/auth/oauth/stand-in/start", None).await;
    // Another browser (an attacker's link opened by a victim) or none: refused.
    let other = Some("__Host-oauth=somebody-elses-binding");
    for cookie in [None, other] {
        let refused = open_callback(&app, &started.callback, cookie).await;
        assert_eq!(refused, Landed::Error("invalid_state".into()));
    }
    // The same callback opened many times at once: one sign-in.
    let opened = (0..8).map(|_| {
        let (app, started) = (
            app.clone(),
            (started.callback.clone(), started.cookie.clone()),
        );
        tokio::spawn(async move { open_callback(&app, &started.0, Some(&started.1)).await })
    });
    let landed: Vec<Landed> = join_all(opened)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let codes = landed
        .iter()
        .filter(|l| matches!(l, Landed::Code(_)))
        .count();
    assert_eq!(codes, 1, "{landed:?}");
    assert!(
        landed
            .iter()
            .all(|l| matches!(l, Landed::Code(_)) || *l == Landed::Error("invalid_state".into())),
        "{landed:?}"
    );
}

/// One provider account signing in for the first time in two tabs at once: one account, and
/// each tab either signed in to it or told to link (never a second account).
async fn first_sign_ins_at_once_make_one_account(app: TestApp) {
    let provider = OidcProvider::start().await;
    let app = Arc::new(with_provider(app, &provider));
    provider.next_sign_in(ProviderAccount::verified("sub-twice", "twice@example.com"));
    let first = start(&app, "/api/auth/oauth/stand-in/start", None).await;
    let second = start(&app, "/api/auth/oauth/stand-in/start", None).await;
    let opened = [first, second].map(|started| {
        let app = app.clone();
        tokio::spawn(async move {
            let landed = open_callback(&app, &started.callback, Some(&started.cookie)).await;
            (landed, started.cookie)
        })
    });
    let mut users = std::collections::HashSet::new();
    for landed in join_all(opened).await {
        let (landed, cookie) = landed.unwrap();
        match landed {
            Landed::Code(code) => {
                let tokens = exchange(&app, &code, &cookie).await;
                assert_eq!(tokens.status(), StatusCode::OK);
                users.insert(
                    body_json(&tokens)["user"]["id"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
            other => assert_eq!(other, Landed::Error("link_required".into())),
        }
    }
    assert_eq!(users.len(), 1, "{users:?}");
    let stored = app
        .stores
        .users
        .find_user_by_email(&Email::parse("twice@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(users.contains(&stored.id));
}

async fn id_tokens_that_do_not_hold_up_are_refused(app: TestApp) {
    let provider = OidcProvider::start().await;
    let app = with_provider(app, &provider);
    for (n, how) in [
        Misbehaviour::WrongNonce,
        Misbehaviour::WrongAudience,
        Misbehaviour::Expired,
        Misbehaviour::WrongIssuer,
        Misbehaviour::UnpublishedKey,
    ]
    .into_iter()
    .enumerate()
    {
        let email = format!("forged{n}@example.com");
        provider.next_sign_in(ProviderAccount::verified(&format!("forged-{n}"), &email));
        provider.misbehave(how);
        assert_eq!(sign_in(&app).await, Landed::Error("provider_failed".into()));
        let user = app
            .stores
            .users
            .find_user_by_email(&Email::parse(&email).unwrap())
            .await
            .unwrap();
        assert!(user.is_none(), "no account from a refused token");
    }
    // A provider's error (the user said no) and a callback without a code.
    provider.misbehave(Misbehaviour::None);
    provider.next_sign_in(ProviderAccount::verified("sub-ok", "ok@example.com"));
    let started = start(&app, "/api/auth/oauth/stand-in/start", None).await;
    let (path, query) = started.callback.split_once('?').unwrap();
    let state = query
        .split('&')
        .find(|p| p.starts_with("state="))
        .unwrap()
        .to_owned();
    let denied = format!("{path}?error=access_denied&{state}");
    assert_eq!(
        open_callback(&app, &denied, Some(&started.cookie)).await,
        Landed::Error("provider_refused".into())
    );
}

async fn a_key_rotation_is_followed(app: TestApp) {
    let provider = OidcProvider::start().await;
    let app = with_provider(app, &provider);
    provider.next_sign_in(ProviderAccount::verified("sub-r1", "r1@example.com"));
    signed_in(&app).await;
    let fetches = provider.jwks_fetches();
    provider.rotate();
    // Within the refetch gap, a token from the new key waits for the next look at the keys.
    tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    provider.next_sign_in(ProviderAccount::verified("sub-r2", "r2@example.com"));
    let body = signed_in(&app).await;
    assert_eq!(body["user"]["email"], "r2@example.com");
    assert_eq!(provider.jwks_fetches(), fetches + 1);
}

/// Someone registers a victim's address here, unproven; or claims it, unproven, at the
/// provider: neither gets the other's account. Both proven: linked.
async fn an_address_links_accounts_only_when_both_sides_proved_it(app: TestApp) {
    let provider = OidcProvider::start().await;
    let app = with_provider(app, &provider);
    let (app, mails) = support::capturing(app);
    let owner = support::account(&app, "owner@example.com", "Owner").await;
    // The account's address is not verified yet.
    provider.next_sign_in(ProviderAccount::verified("sub-o", "owner@example.com"));
    assert_eq!(sign_in(&app).await, Landed::Error("link_required".into()));
    let token = mails
        .token_mailed_to("owner@example.com", links::verify)
        .await;
    let verified = Call::new(Method::POST, "/api/auth/verify-email")
        .json(json!({ "token": token }))
        .send(&app)
        .await;
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);
    // The provider does not vouch for the address.
    let mut unproven = ProviderAccount::verified("sub-x", "owner@example.com");
    unproven.email_verified = false;
    provider.next_sign_in(unproven);
    assert_eq!(sign_in(&app).await, Landed::Error("link_required".into()));
    // No address at all.
    let mut nameless = ProviderAccount::verified("sub-y", "x@example.com");
    nameless.email = None;
    provider.next_sign_in(nameless);
    assert_eq!(sign_in(&app).await, Landed::Error("email_required".into()));
    // Both proven: linked, and the owner is told.
    provider.next_sign_in(ProviderAccount::verified("sub-o", "owner@example.com"));
    let body = signed_in(&app).await;
    assert_eq!(body["user"]["id"], owner.id.as_str());
    let told = mails
        .jobs()
        .await
        .iter()
        .filter(|job| matches!(&job.work, Work::Email(mail)
            if mail.to == "owner@example.com" && matches!(mail.message, MailMessage::IdentityLinked { .. })))
        .count();
    assert_eq!(told, 1);
    // An unproven address at the provider makes no account: whoever claimed it first would
    // keep a way into it after its owner proved it.
    let mut fresh = ProviderAccount::verified("sub-z", "fresh@example.com");
    fresh.email_verified = false;
    provider.next_sign_in(fresh);
    assert_eq!(
        sign_in(&app).await,
        Landed::Error("email_not_verified".into())
    );
    // A look-alike of an address here (a Kelvin sign for the K) never reaches it.
    provider.next_sign_in(ProviderAccount::verified(
        "sub-k",
        "\u{212A}owner@example.com",
    ));
    let _ = sign_in(&app).await;
    let owner_identities = app
        .stores
        .identities
        .list_identities(&owner.id)
        .await
        .unwrap();
    assert_eq!(owner_identities.len(), 1, "{owner_identities:?}");
}

/// A provider linked from a session the password signed in is unlinked by a password reset
/// (the mailbox's owner taking the account back from whoever knew the old password); one
/// linked automatically at a provider sign-in stays.
async fn a_password_reset_unlinks_what_the_old_password_linked(app: TestApp) {
    let provider = OidcProvider::start().await;
    let app = with_provider(app, &provider);
    let (app, mails) = support::capturing(app);
    let owner = verified_account(&app, &mails, "taken@example.com").await;
    let asked = Call::new(Method::POST, "/api/auth/identities/stand-in")
        .token(&owner.access)
        .json(json!({ "password": "correct horse battery" }))
        .send(&app)
        .await;
    assert_eq!(asked.status(), StatusCode::CREATED, "{:?}", asked.body());
    let cookie = link_cookie(&asked);
    let url = body_json(&asked)["url"].as_str().unwrap().to_owned();
    provider.next_sign_in(ProviderAccount::verified(
        "sub-squatter",
        "squatter@example.com",
    ));
    let started = start(&app, url.strip_prefix(API).unwrap(), Some(&cookie)).await;
    assert_eq!(
        open_callback(&app, &started.callback, Some(&started.cookie)).await,
        Landed::Linked("stand-in".into())
    );
    let listed = app
        .stores
        .identities
        .list_identities(&owner.id)
        .await
        .unwrap();
    assert!(listed[0].added_with_password);

    Call::new(Method::POST, "/api/auth/forgot-password")
        .json(json!({ "email": "taken@example.com" }))
        .send(&app)
        .await;
    let token = mails
        .token_mailed_to("taken@example.com", links::reset)
        .await;
    let reset = Call::new(Method::POST, "/api/auth/reset-password")
        .json(json!({ "token": token, "password": "the owner's own passphrase" }))
        .send(&app)
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT, "{:?}", reset.body());
    assert_eq!(
        app.stores
            .identities
            .list_identities(&owner.id)
            .await
            .unwrap(),
        vec![]
    );
    // The provider's account signs in no more as the owner: a new sign-in with it is one
    // for an address of its own.
    provider.next_sign_in(ProviderAccount::verified(
        "sub-squatter",
        "squatter@example.com",
    ));
    let again = signed_in(&app).await;
    assert_ne!(again["user"]["id"], owner.id.as_str());

    // Linked by a verified address at a provider sign-in: no password involved, it stays.
    provider.next_sign_in(ProviderAccount::verified("sub-owner", "taken@example.com"));
    let auto = signed_in(&app).await;
    assert_eq!(auto["user"]["id"], owner.id.as_str());
    Call::new(Method::POST, "/api/auth/forgot-password")
        .json(json!({ "email": "taken@example.com" }))
        .send(&app)
        .await;
    let token = mails
        .token_mailed_to("taken@example.com", links::reset)
        .await;
    let reset = Call::new(Method::POST, "/api/auth/reset-password")
        .json(json!({ "token": token, "password": "yet another passphrase" }))
        .send(&app)
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT, "{:?}", reset.body());
    assert_eq!(
        app.stores
            .identities
            .list_identities(&owner.id)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn a_signed_in_user_links_and_unlinks(app: TestApp) {
    let provider = OidcProvider::start().await;
    let app = with_provider(app, &provider);
    let (app, mails) = support::capturing(app);
    // Not before the address is proven: whoever registered it may not own it.
    let unproven = support::account(&app, "unproven@example.com", "Eve").await;
    let refused = Call::new(Method::POST, "/api/auth/identities/stand-in")
        .token(&unproven.access)
        .json(json!({ "password": "correct horse battery" }))
        .send(&app)
        .await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "email_not_verified");
    let ada = verified_account(&app, &mails, "linker@example.com").await;
    let wrong = Call::new(Method::POST, "/api/auth/identities/stand-in")
        .token(&ada.access)
        .json(json!({ "password": "not it" }))
        .send(&app)
        .await;
    assert_problem(
        &wrong,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let asked = Call::new(Method::POST, "/api/auth/identities/stand-in")
        .token(&ada.access)
        .json(json!({ "password": "correct horse battery" }))
        .send(&app)
        .await;
    assert_eq!(asked.status(), StatusCode::CREATED, "{:?}", asked.body());
    let cookie = link_cookie(&asked);
    let url = body_json(&asked)["url"].as_str().unwrap().to_owned();
    let path = url.strip_prefix(API).unwrap().to_owned();
    // Opened in another browser (a link CSRF: the victim's provider on the asker's account).
    let elsewhere = Call::new(Method::GET, &path)
        .header("cookie", "__Host-oauth=another-browser")
        .send(&app)
        .await;
    assert_problem(&elsewhere, StatusCode::BAD_REQUEST, "invalid_link_ticket");
    // An address the provider has that differs from ours: linking does not need it to match.
    provider.next_sign_in(ProviderAccount::verified("sub-l", "elsewhere@example.com"));
    let started = start(&app, &path, Some(&cookie)).await;
    assert_eq!(
        open_callback(&app, &started.callback, Some(&started.cookie)).await,
        Landed::Linked("stand-in".into())
    );
    // The ticket was spent.
    let again = Call::new(Method::GET, &path)
        .header("cookie", &cookie)
        .send(&app)
        .await;
    assert_problem(&again, StatusCode::BAD_REQUEST, "invalid_link_ticket");
    let listed = identities(&app, &ada.access).await;
    assert_eq!(listed["hasPassword"], true);
    assert_eq!(listed["data"][0]["email"], "elsewhere@example.com");
    let body = signed_in(&app).await;
    assert_eq!(body["user"]["id"], ada.id.as_str());
    // Someone else cannot link the same provider account.
    let bob = verified_account(&app, &mails, "bob@example.com").await;
    let asked = Call::new(Method::POST, "/api/auth/identities/stand-in")
        .token(&bob.access)
        .json(json!({ "password": "correct horse battery" }))
        .send(&app)
        .await;
    let cookie = link_cookie(&asked);
    let path = body_json(&asked)["url"]
        .as_str()
        .unwrap()
        .strip_prefix(API)
        .unwrap()
        .to_owned();
    let started = start(&app, &path, Some(&cookie)).await;
    assert_eq!(
        open_callback(&app, &started.callback, Some(&started.cookie)).await,
        Landed::Error("identity_in_use".into())
    );
    // With a password, the identity may go.
    let unlinked = Call::new(Method::DELETE, "/api/auth/identities/stand-in")
        .token(&ada.access)
        .send(&app)
        .await;
    assert_eq!(unlinked.status(), StatusCode::NO_CONTENT);
    assert_eq!(identities(&app, &ada.access).await["data"], json!([]));
    let missing = Call::new(Method::DELETE, "/api/auth/identities/stand-in")
        .token(&ada.access)
        .send(&app)
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

/// GitHub (plain OAuth 2.0): the primary address, and whether GitHub verified it, from its
/// e-mail API; the numeric id as the subject.
async fn github_signs_in_with_its_primary_verified_address(app: TestApp) {
    let provider = OidcProvider::start().await;
    let providers = Providers::from_json(&provider.github_config_json("stand-in")).unwrap();
    let app = support::rebuilt_with(app, |mut app| {
        app.oauth = OAuthProviders::given(providers);
        app.config.api_base_url = Some(API.into());
        app
    });
    provider.next_sign_in(ProviderAccount::verified("4242", "octo@example.com"));
    let body = signed_in(&app).await;
    assert_eq!(body["user"]["email"], "octo@example.com");
    assert_eq!(body["user"]["emailVerified"], true);
    let listed = identities(&app, body["accessToken"].as_str().unwrap()).await;
    assert_eq!(listed["data"][0]["provider"], "stand-in");
    let mut unverified = ProviderAccount::verified("4343", "unsure@example.com");
    unverified.email_verified = false;
    provider.next_sign_in(unverified);
    assert_eq!(
        sign_in(&app).await,
        Landed::Error("email_not_verified".into())
    );
    // The same GitHub account signs in as the same user.
    provider.next_sign_in(ProviderAccount::verified("4242", "octo@example.com"));
    let again = signed_in(&app).await;
    assert_eq!(again["user"]["id"], body["user"]["id"]);
}

/// An account without a password links another provider only from a recent sign-in: a stolen
/// token from an older session cannot add the thief's provider for good.
async fn a_passwordless_account_links_only_from_a_recent_sign_in(app: TestApp) {
    use shared::auth::{RefreshToken, issue_access_token};
    use shared::domain::{AuthMethod, Authentication};
    use shared::store::{RefreshRecord, Session, SessionOrigin};
    let provider = OidcProvider::start().await;
    let app = with_provider(app, &provider);
    provider.next_sign_in(ProviderAccount::verified(
        "sub-np",
        "nopassword@example.com",
    ));
    let body = signed_in(&app).await;
    let fresh = body["accessToken"].as_str().unwrap();
    let link = |token: String| {
        Call::new(Method::POST, "/api/auth/identities/stand-in")
            .header("authorization", format!("Bearer {token}"))
            .json(json!({}))
    };
    let now_linking = link(fresh.to_owned()).send(&app).await;
    assert_eq!(
        now_linking.status(),
        StatusCode::CREATED,
        "{:?}",
        now_linking.body()
    );
    // A session of the same user started 20 minutes ago, still live.
    let user = app
        .stores
        .users
        .get_user(body["user"]["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let now = shared::clock::now_ms();
    let started = now - 20 * 60 * 1000;
    let authentication = Authentication::first_factor(AuthMethod::Oauth);
    let session = Session {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user.id.clone(),
        generation: user.session_generation,
        created_at: started,
        expires_at: now + 3_600_000,
        revoked_at: None,
        last_used_at: started,
        authentication: authentication.clone(),
        origin: SessionOrigin::default(),
    };
    let record = RefreshRecord {
        hash: RefreshToken::generate().hash(),
        user_id: user.id.clone(),
        session_id: session.id.clone(),
        created_at: started,
        expires_at: now + 3_600_000,
        spent_at: None,
        successor: None,
    };
    app.stores
        .sessions
        .create_session(&session, &record)
        .await
        .unwrap();
    let keys = app.keys.current().await;
    let old = issue_access_token(
        &keys,
        &app.config,
        &user.id,
        user.role,
        &session.id,
        &authentication,
        now / 1000,
    )
    .unwrap();
    let stale = link(old).send(&app).await;
    assert_problem(&stale, StatusCode::FORBIDDEN, "recent_sign_in_required");
}

/// Starting sign-ins is counted per source address (each stores a state for 10 minutes).
async fn starts_are_limited_per_address(app: TestApp) {
    let provider = OidcProvider::start().await;
    let app = with_provider(app, &provider);
    provider.next_sign_in(ProviderAccount::verified("sub-flood", "flood@example.com"));
    for _ in 0..3 {
        start(&app, "/api/auth/oauth/stand-in/start", None).await;
    }
    let limited = Call::new(Method::GET, "/api/auth/oauth/stand-in/start")
        .send(&app)
        .await;
    assert_problem(&limited, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    // From elsewhere, still fine.
    let elsewhere = Call::new(Method::GET, "/api/auth/oauth/stand-in/start")
        .sent_from("203.0.113.9")
        .send(&app)
        .await;
    assert_eq!(elsewhere.status(), StatusCode::FOUND);
}

async fn bad_input_gets_problem_documents(app: TestApp) {
    let provider = OidcProvider::start().await;
    let app = with_provider(app, &provider);
    let unknown = Call::new(Method::GET, "/api/auth/oauth/nope/start")
        .send(&app)
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let elsewhere = Call::new(
        Method::GET,
        "/api/auth/oauth/stand-in/start?return_to=https%3A%2F%2Fevil.example%2F",
    )
    .send(&app)
    .await;
    assert_problem(&elsewhere, StatusCode::BAD_REQUEST, "return_to_not_allowed");
    let empty = Call::new(Method::POST, "/api/auth/oauth/exchange")
        .json(json!({}))
        .send(&app)
        .await;
    assert_problem(
        &empty,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    for code in ["", "x", &"a".repeat(5000)] {
        let made_up = exchange(&app, code, "__Host-oauth=x").await;
        assert_problem(&made_up, StatusCode::BAD_REQUEST, "invalid_code");
    }
    let no_state = Call::new(Method::GET, "/api/auth/oauth/stand-in/callback?code=x")
        .header("cookie", "__Host-oauth=x")
        .send(&app)
        .await;
    assert_eq!(no_state.status(), StatusCode::FOUND);
    let anonymous = Call::new(Method::GET, "/api/auth/identities")
        .send(&app)
        .await;
    assert_problem(&anonymous, StatusCode::UNAUTHORIZED, "missing_token");
    let methods = Call::new(Method::GET, "/api/auth/methods").send(&app).await;
    assert_eq!(
        body_json(&methods)["providers"],
        json!([{ "id": "stand-in", "name": "Stand-in" }])
    );
}

fn config() -> Config {
    Config {
        api_base_url: Some(API.into()),
        ..Config::for_tests()
    }
}

on_both_stores! {
    a_new_user_signs_in_and_the_code_works_once => config(),
    a_state_works_once_and_only_in_its_browser => config(),
    first_sign_ins_at_once_make_one_account => config(),
    id_tokens_that_do_not_hold_up_are_refused => config(),
    a_key_rotation_is_followed => config(),
    an_address_links_accounts_only_when_both_sides_proved_it => config(),
    a_signed_in_user_links_and_unlinks => config(),
    a_password_reset_unlinks_what_the_old_password_linked => Config {
        reset_mail_gap: std::time::Duration::ZERO,
        ..config()
    },
    github_signs_in_with_its_primary_verified_address => config(),
    a_passwordless_account_links_only_from_a_recent_sign_in => config(),
    starts_are_limited_per_address => Config {
        rate_limits: RateLimits {
            oauth_start_ip: shared::config::Rule::parse("3/1h").unwrap(),
            ..RateLimits::default()
        },
        ..config()
    },
    bad_input_gets_problem_documents => config(),
}
