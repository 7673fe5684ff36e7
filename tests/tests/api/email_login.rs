//! Sign-in by mail over the router, on both engines: the link and the code, each spent once and
//! together; only the newest mail; codes counted per mail and against the account's lock; an
//! unverified address proven (and the sessions before it ended); a second factor still asked
//! for; nothing learned about which addresses have accounts; off unless configured.

use crate::mfa::{answer, code, enrolled, on_fixed_clock};
use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use futures_util::future::join_all;
use serde_json::{Value, json};
use shared::config::{Config, RateLimits};
use shared::jobs::{MailMessage, Work};
use support::{Call, Captured, TestApp, assert_problem, body_json, links};

async fn ask(app: &TestApp, email: &str) -> support::TestResponse {
    Call::new(Method::POST, "/api/auth/email-login")
        .json(json!({ "email": email }))
        .send(app)
        .await
}

async fn verify(app: &TestApp, body: Value) -> support::TestResponse {
    Call::new(Method::POST, "/api/auth/email-login/verify")
        .json(body)
        .send(app)
        .await
}

/// The current session's `amr`, as the devices list shows it.
pub(crate) async fn current_amr(app: &TestApp, access: &str) -> Value {
    let response = Call::new(Method::GET, "/api/auth/sessions")
        .token(access)
        .send(app)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.body());
    let body = body_json(&response);
    let current = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .cloned()
        .expect("the current session is listed");
    json!({ "aal": current["aal"], "amr": current["amr"] })
}

async fn sign_in_mails(mails: &Captured, to: &str) -> usize {
    mails
        .jobs()
        .await
        .iter()
        .filter(|job| {
            matches!(&job.work, Work::Email(mail)
                if mail.to == to && matches!(mail.message, MailMessage::EmailLogin { .. }))
        })
        .count()
}

/// Requests at once with one body; their statuses, sorted.
async fn all_at_once(app: &Arc<TestApp>, body: Value, n: usize) -> Vec<u16> {
    let calls = (0..n).map(|_| {
        let (app, body) = (app.clone(), body.clone());
        tokio::spawn(async move { verify(&app, body).await.status().as_u16() })
    });
    let mut statuses: Vec<u16> = join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    statuses.sort();
    statuses
}

async fn a_link_followed_many_times_at_once_signs_in_once(app: TestApp) {
    let (app, mails) = support::capturing(app);
    let app = Arc::new(app);
    support::account(&app, "link@example.com", "Ada").await;
    let asked = ask(&app, "link@example.com").await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let token = mails
        .token_mailed_to("link@example.com", links::sign_in)
        .await;
    let code = mails.code_mailed_to("link@example.com").await;
    let statuses = all_at_once(&app, json!({ "token": token }), 12).await;
    // Each either spent the link (200) or found it spent (400): one spent it.
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    // The code came in the same mail: spent with it.
    let by_code = verify(&app, json!({ "email": "link@example.com", "code": code })).await;
    assert_problem(&by_code, StatusCode::UNAUTHORIZED, "invalid_code");
    let again = verify(&app, json!({ "token": token })).await;
    assert_problem(&again, StatusCode::BAD_REQUEST, "invalid_token");
}

async fn a_code_signs_in_on_another_device(app: TestApp) {
    let (app, mails) = support::capturing(app);
    support::account(&app, "code@example.com", "Ada").await;
    ask(&app, "code@example.com").await;
    let token = mails
        .token_mailed_to("code@example.com", links::sign_in)
        .await;
    let code = mails.code_mailed_to("code@example.com").await;
    let wrong = if code == "00000000" {
        "00000001"
    } else {
        "00000000"
    };
    let refused = verify(&app, json!({ "email": "code@example.com", "code": wrong })).await;
    assert_problem(&refused, StatusCode::UNAUTHORIZED, "invalid_code");
    // Typed with spaces and in another case of the address, as people do.
    let spaced = format!("{}-{} ", &code[..4], &code[4..]);
    let signed_in = verify(&app, json!({ "email": "Code@Example.com", "code": spaced })).await;
    assert_eq!(signed_in.status(), StatusCode::OK, "{:?}", signed_in.body());
    let body = body_json(&signed_in);
    assert_eq!(body["user"]["email"], "code@example.com");
    let access = body["accessToken"].as_str().unwrap();
    assert_eq!(
        current_amr(&app, access).await,
        json!({ "aal": "aal1", "amr": ["email"] })
    );
    // Spent, and the link with it.
    let again = verify(&app, json!({ "email": "code@example.com", "code": code })).await;
    assert_problem(&again, StatusCode::UNAUTHORIZED, "invalid_code");
    let link = verify(&app, json!({ "token": token })).await;
    assert_problem(&link, StatusCode::BAD_REQUEST, "invalid_token");
}

