//! Rate limits and login lockout through the shipped handlers, on both stores: concurrent
//! floods, the answers' headers, spoofed `X-Forwarded-For`, back-off, and unlock by reset.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use futures_util::future::join_all;
use serde_json::{Value, json};
use shared::clock::now_ms;
use shared::config::Config;
use shared::domain::{AuditAction, AuditEvent};
use shared::http::Caller;
use shared::limits::{RateLimits, Rule};
use shared::store::{AuditQuery, Counter, LoginState};
use support::{Call, TestApp, TestResponse, account, assert_problem, body_json, header};

const PASSWORD: &str = "correct horse battery";

pub fn rule(text: &str) -> Rule {
    Rule::parse(text).unwrap()
}

/// Limits on, with `change` applied to the defaults.
fn limits(change: impl FnOnce(&mut RateLimits)) -> Config {
    let mut rate_limits = RateLimits::default();
    change(&mut rate_limits);
    Config {
        rate_limits,
        ..Config::for_tests()
    }
}

/// Five failures lock an account. The other login limits are out of reach, so the account's is
/// the only one a burst can fill: with two full counters racing, a request admitted by one may be
/// refused by the other and give its slot back (refusing more than needed, never admitting more).
/// Day-long windows keep a burst inside one window.
fn lock_after_five() -> Config {
    limits(|l| {
        l.login_account = rule("5/1d");
        l.login_account_ip = rule("100/1d");
        l.login_ip = rule("1000/1d");
    })
}

pub async fn login(app: &TestApp, email: &str, password: &str, ip: &str) -> TestResponse {
    Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": email, "password": password }))
        .sent_from(ip)
        .send(app)
        .await
}

pub async fn events(app: &TestApp, action: AuditAction) -> Vec<AuditEvent> {
    let query = AuditQuery {
        action: Some(action),
        ..AuditQuery::default()
    };
    app.stores
        .audit
        .list_events(&query, None, 100)
        .await
        .unwrap()
        .items
}

pub fn number(response: &TestResponse, name: &str) -> u64 {
    header(response, name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .parse()
        .unwrap()
}

/// 20 wrong passwords at once for one account: five are checked (five hashes), the rest are
/// refused before hashing, and the account locks exactly once.
async fn a_flood_of_failed_logins_locks_once(app: TestApp) {
    let app = Arc::new(app);
    let victim = account(&app, "victim@example.com", "Victim").await;
    let hashes_before = app.hasher.runs();
    let started = std::time::Instant::now();
    let attempts = (0..20).map(|_| {
        let app = app.clone();
        tokio::spawn(async move {
            login(
                &app,
                "victim@example.com",
                "wrong password!!",
                "198.51.100.1",
            )
            .await
            .status()
        })
    });
    let statuses: Vec<StatusCode> = join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, refused), (5, 15), "{statuses:?}");
    assert_eq!(
        app.hasher.runs() - hashes_before,
        5,
        "only admitted attempts hash"
    );

    let lockouts = events(&app, AuditAction::Lockout).await;
    assert_eq!(lockouts.len(), 1, "{lockouts:?}");
    assert_eq!(lockouts[0].target.as_deref(), Some(victim.id.as_str()));
    assert_eq!(lockouts[0].source_ip.as_deref(), Some("198.51.100.1"));
    let failures = events(&app, AuditAction::Login).await;
    assert_eq!(
        failures.len(),
        5,
        "only checked attempts are logged: {failures:?}"
    );

    // Locked: even the right password, from another address, is refused without hashing.
    let hashes = app.hasher.runs();
    let response = login(&app, "victim@example.com", PASSWORD, "203.0.113.9").await;
    assert_problem(
        &response,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
    );
    assert_eq!(app.hasher.runs(), hashes);
    // The lock (15 minutes) started during the flood: refused attempts waited for the checked
    // ones to fail first.
    let since_the_lock = started.elapsed().as_secs() + 1;
    let retry_after = number(&response, "retry-after");
    assert!(
        (900 - since_the_lock..=900).contains(&retry_after),
        "{retry_after}"
    );
}

