//! The audit log through the shipped handlers, on both stores: every kind of event with its
//! fields, admin-only reads, and paging that holds while new events arrive.

use crate::support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::verify_access_token;
use shared::clock::{now_ms, rfc3339};
use shared::config::Config;
use shared::domain::{AuditAction, AuditEvent, AuditOutcome, Role};
use shared::jobs::MailMessage;
use shared::limits::{RateLimits, Rule};
use shared::store::keys;
use support::{Call, Captured, TestApp, account, account_with_role, assert_problem, body_json};

const PASSWORD: &str = "correct horse battery";
const AGENT: &str = "audit-test/1.0";
const IP: &str = "198.51.100.77";

fn recording() -> Config {
    Config {
        rate_limits: RateLimits {
            login_account: Rule::parse("5/15m").unwrap(),
            ..RateLimits::default()
        },
        refresh_grace: Duration::ZERO,
        ..Config::for_tests()
    }
}

/// A request from the test's client: fixed address and user agent.
fn call(method: Method, path: &str) -> Call<'_> {
    Call::new(method, path)
        .sent_from(IP)
        .header("user-agent", AGENT)
}

async fn audit_page(app: &TestApp, admin: &str, query: &str) -> Value {
    let response = Call::new(Method::GET, &format!("/api/audit{query}"))
        .token(admin)
        .send(app)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.body());
    body_json(&response)
}