/// Five codes per mail are checked; the link, which cannot be guessed, still works after them.
async fn a_mail_takes_five_codes_at_most(app: TestApp) {
    let (app, mails) = support::capturing(app);
    support::account(&app, "tries@example.com", "Ada").await;
    ask(&app, "tries@example.com").await;
    let code = mails.code_mailed_to("tries@example.com").await;
    let token = mails
        .token_mailed_to("tries@example.com", links::sign_in)
        .await;
    let wrong = if code == "00000000" {
        "00000001"
    } else {
        "00000000"
    };
    for _ in 0..5 {
        let refused = verify(&app, json!({ "email": "tries@example.com", "code": wrong })).await;
        assert_problem(&refused, StatusCode::UNAUTHORIZED, "invalid_code");
    }
    let right = verify(&app, json!({ "email": "tries@example.com", "code": code })).await;
    assert_problem(&right, StatusCode::UNAUTHORIZED, "invalid_code");
    let link = verify(&app, json!({ "token": token })).await;
    assert_eq!(link.status(), StatusCode::OK, "{:?}", link.body());
}

/// Sixteen right codes at once: at most five are checked, and one of those spends the mail.
async fn codes_sent_at_once_sign_in_once(app: TestApp) {
    let (app, mails) = support::capturing(app);
    let app = Arc::new(app);
    support::account(&app, "rush@example.com", "Ada").await;
    ask(&app, "rush@example.com").await;
    let code = mails.code_mailed_to("rush@example.com").await;
    let statuses = all_at_once(
        &app,
        json!({ "email": "rush@example.com", "code": code }),
        16,
    )
    .await;
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 401),
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
}

async fn only_the_newest_mail_works(app: TestApp) {
    let (app, mails) = support::capturing(app);
    support::account(&app, "newest@example.com", "Ada").await;
    ask(&app, "newest@example.com").await;
    let old_token = mails
        .token_mailed_to("newest@example.com", links::sign_in)
        .await;
    let old_code = mails.code_mailed_to("newest@example.com").await;
    ask(&app, "newest@example.com").await;
    let token = mails
        .token_mailed_to("newest@example.com", links::sign_in)
        .await;
    let code = mails.code_mailed_to("newest@example.com").await;
    assert_ne!(old_token, token);
    let stale = verify(&app, json!({ "token": old_token })).await;
    assert_problem(&stale, StatusCode::BAD_REQUEST, "invalid_token");
    if old_code != code {
        let stale = verify(
            &app,
            json!({ "email": "newest@example.com", "code": old_code }),
        )
        .await;
        assert_problem(&stale, StatusCode::UNAUTHORIZED, "invalid_code");
    }
    let fresh = verify(&app, json!({ "token": token })).await;
    assert_eq!(fresh.status(), StatusCode::OK, "{:?}", fresh.body());
}

/// One mail a minute per account (the reset mails' gap), whoever asks; every answer the same.
async fn one_mail_a_minute_and_nothing_for_nobody(app: TestApp) {
    let (app, mails) = support::capturing(app);
    support::account(&app, "bombed@example.com", "Ada").await;
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let asked = ask(&app, "bombed@example.com").await;
        assert_eq!(asked.status(), StatusCode::ACCEPTED);
        bodies.push(body_json(&asked));
    }
    assert_eq!(sign_in_mails(&mails, "bombed@example.com").await, 1);
    let before = mails.jobs().await.len();
    let started = Instant::now();
    let nobody = ask(&app, "nobody@example.com").await;
    assert_eq!(nobody.status(), StatusCode::ACCEPTED);
    // The same body and no sooner than an existing account's answer.
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(body_json(&nobody), bodies[0]);
    let malformed = ask(&app, "not an address").await;
    assert_eq!(malformed.status(), StatusCode::ACCEPTED);
    assert_eq!(body_json(&malformed), bodies[0]);
    assert_eq!(mails.jobs().await.len(), before);
}