/// What a locked account answers does not depend on the password or on the account existing.
async fn the_lock_answer_reveals_nothing(app: TestApp) {
    account(&app, "known@example.com", "Known").await;
    for email in ["known@example.com", "nobody@example.com"] {
        for _ in 0..5 {
            let response = login(&app, email, "wrong password!!", "198.51.100.2").await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
    }
    let answers = [
        login(&app, "known@example.com", PASSWORD, "198.51.100.2").await,
        login(
            &app,
            "known@example.com",
            "wrong password!!",
            "198.51.100.3",
        )
        .await,
        login(&app, "nobody@example.com", PASSWORD, "198.51.100.4").await,
    ];
    let shape = |response: &TestResponse| {
        let mut body: Value = body_json(response);
        body.as_object_mut().unwrap().remove("requestId");
        (
            response.status(),
            body,
            header(response, "ratelimit-limit").map(str::to_owned),
            header(response, "ratelimit-remaining").map(str::to_owned),
        )
    };
    let first = shape(&answers[0]);
    assert_eq!(first.0, StatusCode::TOO_MANY_REQUESTS);
    for answer in &answers {
        assert_eq!(shape(answer), first);
        let wait = number(answer, "retry-after");
        assert!((895..=900).contains(&wait), "{wait}");
        assert_eq!(number(answer, "ratelimit-reset"), wait);
    }
}

/// Limited routes carry `RateLimit-*` on success; over the limit, a 429 problem with
/// `Retry-After`.
async fn limited_routes_say_how_much_is_left(app: TestApp) {
    let register = |email: &'static str| {
        Call::new(Method::POST, "/api/auth/register")
            .json(json!({ "email": email, "password": PASSWORD, "name": "Someone" }))
            .sent_from("192.0.2.10")
    };
    let first = register("one@example.com").send(&app).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(number(&first, "ratelimit-limit"), 2);
    assert_eq!(number(&first, "ratelimit-remaining"), 1);
    assert!((1..=3600).contains(&number(&first, "ratelimit-reset")));
    let second = register("two@example.com").send(&app).await;
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(number(&second, "ratelimit-remaining"), 0);
    let third = register("three@example.com").send(&app).await;
    let problem = assert_problem(&third, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    assert!(problem["detail"].as_str().unwrap().contains("wait"));
    assert_eq!(number(&third, "ratelimit-remaining"), 0);
    assert_eq!(
        number(&third, "retry-after"),
        number(&third, "ratelimit-reset")
    );
    // Another address is not affected.
    let elsewhere = Call::new(Method::POST, "/api/auth/register")
        .json(json!({ "email": "three@example.com", "password": PASSWORD, "name": "Someone" }))
        .sent_from("192.0.2.11")
        .send(&app)
        .await;
    assert_eq!(elsewhere.status(), StatusCode::CREATED);

    // Login answers carry the headers whatever the outcome; a success counts nothing.
    let ok = login(&app, "one@example.com", PASSWORD, "192.0.2.10").await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(number(&ok, "ratelimit-limit"), 5);
    assert_eq!(number(&ok, "ratelimit-remaining"), 5);
    let wrong = login(&app, "one@example.com", "wrong password!!", "192.0.2.10").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(number(&wrong, "ratelimit-remaining"), 4);
}

/// The same address, however many `X-Forwarded-For` values it makes up, stays one address.
async fn a_forged_forwarded_for_does_not_reset_a_limit(app: TestApp) {
    for i in 0..3 {
        let response = Call::new(Method::POST, "/api/auth/login")
            .json(json!({ "email": format!("target{i}@example.com"), "password": "x" }))
            .sent_from("198.51.100.50")
            .header("x-forwarded-for", format!("10.9.8.{i}"))
            .send(&app)
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": "target9@example.com", "password": "x" }))
        .sent_from("198.51.100.50")
        .header("x-forwarded-for", "203.0.113.200")
        .send(&app)
        .await;
    assert_problem(
        &response,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
    );
}

/// Behind a trusted proxy, the client is the nearest hop the proxy added, not what the client
/// wrote in front of it.
async fn behind_a_trusted_proxy_the_proxys_hop_counts(app: TestApp) {
    let from_proxy = |email: String, forwarded: &'static str| {
        Call::new(Method::POST, "/api/auth/login")
            .json(json!({ "email": email, "password": "x" }))
            .sent_from("10.0.0.7")
            .header("x-forwarded-for", forwarded)
    };
    for i in 0..3 {
        let forged = [
            "1.1.1.1, 203.0.113.7",
            "2.2.2.2, 203.0.113.7",
            "203.0.113.7",
        ][i];
        let response = from_proxy(format!("p{i}@example.com"), forged)
            .send(&app)
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = from_proxy("p9@example.com".into(), "9.9.9.9, 203.0.113.7")
        .send(&app)
        .await;
    assert_problem(
        &response,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
    );
    // Another client behind the same proxy has its own count.
    let other = from_proxy("p9@example.com".into(), "203.0.113.8")
        .send(&app)
        .await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
}

fn per_ip_three() -> Config {
    let mut config = limits(|l| l.login_ip = rule("3/15m"));
    config.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    config
}

/// A lock ends after its back-off; the next lock in a row lasts twice as long.
async fn a_lock_ends_after_its_back_off(app: TestApp) {
    account(&app, "owner@example.com", "Owner").await;
    let lock = || async {
        for _ in 0..20 {
            let response = login(&app, "owner@example.com", "wrong password!!", "192.0.2.99").await;
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                return number(&response, "retry-after");
            }
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
        panic!("never locked");
    };
    let first = lock().await;
    assert!((1..=2).contains(&first), "{first}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = login(&app, "owner@example.com", PASSWORD, "192.0.2.99").await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.body());
    let second = lock().await;
    assert!(
        (3..=4).contains(&second),
        "the second lock in a row doubles: {second}"
    );
}

fn short_locks() -> Config {
    limits(|l| {
        l.login_account = rule("3/2s");
        l.login_account_ip = rule("10/2s");
        l.lockout_base = Duration::from_secs(2);
        l.lockout_max = Duration::from_secs(60);
    })
}

/// Back-off doubles per lock in a row, stops at the maximum, and is forgotten a maximum after
/// the last lock ended (a clock passed in, so exact).
async fn back_off_doubles_up_to_its_maximum(app: TestApp) {
    let base = 60_000;
    let max = 240_000;
    let mut now = 1_000_000_000_000;
    let mut lengths = Vec::new();
    for _ in 0..5 {
        let mut locked_until = None;
        for _ in 0..3 {
            let attempt = app
                .logins()
                .admit("clock@example.com", None, now)
                .await
                .unwrap();
            locked_until = attempt.failed(&Caller::default(), None).await;
        }
        let until = locked_until.expect("the third failure locks");
        lengths.push(until - now);
        let refused = app
            .logins()
            .admit("clock@example.com", None, until - 1)
            .await;
        assert!(refused.is_err(), "locked until the end");
        now = until;
    }
    assert_eq!(lengths, [base, 2 * base, 4 * base, max, max]);
    // A maximum after the last lock ended, the back-off starts over.
    now += max;
    for _ in 0..3 {
        let attempt = app
            .logins()
            .admit("clock@example.com", None, now)
            .await
            .unwrap();
        if let Some(until) = attempt.failed(&Caller::default(), None).await {
            assert_eq!(until - now, base);
        }
    }
}

fn clock_limits() -> Config {
    limits(|l| {
        l.login_account = rule("3/1m");
        l.login_account_ip = rule("10/1m");
        l.lockout_base = Duration::from_secs(60);
        l.lockout_max = Duration::from_secs(240);
    })
}

/// A password reset ends the lock at once and starts the counts afresh.
async fn a_password_reset_unlocks(app: TestApp) {
    let captured = Arc::new(support::Captured::default());
    let app = support::with_captured(app, captured.clone());
    let owner = account(&app, "locked@example.com", "Locked").await;
    for _ in 0..5 {
        login(&app, "locked@example.com", "wrong password!!", "192.0.2.1").await;
    }
    let locked = login(&app, "locked@example.com", PASSWORD, "192.0.2.1").await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);

    let forgot = Call::new(Method::POST, "/api/auth/forgot-password")
        .json(json!({ "email": "locked@example.com" }))
        .sent_from("192.0.2.1")
        .send(&app)
        .await;
    assert_eq!(forgot.status(), StatusCode::ACCEPTED);
    let token = captured
        .token_mailed_to("locked@example.com", |m| match m {
            shared::jobs::MailMessage::ResetPassword { link } => Some(link),
            _ => None,
        })
        .await;
    let reset = Call::new(Method::POST, "/api/auth/reset-password")
        .json(json!({ "token": token, "password": "a brand new passphrase" }))
        .sent_from("192.0.2.1")
        .send(&app)
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    let response = login(
        &app,
        "locked@example.com",
        "a brand new passphrase",
        "192.0.2.1",
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.body());
    let unlocks = events(&app, AuditAction::Unlock).await;
    assert_eq!(unlocks.len(), 1);
    assert_eq!(unlocks[0].target.as_deref(), Some(owner.id.as_str()));
}

/// Forgot-password and verify-resend count per address and per e-mail, whether or not the
/// account exists.
async fn account_mail_routes_are_limited(app: TestApp) {
    let forgot = |email: &'static str, ip: &'static str| {
        Call::new(Method::POST, "/api/auth/forgot-password")
            .json(json!({ "email": email }))
            .sent_from(ip)
    };
    for ip in ["192.0.2.1", "192.0.2.2"] {
        assert_eq!(
            forgot("ghost@example.com", ip).send(&app).await.status(),
            StatusCode::ACCEPTED
        );
    }
    let third = forgot("ghost@example.com", "192.0.2.3").send(&app).await;
    assert_problem(&third, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");

    let user = account(&app, "unverified@example.com", "Unverified").await;
    let resend = |ip: &'static str| {
        Call::new(Method::POST, "/api/auth/verify-email/resend")
            .token(&user.access)
            .sent_from(ip)
    };
    // Refused by the one-a-minute gap (a mail just went out), with that limit's headers, but
    // counted.
    for ip in ["192.0.2.1", "192.0.2.2"] {
        let response = resend(ip).send(&app).await;
        assert_problem(
            &response,
            StatusCode::TOO_MANY_REQUESTS,
            "verification_recently_sent",
        );
        assert_eq!(number(&response, "ratelimit-limit"), 1);
        assert_eq!(number(&response, "retry-after"), 60);
    }
    let third = resend("192.0.2.3").send(&app).await;
    let problem = assert_problem(&third, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    assert!(problem["detail"].as_str().unwrap().contains("too many"));
}

fn two_per_email() -> Config {
    limits(|l| {
        l.register_ip = rule("2/1h");
        l.forgot_password_email = rule("2/1h");
        l.verify_resend_email = rule("2/1h");
    })
}

/// A stolen session cannot guess the password either: the password and address changes check
/// it as a login attempt, respect the lock, and record each wrong guess.
async fn a_session_cannot_guess_the_password(app: TestApp) {
    let user = account(&app, "guessed@example.com", "Guessed").await;
    let change = |current: &str| {
        Call::new(Method::POST, "/api/auth/password")
            .token(&user.access)
            .json(json!({ "currentPassword": current, "newPassword": "an entirely new one" }))
            .sent_from("203.0.113.66")
    };
    let move_to = |password: &str, to: &str| {
        Call::new(Method::POST, "/api/users/me/email")
            .token(&user.access)
            .json(json!({ "email": to, "password": password }))
            .sent_from("203.0.113.66")
    };
    for i in 0..5 {
        let response = if i % 2 == 0 {
            change(&format!("guess number {i}")).send(&app).await
        } else {
            move_to(&format!("guess number {i}"), "new@example.com")
                .send(&app)
                .await
        };
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(number(&response, "ratelimit-remaining"), 4 - i);
    }
    // Locked now: the right password is refused on every route that checks it.
    for response in [
        change(PASSWORD).send(&app).await,
        move_to(PASSWORD, "new@example.com").send(&app).await,
        login(&app, "guessed@example.com", PASSWORD, "198.51.100.1").await,
    ] {
        assert_problem(
            &response,
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
        );
    }
    let guesses = [AuditAction::PasswordChange, AuditAction::EmailChange];
    let mut failures = 0;
    for action in guesses {
        failures += events(&app, action)
            .await
            .iter()
            .filter(|e| e.detail.as_deref() == Some("wrong_password"))
            .count();
    }
    assert_eq!(failures, 5);
    assert_eq!(events(&app, AuditAction::Lockout).await.len(), 1);
}

/// Asking for an address change mails that address: counted per address asked for.
async fn address_changes_are_limited_per_address(app: TestApp) {
    let one = account(&app, "one@example.com", "One").await;
    let two = account(&app, "two@example.com", "Two").await;
    for (user, expected) in [
        (&one, StatusCode::ACCEPTED),
        (&two, StatusCode::ACCEPTED),
        (&one, StatusCode::TOO_MANY_REQUESTS),
    ] {
        let response = Call::new(Method::POST, "/api/users/me/email")
            .token(&user.access)
            .json(json!({ "email": "inbox@example.com", "password": PASSWORD }))
            .sent_from("203.0.113.1")
            .send(&app)
            .await;
        assert_eq!(response.status(), expected, "{:?}", response.body());
    }
}

/// `RATE_LIMITS=off`: nothing is counted or refused.
async fn limits_off_counts_nothing(app: TestApp) {
    account(&app, "free@example.com", "Free").await;
    for _ in 0..30 {
        let response = login(&app, "free@example.com", "wrong password!!", "192.0.2.1").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(header(&response, "ratelimit-limit").is_none());
    }
    let ok = login(&app, "free@example.com", PASSWORD, "192.0.2.1").await;
    assert_eq!(ok.status(), StatusCode::OK);
}

/// Store conformance: a counter stops at its limit under concurrency, and gives back.
async fn counters_stop_at_their_limit(app: TestApp) {
    let app = Arc::new(app);
    let counter = Counter {
        key: format!("test#{}", uuid::Uuid::new_v4()),
        limit: 7,
        window_end: now_ms() + 60_000,
    };
    let takes = (0..25).map(|_| {
        let (app, counter) = (app.clone(), counter.clone());
        tokio::spawn(async move { app.stores.limits.take(&counter, now_ms()).await.unwrap() })
    });
    let mut counts: Vec<u32> = join_all(takes)
        .await
        .into_iter()
        .filter_map(Result::unwrap)
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=7).collect::<Vec<_>>());
    app.stores.limits.give_back(&counter).await.unwrap();
    assert_eq!(
        app.stores.limits.take(&counter, now_ms()).await.unwrap(),
        Some(7)
    );
    assert_eq!(
        app.stores.limits.take(&counter, now_ms()).await.unwrap(),
        None
    );
}

/// Store conformance: of many lock writes from one state, one wins; an unlock bumps the epoch.
async fn one_lock_wins_and_unlock_starts_afresh(app: TestApp) {
    let app = Arc::new(app);
    let seen = app.stores.limits.login_state("acct").await.unwrap();
    assert_eq!(seen, LoginState::default());
    let locks = (0..10).map(|i| {
        let (app, seen) = (app.clone(), seen.clone());
        tokio::spawn(async move {
            app.stores
                .limits
                .lock_login("acct", &seen, 5_000 + i, 1, 10_000)
                .await
                .unwrap()
        })
    });
    let won = join_all(locks)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(won, 1);
    let locked = app.stores.limits.login_state("acct").await.unwrap();
    assert_eq!((locked.version, locked.lockouts), (1, 1));
    assert!(locked.locked_until >= 5_000);
    let before = app
        .stores
        .limits
        .unlock_login("acct", 10_000)
        .await
        .unwrap();
    assert_eq!(before, locked);
    let after = app.stores.limits.login_state("acct").await.unwrap();
    assert_eq!(
        after,
        LoginState {
            version: 2,
            epoch: 1,
            locked_until: 0,
            lockouts: 0
        }
    );
    // A lock written from the state before the unlock loses.
    let stale = app
        .stores
        .limits
        .lock_login("acct", &locked, 9_000, 2, 10_000)
        .await;
    assert!(!stale.unwrap());
}

on_both_stores! {
    a_flood_of_failed_logins_locks_once => lock_after_five(),
    the_lock_answer_reveals_nothing => lock_after_five(),
    limited_routes_say_how_much_is_left => limits(|l| l.register_ip = rule("2/1h")),
    a_forged_forwarded_for_does_not_reset_a_limit => limits(|l| l.login_ip = rule("3/15m")),
    behind_a_trusted_proxy_the_proxys_hop_counts => per_ip_three(),
    a_lock_ends_after_its_back_off => short_locks(),
    back_off_doubles_up_to_its_maximum => clock_limits(),
    a_password_reset_unlocks => lock_after_five(),
    account_mail_routes_are_limited => two_per_email(),
    limits_off_counts_nothing => Config::for_tests(),
    a_session_cannot_guess_the_password => lock_after_five(),
    address_changes_are_limited_per_address => limits(|l| l.register_email = rule("2/1h")),
    counters_stop_at_their_limit => Config::for_tests(),
    one_lock_wins_and_unlock_starts_afresh => Config::for_tests(),
}