/// The one event of `action` the log holds for `target`.
async fn event_of(app: &TestApp, admin: &str, action: &str, target: Option<&str>) -> Value {
    let page = audit_page(app, admin, &format!("?action={action}&limit=100")).await;
    let matching: Vec<&Value> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target"].as_str() == target)
        .collect();
    assert_eq!(matching.len(), 1, "{action} for {target:?}: {page}");
    let event = matching[0].clone();
    assert_eq!(event["action"], action);
    assert!(event["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(event["at"].as_str().is_some_and(|at| at.ends_with('Z')));
    event
}

fn from_this_client(event: &Value) {
    assert_eq!(event["sourceIp"], IP, "{event}");
    assert_eq!(event["userAgent"], AGENT, "{event}");
    assert!(
        event["requestId"].as_str().is_some_and(|id| !id.is_empty()),
        "{event}"
    );
}

async fn post_json(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> support::TestResponse {
    let mut call = call(Method::POST, path).json(body);
    if let Some(token) = token {
        call = call.token(token);
    }
    call.send(app).await
}

fn current_code(secret: &shared::auth::mfa::TotpSecret, clock: &shared::clock::Clock) -> String {
    secret.code_at(shared::auth::mfa::step_at(clock.now_ms()))
}

/// Turns a factor on from the session `token`: its secret and the raised session's token.
async fn enrolled(
    app: &TestApp,
    clock: &shared::clock::Clock,
    token: &str,
) -> (shared::auth::mfa::TotpSecret, String) {
    let enrolment = post_json(
        app,
        "/api/auth/mfa/totp",
        Some(token),
        json!({ "password": PASSWORD }),
    )
    .await;
    let secret = body_json(&enrolment)["secret"].as_str().unwrap().to_owned();
    let secret = shared::auth::mfa::TotpSecret::from_base32(&secret).unwrap();
    let code = current_code(&secret, clock);
    let verified = post_json(
        app,
        "/api/auth/mfa/totp/verify",
        Some(token),
        json!({ "code": code }),
    )
    .await;
    assert_eq!(verified.status(), StatusCode::OK, "{:?}", verified.body());
    clock.advance(30_000);
    let raised = body_json(&verified)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    (secret, raised)
}

/// A second factor turned on, used, regenerated, guessed at, turned off, and reset by an admin.
async fn second_factor_events(app: &TestApp, clock: &shared::clock::Clock, admin: &str) {
    let user = account(app, "factor@example.com", "Factor").await;
    let (secret, token) = enrolled(app, clock, &user.access).await;
    let code = current_code(&secret, clock);
    let stepped = post_json(
        app,
        "/api/auth/mfa/step-up",
        Some(&token),
        json!({ "code": code }),
    )
    .await;
    assert_eq!(stepped.status(), StatusCode::OK, "{:?}", stepped.body());
    clock.advance(30_000);
    let codes = post_json(app, "/api/auth/mfa/recovery-codes", Some(&token), json!({})).await;
    let codes = body_json(&codes)["recoveryCodes"].clone();
    let password = json!({ "email": "factor@example.com", "password": "correct horse battery" });
    let login = post_json(app, "/api/auth/login", None, password).await;
    let challenge = body_json(&login)["challenge"].clone();
    let right: u32 = current_code(&secret, clock).parse().unwrap();
    let wrong = format!("{:06}", (right + 1) % 1_000_000);
    let guess = json!({ "challenge": challenge, "code": wrong });
    let guess = post_json(app, "/api/auth/mfa/challenge", None, guess).await;
    assert_eq!(guess.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let recovery = json!({ "challenge": challenge, "recoveryCode": codes[0] });
    let recovered = post_json(app, "/api/auth/mfa/challenge", None, recovery).await;
    assert_eq!(recovered.status(), StatusCode::OK, "{:?}", recovered.body());
    let off = call(Method::DELETE, "/api/auth/mfa/totp")
        .token(&token)
        .json(json!({ "code": current_code(&secret, clock) }))
        .send(app)
        .await;
    assert_eq!(off.status(), StatusCode::NO_CONTENT, "{:?}", off.body());
    clock.advance(30_000);
    enrolled(app, clock, &token).await;
    let reset = call(Method::DELETE, &format!("/api/users/{}/mfa", user.id))
        .token(admin)
        .send(app)
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT, "{:?}", reset.body());
}

async fn every_security_event_is_recorded(app: TestApp) {
    let captured = Arc::new(Captured::default());
    let clock = shared::clock::Clock::fixed((now_ms() / 30_000 * 30 + 15) * 1000);
    let app = support::with_clock(app, clock.clone());
    let app = support::with_captured(app, captured.clone());
    let admin = account_with_role(&app, "admin@example.com", Role::Admin).await;

    // register, login success and failure
    let user_body = call(Method::POST, "/api/auth/register")
        .json(json!({ "email": "user@example.com", "password": PASSWORD, "name": "User" }))
        .send(&app)
        .await;
    let user_body = body_json(&user_body);
    let user_id = user_body["user"]["id"].as_str().unwrap().to_owned();
    let first_refresh = user_body["refreshToken"].as_str().unwrap().to_owned();
    let event = event_of(&app, &admin.access, "register", Some(&user_id)).await;
    from_this_client(&event);
    assert_eq!(event["actor"], user_id.as_str());
    assert_eq!(event["outcome"], "success");

    let login = |email: &'static str, password: &'static str| {
        call(Method::POST, "/api/auth/login").json(json!({ "email": email, "password": password }))
    };
    let session = body_json(&login("user@example.com", PASSWORD).send(&app).await);
    login("user@example.com", "wrong password!!")
        .send(&app)
        .await;
    login("ghost@example.com", "wrong password!!")
        .send(&app)
        .await;
    let page = audit_page(&app, &admin.access, "?action=login").await;
    let logins = page["data"].as_array().unwrap();
    let outcome = |detail: Option<&str>, outcome: &str| {
        logins
            .iter()
            .filter(|e| e["outcome"] == outcome && e["detail"].as_str() == detail)
            .count()
    };
    assert_eq!(outcome(None, "success"), 1, "{page}");
    assert_eq!(outcome(Some("wrong_password"), "failure"), 1, "{page}");
    assert_eq!(outcome(Some("unknown_account"), "failure"), 1, "{page}");
    for event in logins {
        from_this_client(event);
    }
    let unknown = logins
        .iter()
        .find(|e| e["detail"] == "unknown_account")
        .unwrap();
    assert!(unknown["target"].is_null() && unknown["actor"].is_null());

    // lockout, then password reset and unlock
    let locked = account(&app, "locked@example.com", "Locked").await;
    for _ in 0..5 {
        login("locked@example.com", "wrong password!!")
            .send(&app)
            .await;
    }
    let event = event_of(&app, &admin.access, "lockout", Some(&locked.id)).await;
    from_this_client(&event);
    assert!(event["detail"].as_str().unwrap().starts_with("until "));
    call(Method::POST, "/api/auth/forgot-password")
        .json(json!({ "email": "locked@example.com" }))
        .send(&app)
        .await;
    let token = captured
        .token_mailed_to("locked@example.com", |m| match m {
            MailMessage::ResetPassword { link } => Some(link),
            _ => None,
        })
        .await;
    let reset = call(Method::POST, "/api/auth/reset-password")
        .json(json!({ "token": token, "password": "another long passphrase" }))
        .send(&app)
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    from_this_client(&event_of(&app, &admin.access, "password_reset", Some(&locked.id)).await);
    let unlock = event_of(&app, &admin.access, "unlock", Some(&locked.id)).await;
    assert_eq!(unlock["detail"], "password_reset");

    // refresh-token reuse: the first token again, after it was rotated
    let rotated = call(Method::POST, "/api/auth/refresh")
        .json(json!({ "refreshToken": first_refresh }))
        .send(&app)
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let reused = call(Method::POST, "/api/auth/refresh")
        .json(json!({ "refreshToken": first_refresh }))
        .send(&app)
        .await;
    assert_problem(&reused, StatusCode::UNAUTHORIZED, "refresh_token_reused");
    let event = event_of(&app, &admin.access, "refresh_token_reuse", Some(&user_id)).await;
    assert_eq!(event["outcome"], "failure");
    from_this_client(&event);

    // logout one, password change, logout all
    let logout = call(Method::POST, "/api/auth/logout")
        .json(json!({ "refreshToken": session["refreshToken"] }))
        .send(&app)
        .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    from_this_client(&event_of(&app, &admin.access, "logout", Some(&user_id)).await);

    // one session ended by id, then every other one: the user acts on their own sessions
    let kept = body_json(&login("user@example.com", PASSWORD).send(&app).await);
    let kept = kept["accessToken"].as_str().unwrap().to_owned();
    let other = body_json(&login("user@example.com", PASSWORD).send(&app).await);
    let keys = app.keys.current().await;
    let sid = |access: &str| verify_access_token(&keys, &app.config, access).unwrap().sid;
    let other_sid = sid(other["accessToken"].as_str().unwrap());
    let ended = call(Method::DELETE, &format!("/api/auth/sessions/{other_sid}"))
        .token(&kept)
        .send(&app)
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    let event = event_of(&app, &admin.access, "session_end", Some(&user_id)).await;
    assert_eq!(
        (event["actor"].as_str(), event["detail"].as_str()),
        (Some(user_id.as_str()), Some(other_sid.as_str()))
    );
    from_this_client(&event);
    let others = call(Method::POST, "/api/auth/logout?scope=others")
        .token(&kept)
        .send(&app)
        .await;
    assert_eq!(others.status(), StatusCode::NO_CONTENT);
    let event = event_of(&app, &admin.access, "logout_others", Some(&user_id)).await;
    assert_eq!(event["detail"], sid(&kept));
    from_this_client(&event);

    let session = body_json(&login("user@example.com", PASSWORD).send(&app).await);
    let access = session["accessToken"].as_str().unwrap();
    let changed = call(Method::POST, "/api/auth/password")
        .token(access)
        .json(json!({ "currentPassword": PASSWORD, "newPassword": "a second passphrase" }))
        .send(&app)
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let event = event_of(&app, &admin.access, "password_change", Some(&user_id)).await;
    assert_eq!(event["actor"], user_id.as_str());
    let access = body_json(&changed)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let all = call(Method::POST, "/api/auth/logout?scope=all")
        .token(&access)
        .send(&app)
        .await;
    assert_eq!(all.status(), StatusCode::NO_CONTENT);
    from_this_client(&event_of(&app, &admin.access, "logout_all", Some(&user_id)).await);

    // e-mail change confirmed by the new address
    let session = body_json(
        &login("user@example.com", "a second passphrase")
            .send(&app)
            .await,
    );
    let access = session["accessToken"].as_str().unwrap().to_owned();
    let asked = call(Method::POST, "/api/users/me/email")
        .token(&access)
        .json(json!({ "email": "renamed@example.com", "password": "a second passphrase" }))
        .send(&app)
        .await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED, "{:?}", asked.body());
    let token = captured
        .token_mailed_to("renamed@example.com", |m| match m {
            MailMessage::ConfirmEmailChange { link } => Some(link),
            _ => None,
        })
        .await;
    let confirmed = call(Method::POST, "/api/auth/verify-email")
        .json(json!({ "token": token }))
        .send(&app)
        .await;
    assert_eq!(confirmed.status(), StatusCode::NO_CONTENT);
    from_this_client(&event_of(&app, &admin.access, "email_change", Some(&user_id)).await);

    // role change, post deletion by staff, user deletion: the admin is the actor
    let promoted = call(Method::PATCH, &format!("/api/users/{user_id}"))
        .token(&admin.access)
        .json(json!({ "role": "moderator" }))
        .send(&app)
        .await;
    assert_eq!(promoted.status(), StatusCode::OK);
    let event = event_of(&app, &admin.access, "role_change", Some(&user_id)).await;
    assert_eq!(
        (event["actor"].as_str(), event["detail"].as_str()),
        (Some(admin.id.as_str()), Some("user->moderator"))
    );
    from_this_client(&event);

    let created = call(Method::POST, "/api/posts")
        .token(&access)
        .json(json!({ "title": "To be removed", "content": "text", "status": "published" }))
        .send(&app)
        .await;
    let post_id = body_json(&created)["id"].as_str().unwrap().to_owned();
    // The author deleting their own post is not a moderation act.
    let own = call(Method::POST, "/api/posts")
        .token(&access)
        .json(json!({ "title": "Mine", "content": "text" }))
        .send(&app)
        .await;
    let own_id = body_json(&own)["id"].as_str().unwrap().to_owned();
    call(Method::DELETE, &format!("/api/posts/{own_id}"))
        .token(&access)
        .send(&app)
        .await;
    let removed = call(Method::DELETE, &format!("/api/posts/{post_id}"))
        .token(&admin.access)
        .send(&app)
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let event = event_of(&app, &admin.access, "post_deletion", Some(&post_id)).await;
    assert_eq!(event["actor"], admin.id.as_str());
    assert_eq!(event["detail"], format!("author {user_id}"));
    let page = audit_page(&app, &admin.access, "?action=post_deletion").await;
    assert_eq!(
        page["data"].as_array().unwrap().len(),
        1,
        "own deletions are not logged"
    );

    let deleted = call(Method::DELETE, &format!("/api/users/{user_id}"))
        .token(&admin.access)
        .send(&app)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let event = event_of(&app, &admin.access, "user_deletion", Some(&user_id)).await;
    assert_eq!(
        (event["actor"].as_str(), event["detail"].as_str()),
        (Some(admin.id.as_str()), Some("admin"))
    );

    second_factor_events(&app, &clock, &admin.access).await;
    let app = identity_events(app, &captured, &admin.access).await;
    passkey_events(&app, &captured, &admin.access).await;

    // Every kind listed above is in the log.
    let page = audit_page(&app, &admin.access, "?limit=100").await;
    let kinds: HashSet<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    let all: HashSet<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
    assert_eq!(kinds, all);
    // And the actor filter finds the admin's acts only.
    let by_admin = audit_page(&app, &admin.access, &format!("?actor={}", admin.id)).await;
    let actions: HashSet<&str> = by_admin["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        HashSet::from([
            "register",
            "role_change",
            "post_deletion",
            "user_deletion",
            "mfa_reset"
        ])
    );
}