/// An address never verified is proven by following the mail: it becomes verified, and the
/// sessions and the password from before (perhaps of someone who registered with it) end; the
/// owner is told, and sets a password with a reset.
async fn an_unverified_address_is_proven_and_earlier_sessions_end(app: TestApp) {
    let (app, mails) = support::capturing(app);
    let earlier = support::account(&app, "proof@example.com", "Ada").await;
    ask(&app, "proof@example.com").await;
    let token = mails
        .token_mailed_to("proof@example.com", links::sign_in)
        .await;
    let signed_in = verify(&app, json!({ "token": token })).await;
    assert_eq!(signed_in.status(), StatusCode::OK, "{:?}", signed_in.body());
    assert_eq!(body_json(&signed_in)["user"]["emailVerified"], true);
    let refreshed = support::refresh_with(&app, &earlier.refresh).await;
    assert_eq!(refreshed.status(), StatusCode::UNAUTHORIZED);
    let old_password = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": "proof@example.com", "password": "correct horse battery" }))
        .send(&app)
        .await;
    assert_problem(
        &old_password,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
    let told = mails
        .jobs()
        .await
        .iter()
        .filter(|job| {
            matches!(&job.work, Work::Email(mail) if mail.to == "proof@example.com"
                && mail.message == MailMessage::AddressConfirmedPasswordRemoved)
        })
        .count();
    assert_eq!(told, 1);
    // A reset gives the owner a password of their own.
    let forgot = Call::new(Method::POST, "/api/auth/forgot-password")
        .json(json!({ "email": "proof@example.com" }))
        .send(&app)
        .await;
    assert_eq!(forgot.status(), StatusCode::ACCEPTED);
    let reset_token = mails
        .token_mailed_to("proof@example.com", links::reset)
        .await;
    let reset = Call::new(Method::POST, "/api/auth/reset-password")
        .json(json!({ "token": reset_token, "password": "the owner's own passphrase" }))
        .send(&app)
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT, "{:?}", reset.body());
    // A verified account's sessions and password are left alone by the next sign-in by mail.
    let owner = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": "proof@example.com", "password": "the owner's own passphrase" }))
        .send(&app)
        .await;
    assert_eq!(owner.status(), StatusCode::OK);
    let access = body_json(&owner)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    ask(&app, "proof@example.com").await;
    let token = mails
        .token_mailed_to("proof@example.com", links::sign_in)
        .await;
    let again = verify(&app, json!({ "token": token })).await;
    assert_eq!(again.status(), StatusCode::OK, "{:?}", again.body());
    let me = support::get_me(&app, &access).await;
    assert_eq!(me.status(), StatusCode::OK);
    let password = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": "proof@example.com", "password": "the owner's own passphrase" }))
        .send(&app)
        .await;
    assert_eq!(password.status(), StatusCode::OK);
}

/// "Log out everywhere" (like a password change or reset) ends a mail not yet followed.
async fn ending_every_session_ends_an_outstanding_mail(app: TestApp) {
    let (app, mails) = support::capturing(app);
    let ada = support::account(&app, "ended@example.com", "Ada").await;
    ask(&app, "ended@example.com").await;
    let token = mails
        .token_mailed_to("ended@example.com", links::sign_in)
        .await;
    let code = mails.code_mailed_to("ended@example.com").await;
    let everywhere = Call::new(Method::POST, "/api/auth/logout?scope=all")
        .token(&ada.access)
        .json(json!({}))
        .send(&app)
        .await;
    assert!(everywhere.status().is_success(), "{:?}", everywhere.body());
    let link = verify(&app, json!({ "token": token })).await;
    assert_problem(&link, StatusCode::BAD_REQUEST, "invalid_token");
    let typed = verify(&app, json!({ "email": "ended@example.com", "code": code })).await;
    assert_problem(&typed, StatusCode::UNAUTHORIZED, "invalid_code");
}

/// The mail is the first step only: an account with a second factor still answers a challenge,
/// and the session records both.
async fn a_second_factor_is_still_asked_for(app: TestApp) {
    let (app, clock) = on_fixed_clock(app);
    let (app, mails) = support::capturing(app);
    let ada = enrolled(&app, &clock, "twofactor@example.com").await;
    // A verified address: the mail proves nothing new, and the factor stays.
    let verify_token = mails
        .token_mailed_to("twofactor@example.com", links::verify)
        .await;
    let verified = Call::new(Method::POST, "/api/auth/verify-email")
        .json(json!({ "token": verify_token }))
        .send(&app)
        .await;
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);
    ask(&app, "twofactor@example.com").await;
    let token = mails
        .token_mailed_to("twofactor@example.com", links::sign_in)
        .await;
    let first = verify(&app, json!({ "token": token })).await;
    assert_eq!(first.status(), StatusCode::OK, "{:?}", first.body());
    let body = body_json(&first);
    assert_eq!(body["mfaRequired"], true);
    assert!(body.get("accessToken").is_none(), "{body}");
    let challenge = body["challenge"].as_str().unwrap();
    let answered = answer(
        &app,
        challenge,
        json!({ "code": code(&ada.secret, &clock, 0) }),
    )
    .await;
    assert_eq!(answered.status(), StatusCode::OK, "{:?}", answered.body());
    let access = body_json(&answered)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        current_amr(&app, &access).await,
        json!({ "aal": "aal2", "amr": ["email", "otp"] })
    );
    let _ = ada.account;
}

/// A factor enrolled before the address was proven may be whoever registered it first: the
/// mail that proves the address removes it (with the password), so the owner is not locked out.
async fn a_factor_set_before_the_address_was_proven_is_removed(app: TestApp) {
    let (app, clock) = on_fixed_clock(app);
    let (app, mails) = support::capturing(app);
    enrolled(&app, &clock, "squatted@example.com").await;
    ask(&app, "squatted@example.com").await;
    let token = mails
        .token_mailed_to("squatted@example.com", links::sign_in)
        .await;
    let signed_in = verify(&app, json!({ "token": token })).await;
    assert_eq!(signed_in.status(), StatusCode::OK, "{:?}", signed_in.body());
    let body = body_json(&signed_in);
    assert!(body.get("mfaRequired").is_none(), "{body}");
    let access = body["accessToken"].as_str().unwrap();
    let status = Call::new(Method::GET, "/api/auth/mfa")
        .token(access)
        .send(&app)
        .await;
    assert_eq!(body_json(&status)["totp"], Value::Null);
}

/// Wrong codes count toward the account's lock like wrong passwords, and a locked account
/// takes no more codes (the link still works: it proves the mailbox).
async fn wrong_codes_count_toward_the_lock(app: TestApp) {
    let (app, mails) = support::capturing(app);
    support::account(&app, "guessed@example.com", "Ada").await;
    ask(&app, "guessed@example.com").await;
    let code = mails.code_mailed_to("guessed@example.com").await;
    let wrong = if code == "00000000" {
        "00000001"
    } else {
        "00000000"
    };
    // A password-reset-sized limit: five per account and address.
    for _ in 0..5 {
        let refused = verify(
            &app,
            json!({ "email": "guessed@example.com", "code": wrong }),
        )
        .await;
        assert_problem(&refused, StatusCode::UNAUTHORIZED, "invalid_code");
    }
    let limited = verify(
        &app,
        json!({ "email": "guessed@example.com", "code": code }),
    )
    .await;
    assert_problem(&limited, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    let password = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": "guessed@example.com", "password": "correct horse battery" }))
        .send(&app)
        .await;
    assert_eq!(password.status(), StatusCode::TOO_MANY_REQUESTS);
    // Asking for mails is limited per address too.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(ask(&app, "guessed@example.com").await.status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}"
    );
}