async fn only_admins_read_the_audit_log(app: TestApp) {
    let user = account(&app, "user@example.com", "User").await;
    let moderator = account_with_role(&app, "mod@example.com", Role::Moderator).await;
    let admin = account_with_role(&app, "admin@example.com", Role::Admin).await;
    let anonymous = Call::new(Method::GET, "/api/audit").send(&app).await;
    assert_problem(&anonymous, StatusCode::UNAUTHORIZED, "missing_token");
    for token in [&user.access, &moderator.access] {
        let response = Call::new(Method::GET, "/api/audit")
            .token(token)
            .send(&app)
            .await;
        assert_problem(&response, StatusCode::FORBIDDEN, "forbidden");
    }
    audit_page(&app, &admin.access, "").await;
    for query in [
        "?action=everything",
        "?actor=not-an-id",
        "?target=1",
        "?since=yesterday",
        "?limit=0",
        "?cursor=forged",
    ] {
        let response = Call::new(Method::GET, &format!("/api/audit{query}"))
            .token(&admin.access)
            .send(&app)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "{query}: {:?}",
            response.body()
        );
    }
}

/// Pages newest first; events written between pages appear on none of the later pages, and no
/// event is skipped or repeated (several share a millisecond).
async fn pages_hold_while_events_arrive(app: TestApp) {
    let admin = account_with_role(&app, "admin@example.com", Role::Admin).await;
    let target = uuid::Uuid::new_v4().to_string();
    let start = now_ms() - 60_000;
    let mut written = Vec::new();
    for i in 0..40 {
        let action = if i % 2 == 0 {
            AuditAction::Logout
        } else {
            AuditAction::Login
        };
        let mut event = AuditEvent::new(action, AuditOutcome::Success, start + i / 3);
        event.target = Some(target.clone());
        written.push(event.id.clone());
        app.audit(event).await;
    }
    let newest_first = |ids: &[String], events: &[AuditEvent]| -> Vec<String> {
        let mut sorted: Vec<&AuditEvent> = events.iter().filter(|e| ids.contains(&e.id)).collect();
        sorted.sort_by_key(|e| std::cmp::Reverse(keys::audit_sort(e)));
        sorted.into_iter().map(|e| e.id.clone()).collect()
    };
    let stored = app
        .stores
        .audit
        .list_events(&Default::default(), None, 100)
        .await
        .unwrap()
        .items;

    for (query, expected) in [
        (format!("?target={target}&limit=7"), 40),
        (format!("?limit=7&since={}", rfc3339(start)), 40),
        ("?action=logout&limit=6".to_owned(), 20),
    ] {
        let mut seen: Vec<String> = Vec::new();
        let mut cursor: Option<String> = None;
        for round in 0..40 {
            let page_query = match &cursor {
                Some(c) => format!("{query}&cursor={c}"),
                None => query.clone(),
            };
            let page = audit_page(&app, &admin.access, &page_query).await;
            seen.extend(
                page["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["id"].as_str().unwrap().to_owned()),
            );
            // Newer events arrive between pages.
            let mut newer = AuditEvent::new(AuditAction::Logout, AuditOutcome::Success, now_ms());
            newer.target = Some(target.clone());
            app.audit(newer).await;
            cursor = page["nextCursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
            assert!(round < 39, "paging never ended");
        }
        let ours: Vec<String> = seen
            .iter()
            .filter(|id| written.contains(id))
            .cloned()
            .collect();
        assert_eq!(ours.len(), expected, "{query}");
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{query}: an event was repeated");
        let expected_order = newest_first(&ours, &stored);
        assert_eq!(ours, expected_order, "{query}: newest first");
        // Only events already there when paging started (the admin's register is older).
        assert!(seen.iter().all(|id| written.contains(id) || !id.is_empty()));
    }
    // `since` leaves older events out.
    let later = audit_page(
        &app,
        &admin.access,
        &format!("?target={target}&since={}&limit=100", rfc3339(start + 10)),
    )
    .await;
    let count = later["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| written.contains(&e["id"].as_str().unwrap().to_owned()))
        .count();
    assert_eq!(count, 40 - 30, "events at start+0..=start+9 are older");
}

/// A passkey registered, signed in with, and removed.
async fn passkey_events(app: &TestApp, mails: &Captured, admin_access: &str) {
    use crate::oauth::verified_account;
    use crate::support::authenticator::Authenticator;
    let owner = verified_account(app, mails, "passkey@example.com").await;
    let asked = call(Method::POST, "/api/auth/passkeys/register/options")
        .token(&owner.access)
        .json(json!({ "password": PASSWORD }))
        .send(app)
        .await;
    let options = body_json(&asked);
    let mut authenticator = Authenticator::new("http://localhost:3000");
    let credential = authenticator.create(&options["publicKey"]);
    let added = call(Method::POST, "/api/auth/passkeys/register/verify")
        .token(&owner.access)
        .json(json!({ "ceremony": options["ceremony"], "credential": credential }))
        .send(app)
        .await;
    assert_eq!(added.status(), StatusCode::CREATED, "{:?}", added.body());
    let id = body_json(&added)["id"].as_str().unwrap().to_owned();
    let event = event_of(app, admin_access, "passkey_add", Some(&owner.id)).await;
    assert_eq!(event["detail"], id.as_str());
    let removed = call(Method::DELETE, &format!("/api/auth/passkeys/{id}"))
        .token(&owner.access)
        .send(app)
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    event_of(app, admin_access, "passkey_remove", Some(&owner.id)).await;
}

/// A provider linked by a signed-in user, then unlinked.
async fn identity_events(app: TestApp, mails: &Captured, admin_access: &str) -> TestApp {
    use crate::oauth::{
        API, Landed, link_cookie, open_callback, start, verified_account, with_provider,
    };
    use crate::support::oidc_provider::{OidcProvider, ProviderAccount};
    let provider = OidcProvider::start().await;
    let app = with_provider(app, &provider);
    let linker = verified_account(&app, mails, "linker@example.com").await;
    let asked = call(Method::POST, "/api/auth/identities/stand-in")
        .token(&linker.access)
        .json(json!({ "password": PASSWORD }))
        .send(&app)
        .await;
    let url = body_json(&asked)["url"].as_str().unwrap().to_owned();
    provider.next_sign_in(ProviderAccount::verified("sub-audit", "linker@example.com"));
    let cookie = link_cookie(&asked);
    let started = start(&app, url.strip_prefix(API).unwrap(), Some(&cookie)).await;
    let landed = open_callback(&app, &started.callback, Some(&started.cookie)).await;
    assert_eq!(landed, Landed::Linked("stand-in".into()));
    let event = event_of(&app, admin_access, "identity_link", Some(&linker.id)).await;
    assert_eq!(event["detail"], "stand-in");
    let unlinked = call(Method::DELETE, "/api/auth/identities/stand-in")
        .token(&linker.access)
        .send(&app)
        .await;
    assert_eq!(unlinked.status(), StatusCode::NO_CONTENT);
    event_of(&app, admin_access, "identity_unlink", Some(&linker.id)).await;
    app
}

on_both_stores! {
    every_security_event_is_recorded => recording(),
    only_admins_read_the_audit_log => Config::for_tests(),
    pages_hold_while_events_arrive => Config::for_tests(),
}