async fn off_unless_configured(app: TestApp) {
    support::account(&app, "off@example.com", "Ada").await;
    let asked = ask(&app, "off@example.com").await;
    assert_problem(&asked, StatusCode::FORBIDDEN, "email_login_off");
    let verified = verify(&app, json!({ "token": "x" })).await;
    assert_problem(&verified, StatusCode::FORBIDDEN, "email_login_off");
    let methods = Call::new(Method::GET, "/api/auth/methods").send(&app).await;
    assert_eq!(methods.status(), StatusCode::OK);
    assert_eq!(
        body_json(&methods),
        json!({ "password": true, "emailLogin": false, "passkeys": true, "providers": [] })
    );
}

async fn bad_input_gets_problem_documents(app: TestApp) {
    let methods = Call::new(Method::GET, "/api/auth/methods").send(&app).await;
    assert_eq!(body_json(&methods)["emailLogin"], true);
    let email = "a@example.com";
    for (body, status, code) in [
        (json!({}), 400, "token_or_code"),
        (
            json!({ "token": "t", "code": "12345678" }),
            400,
            "token_or_code",
        ),
        (json!({ "token": "not a token" }), 400, "invalid_token"),
        (json!({ "token": "" }), 400, "invalid_token"),
        (json!({ "email": email }), 422, "validation_failed"),
        (json!({ "code": "12345678" }), 422, "validation_failed"),
        (
            json!({ "email": email, "code": "123456" }),
            422,
            "validation_failed",
        ),
        (
            json!({ "email": email, "code": "abcdefgh" }),
            422,
            "validation_failed",
        ),
        // Arabic-Indic digits are digits, but not the ones mailed.
        (
            json!({ "email": email, "code": "\u{661}\u{662}\u{663}\u{664}\u{665}\u{666}\u{667}\u{668}" }),
            422,
            "validation_failed",
        ),
        (
            json!({ "email": email, "code": "12345678" }),
            401,
            "invalid_code",
        ),
        // Full-width digits from an input method read as digits.
        (
            json!({ "email": email, "code": "\u{ff11}\u{ff12}\u{ff13}\u{ff14}\u{ff15}\u{ff16}\u{ff17}\u{ff18}" }),
            401,
            "invalid_code",
        ),
        (
            json!({ "email": email, "code": "1234-5678" }),
            401,
            "invalid_code",
        ),
        (
            json!({ "email": "nonsense", "code": "12345678" }),
            401,
            "invalid_code",
        ),
        (json!({ "token": 5 }), 422, "validation_failed"),
        (
            json!({ "token": "t", "extra": 1 }),
            422,
            "validation_failed",
        ),
    ] {
        let response = verify(&app, body.clone()).await;
        let status = StatusCode::from_u16(status).unwrap();
        assert_problem(&response, status, code);
    }
    for body in [
        json!({}),
        json!({ "email": 5 }),
        json!({ "email": "a", "x": 1 }),
    ] {
        let response = ask(&app, "").await;
        assert!(response.status().is_client_error() || response.status() == StatusCode::ACCEPTED);
        let response = Call::new(Method::POST, "/api/auth/email-login")
            .json(body.clone())
            .send(&app)
            .await;
        assert!(
            response.status().is_client_error(),
            "{body}: {:?}",
            response.status()
        );
    }
}

fn config() -> Config {
    Config {
        email_login: true,
        reset_mail_gap: Duration::ZERO,
        ..Config::for_tests()
    }
}

on_both_stores! {
    a_link_followed_many_times_at_once_signs_in_once => config(),
    a_code_signs_in_on_another_device => config(),
    a_mail_takes_five_codes_at_most => config(),
    codes_sent_at_once_sign_in_once => config(),
    only_the_newest_mail_works => config(),
    one_mail_a_minute_and_nothing_for_nobody => Config {
        reset_mail_gap: Duration::from_secs(60),
        ..config()
    },
    an_unverified_address_is_proven_and_earlier_sessions_end => config(),
    ending_every_session_ends_an_outstanding_mail => config(),
    a_second_factor_is_still_asked_for => config(),
    a_factor_set_before_the_address_was_proven_is_removed => config(),
    wrong_codes_count_toward_the_lock => Config {
        rate_limits: RateLimits::default(),
        ..config()
    },
    off_unless_configured => Config::for_tests(),
    bad_input_gets_problem_documents => config(),
}
