//! Two-factor sign-in over the router, on both engines: enrolment, verification, the sign-in
//! challenge, step-up, recovery codes, removal and an admin's reset; codes taken once and in
//! their window (on a clock the test moves), races between requests spending one code, and
//! guesses counted against the account's lock.

use crate::support;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::mfa::{TotpSecret, step_at};
use shared::clock::{Clock, now_ms};
use shared::config::{Config, RateLimits};
use shared::domain::{Authentication, Role};
use shared::jobs::{MailMessage, Work};
use shared::store::{
    Effects, FactorRemoval, FactorState, RoleHeld, SessionOrigin, StoreError, table::Key,
};
use support::{Account, Call, TestApp, assert_problem, body_json};

const PASSWORD: &str = "correct horse battery";

/// A fixed clock in the middle of a time step, near now (sessions and limits read the real
/// time), and the app reading it.
pub(crate) fn on_fixed_clock(app: TestApp) -> (TestApp, Clock) {
    let middle = (step_at(now_ms()) * 30 + 15) * 1000;
    let clock = Clock::fixed(middle);
    (support::with_clock(app, clock.clone()), clock)
}

pub(crate) fn code(secret: &TotpSecret, clock: &Clock, steps: i64) -> String {
    secret.code_at(step_at(clock.now_ms()) + steps)
}

/// A user with an active factor, and the secret, recovery codes and aal2 token of it.
pub(crate) struct Enrolled {
    pub(crate) account: Account,
    pub(crate) secret: TotpSecret,
    recovery: Vec<String>,
    /// The enrolling session, raised to aal2 by the verification.
    access: String,
}

async fn enrol(app: &TestApp, token: &str) -> (TotpSecret, Value) {
    let response = Call::new(Method::POST, "/api/auth/mfa/totp")
        .token(token)
        .json(json!({ "password": PASSWORD }))
        .send(app)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        response.body()
    );
    let body = body_json(&response);
    let secret = TotpSecret::from_base32(body["secret"].as_str().unwrap()).unwrap();
    (secret, body)
}

async fn verify(app: &TestApp, token: &str, code: &str) -> support::TestResponse {
    Call::new(Method::POST, "/api/auth/mfa/totp/verify")
        .token(token)
        .json(json!({ "code": code }))
        .send(app)
        .await
}

pub(crate) async fn enrolled(app: &TestApp, clock: &Clock, email: &str) -> Enrolled {
    let account = support::account(app, email, "Ada").await;
    let (secret, _) = enrol(app, &account.access).await;
    let verified = verify(app, &account.access, &code(&secret, clock, 0)).await;
    assert_eq!(verified.status(), StatusCode::OK, "{:?}", verified.body());
    let body = body_json(&verified);
    clock.advance(30_000);
    Enrolled {
        secret,
        recovery: body["recoveryCodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect(),
        access: body["accessToken"].as_str().unwrap().to_owned(),
        account,
    }
}

async fn login(app: &TestApp, email: &str) -> Value {
    let response = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": email, "password": PASSWORD }))
        .send(app)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.body());
    body_json(&response)
}

pub(crate) async fn answer(app: &TestApp, challenge: &str, proof: Value) -> support::TestResponse {
    let mut body = proof;
    body["challenge"] = challenge.into();
    Call::new(Method::POST, "/api/auth/mfa/challenge")
        .json(body)
        .send(app)
        .await
}

async fn step_up(app: &TestApp, token: &str, proof: Value) -> support::TestResponse {
    Call::new(Method::POST, "/api/auth/mfa/step-up")
        .token(token)
        .json(proof)
        .send(app)
        .await
}

async fn status(app: &TestApp, token: &str) -> Value {
    let response = Call::new(Method::GET, "/api/auth/mfa")
        .token(token)
        .send(app)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.body());
    body_json(&response)
}

async fn stored_factor(app: &TestApp, user_id: &str) -> shared::store::TotpFactor {
    app.stores
        .mfa
        .get_totp(user_id, app.clock.now_ms())
        .await
        .unwrap()
        .expect("a factor")
}

fn last_step(factor: &shared::store::TotpFactor) -> i64 {
    match &factor.state {
        FactorState::Active { last_step, .. } => *last_step,
        FactorState::Pending { .. } => panic!("not active"),
    }
}

async fn the_whole_flow_ends_in_an_aal2_session(app: TestApp) {
    let (app, mails) = support::capturing(app);
    let (app, clock) = on_fixed_clock(app);
    let account = support::account(&app, "ada@example.com", "Ada").await;
    assert_eq!(status(&app, &account.access).await["totp"], Value::Null);

    let (secret, enrolment) = enrol(&app, &account.access).await;
    let uri = enrolment["uri"].as_str().unwrap();
    assert_eq!(
        uri,
        format!(
            "otpauth://totp/serverless-backend:ada%40example.com?secret={}&issuer=serverless-backend&algorithm=SHA1&digits=6&period=30",
            secret.base32()
        )
    );
    assert!(enrolment["qrCode"].as_str().unwrap().starts_with("<?xml"));
    // Pending: sign-in still takes the password alone.
    assert_eq!(
        status(&app, &account.access).await["totp"]["status"],
        "pending"
    );
    assert!(login(&app, "ada@example.com").await["accessToken"].is_string());

    let verified = verify(&app, &account.access, &code(&secret, &clock, 0)).await;
    assert_eq!(verified.status(), StatusCode::OK, "{:?}", verified.body());
    let verified = body_json(&verified);
    let codes = verified["recoveryCodes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| c.as_str().unwrap().len() == 11));
    assert_eq!(verified["aal"], "aal2");
    assert_eq!(verified["amr"], json!(["pwd", "otp"]));
    let raised = verified["accessToken"].as_str().unwrap();
    let now = status(&app, raised).await;
    assert_eq!(
        (now["aal"].as_str(), now["totp"]["status"].as_str()),
        (Some("aal2"), Some("active"))
    );
    assert_eq!(now["totp"]["recoveryCodesRemaining"], 10);
    // The session's refresh token carries the level on.
    let refreshed = support::refresh_with(&app, &account.refresh).await;
    let refreshed = body_json(&refreshed);
    assert_eq!(
        status(&app, refreshed["accessToken"].as_str().unwrap()).await["aal"],
        "aal2"
    );

    // Signing in now stops at the password with a challenge and no tokens.
    let first = login(&app, "ada@example.com").await;
    assert_eq!(first["mfaRequired"], true);
    assert_eq!(first["methods"], json!(["totp", "recovery_code"]));
    assert_eq!(first["expiresIn"], 300);
    assert!(first.get("accessToken").is_none() && first.get("refreshToken").is_none());
    let challenge = first["challenge"].as_str().unwrap();
    // The code the verification took is spent; the next step's is not.
    let replayed = answer(&app, challenge, json!({ "code": code(&secret, &clock, 0) })).await;
    let problem = assert_problem(
        &replayed,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(problem["errors"][0]["code"], "already_used");
    clock.advance(30_000);
    let signed_in = answer(&app, challenge, json!({ "code": code(&secret, &clock, 0) })).await;
    assert_eq!(signed_in.status(), StatusCode::OK, "{:?}", signed_in.body());
    let signed_in = body_json(&signed_in);
    assert_eq!(signed_in["user"]["email"], "ada@example.com");
    let session = status(&app, signed_in["accessToken"].as_str().unwrap()).await;
    assert_eq!(
        (session["aal"].clone(), session["amr"].clone()),
        (json!("aal2"), json!(["pwd", "otp"]))
    );
    // A challenge works once.
    clock.advance(30_000);
    let again = answer(&app, challenge, json!({ "code": code(&secret, &clock, 0) })).await;
    assert_problem(&again, StatusCode::BAD_REQUEST, "invalid_challenge");

    // A recovery code completes a sign-in as well, once, and is mailed about.
    let second = login(&app, "ada@example.com").await;
    let recovery = codes[0].as_str().unwrap();
    let recovered = answer(
        &app,
        second["challenge"].as_str().unwrap(),
        json!({ "recoveryCode": recovery }),
    )
    .await;
    assert_eq!(recovered.status(), StatusCode::OK, "{:?}", recovered.body());
    let recovered = body_json(&recovered);
    assert_eq!(
        status(&app, recovered["accessToken"].as_str().unwrap()).await["amr"],
        json!(["pwd", "recovery"])
    );
    let third = login(&app, "ada@example.com").await;
    let reused = answer(
        &app,
        third["challenge"].as_str().unwrap(),
        json!({ "recoveryCode": recovery }),
    )
    .await;
    let problem = assert_problem(
        &reused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(problem["errors"][0]["field"], "recoveryCode");
    let jobs = mails.jobs().await;
    assert!(jobs.iter().any(|job| matches!(&job.work,
        Work::Email(mail) if mail.to == "ada@example.com"
            && matches!(mail.message, MailMessage::RecoveryCodeUsed { remaining: 9 }))));
    assert!(jobs.iter().any(|job| matches!(&job.work,
        Work::Email(mail) if matches!(mail.message, MailMessage::MfaEnabled))));

    // Turning it off takes a code; sign-in is then the password alone again.
    clock.advance(30_000);
    let off = Call::new(Method::DELETE, "/api/auth/mfa/totp")
        .token(raised)
        .json(json!({ "code": code(&secret, &clock, 0) }))
        .send(&app)
        .await;
    assert_eq!(off.status(), StatusCode::NO_CONTENT, "{:?}", off.body());
    assert!(login(&app, "ada@example.com").await["accessToken"].is_string());

    // Every step is in the audit log; the secret is nowhere in it.
    let events = app
        .stores
        .audit
        .list_events(&Default::default(), None, 100)
        .await
        .unwrap();
    let actions: Vec<&str> = events.items.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "mfa_enrol",
        "mfa_activate",
        "mfa_challenge",
        "mfa_recovery_code_use",
        "mfa_disable",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let logged = format!("{:?}", events.items);
    assert!(!logged.contains(&secret.base32()));
}

/// The secret is stored sealed: no attribute of the item holds it, in base32 or raw.
async fn the_secret_is_stored_sealed(app: TestApp) {
    let (app, clock) = on_fixed_clock(app);
    let ada = enrolled(&app, &clock, "ada@example.com").await;
    let table = support::table_of(&app).await;
    let item = table
        .get(
            &Key::new(format!("USER#{}", ada.account.id), "MFA#TOTP"),
            shared::store::table::Read::Consistent,
        )
        .await
        .unwrap()
        .unwrap();
    let text = format!("{item:?}");
    assert!(!text.contains(&ada.secret.base32()), "{text}");
    let raw = String::from_utf8_lossy(ada.secret.as_bytes()).into_owned();
    assert!(!text.contains(&raw));
    for code in &ada.recovery {
        assert!(!text.contains(&code.replace('-', "")), "{text}");
    }
}

async fn codes_are_taken_within_one_step_of_skew_and_once(app: TestApp) {
    let (app, clock) = on_fixed_clock(app);
    let ada = enrolled(&app, &clock, "ada@example.com").await;
    let token = &ada.access;
    // The verification took the step before this one: start a step on.
    clock.advance(30_000);
    let incorrect = |response: &support::TestResponse, code: &str| {
        let problem = assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(problem["errors"][0]["code"], code, "{problem}");
    };
    // Two steps off either way: refused.
    for steps in [2, -2] {
        let far = step_up(
            &app,
            token,
            json!({ "code": code(&ada.secret, &clock, steps) }),
        )
        .await;
        incorrect(&far, "incorrect");
    }
    // One step behind: taken; then the same code again, or an older one: spent.
    let behind = code(&ada.secret, &clock, -1);
    assert_eq!(
        step_up(&app, token, json!({ "code": behind }))
            .await
            .status(),
        StatusCode::OK
    );
    incorrect(
        &step_up(&app, token, json!({ "code": behind })).await,
        "already_used",
    );
    // One step ahead: taken; the current step's is now older than the last taken.
    let ahead = code(&ada.secret, &clock, 1);
    assert_eq!(
        step_up(&app, token, json!({ "code": ahead }))
            .await
            .status(),
        StatusCode::OK
    );
    incorrect(
        &step_up(&app, token, json!({ "code": code(&ada.secret, &clock, 0) })).await,
        "already_used",
    );
    let factor = stored_factor(&app, &ada.account.id).await;
    assert_eq!(last_step(&factor), step_at(clock.now_ms()) + 1);
}

/// Ten requests with one valid code, twenty times: exactly one is taken, and the stored step
/// is its step. Through step-up and through one sign-in challenge.
async fn ten_concurrent_submissions_of_one_code_take_it_once(app: TestApp) {
    let (app, clock) = on_fixed_clock(app);
    let app = Arc::new(app);
    let ada = enrolled(&app, &clock, "ada@example.com").await;
    for round in 0..20 {
        clock.advance(30_000);
        let code = code(&ada.secret, &clock, 0);
        let challenge = if round % 2 == 1 {
            Some(
                login(&app, "ada@example.com").await["challenge"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        } else {
            None
        };
        let attempts = (0..10).map(|_| {
            let (app, code, token, challenge) = (
                app.clone(),
                code.clone(),
                ada.access.clone(),
                challenge.clone(),
            );
            tokio::spawn(async move {
                match challenge {
                    Some(challenge) => answer(&app, &challenge, json!({ "code": code })).await,
                    None => step_up(&app, &token, json!({ "code": code })).await,
                }
            })
        });
        let responses: Vec<_> = futures_util::future::join_all(attempts)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let taken = responses
            .iter()
            .filter(|r| r.status() == StatusCode::OK)
            .count();
        assert_eq!(taken, 1, "round {round}: {responses:?}");
        for refused in responses.iter().filter(|r| r.status() != StatusCode::OK) {
            let code = refused.status();
            assert!(
                code == StatusCode::UNPROCESSABLE_ENTITY || code == StatusCode::BAD_REQUEST,
                "round {round}: {refused:?}"
            );
        }
        let factor = stored_factor(&app, &ada.account.id).await;
        assert_eq!(last_step(&factor), step_at(clock.now_ms()), "round {round}");
    }
}

/// Ten requests with one recovery code: one is taken, and nine codes are left.
async fn racing_uses_of_one_recovery_code_take_it_once(app: TestApp) {
    let (app, clock) = on_fixed_clock(app);
    let app = Arc::new(app);
    let ada = enrolled(&app, &clock, "ada@example.com").await;
    for (round, recovery) in ada.recovery.iter().enumerate() {
        let attempts = (0..10).map(|_| {
            let (app, token, recovery) = (app.clone(), ada.access.clone(), recovery.clone());
            tokio::spawn(
                async move { step_up(&app, &token, json!({ "recoveryCode": recovery })).await },
            )
        });
        let responses: Vec<_> = futures_util::future::join_all(attempts)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let taken = responses
            .iter()
            .filter(|r| r.status() == StatusCode::OK)
            .count();
        assert_eq!(taken, 1, "round {round}: {responses:?}");
        assert!(responses.iter().all(
            |r| r.status() == StatusCode::OK || r.status() == StatusCode::UNPROCESSABLE_ENTITY
        ));
        let FactorState::Active {
            recovery: stored, ..
        } = stored_factor(&app, &ada.account.id).await.state
        else {
            panic!("not active");
        };
        assert_eq!(stored.remaining(), 9 - round);
    }
}

/// Two enrolments at once: both answer a secret, one is stored, and only its codes verify.
async fn concurrent_enrolments_leave_one_pending_secret(app: TestApp) {
    let (app, clock) = on_fixed_clock(app);
    let app = Arc::new(app);
    let ada = support::account(&app, "ada@example.com", "Ada").await;
    for _ in 0..5 {
        let (a, b) = tokio::join!(enrol(&app, &ada.access), enrol(&app, &ada.access));
        let stored = stored_factor(&app, &ada.id).await;
        let keys = app.mfa_keys.current().await.unwrap();
        let kept = keys.open(&ada.id, &stored.secret).unwrap();
        let verifies: Vec<bool> = [a.0, b.0].iter().map(|secret| kept == *secret).collect();
        assert_eq!(verifies.iter().filter(|v| **v).count(), 1, "{verifies:?}");
    }
    // The stored one verifies; a code of the other does not.
    let (first, _) = enrol(&app, &ada.access).await;
    let (second, _) = enrol(&app, &ada.access).await;
    let stale = verify(&app, &ada.access, &code(&first, &clock, 0)).await;
    assert_problem(
        &stale,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let fresh = verify(&app, &ada.access, &code(&second, &clock, 0)).await;
    assert_eq!(fresh.status(), StatusCode::OK, "{:?}", fresh.body());
    // Active: enrolling again is refused until it is removed.
    let again = Call::new(Method::POST, "/api/auth/mfa/totp")
        .token(&ada.access)
        .json(json!({ "password": PASSWORD }))
        .send(&app)
        .await;
    assert_problem(&again, StatusCode::CONFLICT, "mfa_already_enabled");
}

/// Turning a factor on asks for the current password, checked as a sign-in attempt: a stolen
/// token alone cannot put the thief's factor on the account and lock its owner out.
async fn enrolling_asks_for_the_current_password(app: TestApp) {
    let ada = support::account(&app, "ada@example.com", "Ada").await;
    let enrol_with = |body: Value| {
        Call::new(Method::POST, "/api/auth/mfa/totp")
            .token(&ada.access)
            .json(body)
    };
    for (body, code) in [
        (json!({}), "required"),
        (json!({ "password": "not the password" }), "incorrect"),
    ] {
        let refused = enrol_with(body).send(&app).await;
        let problem = assert_problem(
            &refused,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(problem["errors"][0]["field"], "password", "{problem}");
        assert_eq!(problem["errors"][0]["code"], code, "{problem}");
    }
    let none = app
        .stores
        .mfa
        .get_totp(&ada.id, app.clock.now_ms())
        .await
        .unwrap();
    assert!(none.is_none(), "nothing enrolled without the password");
    let enrolled = enrol_with(json!({ "password": PASSWORD })).send(&app).await;
    assert_eq!(enrolled.status(), StatusCode::CREATED);
    // Wrong ones count against the lock as a sign-in's do: five from one address, then even
    // the right one is refused.
    let bob = support::account(&app, "bob@example.com", "Bob").await;
    let enrol_as_bob = |password: &str| {
        Call::new(Method::POST, "/api/auth/mfa/totp")
            .token(&bob.access)
            .json(json!({ "password": password }))
    };
    for _ in 0..5 {
        let wrong = enrol_as_bob("not the password").send(&app).await;
        assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let locked = enrol_as_bob(PASSWORD).send(&app).await;
    assert_problem(&locked, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
}

/// Dropping a pending factor (no code needed) never takes one activated meanwhile: the store
/// refuses the pending removal of an active enrolment, and a verification racing ten removals
/// either activates it (and it stays) or loses to one of them (and none is left).
async fn cancelling_a_pending_factor_never_removes_one_activated_meanwhile(app: TestApp) {
    let (app, clock) = on_fixed_clock(app);
    let app = Arc::new(app);
    let ada = support::account(&app, "ada@example.com", "Ada").await;
    let (secret, _) = enrol(&app, &ada.access).await;
    let enrolment = stored_factor(&app, &ada.id).await.enrolment;
    let verified = verify(&app, &ada.access, &code(&secret, &clock, 0)).await;
    assert_eq!(verified.status(), StatusCode::OK, "{:?}", verified.body());
    let pending = FactorRemoval::Pending {
        enrolment: &enrolment,
    };
    let removed = app
        .stores
        .mfa
        .remove_totp(&ada.id, pending, None, &Effects::none())
        .await;
    assert!(matches!(removed, Err(StoreError::Conflict)), "{removed:?}");
    assert!(stored_factor(&app, &ada.id).await.is_active());

    for n in 0..8 {
        let email = format!("race{n}@example.com");
        let user = support::account(&app, &email, "Racer").await;
        let (secret, _) = enrol(&app, &user.access).await;
        let removals = (0..10).map(|_| {
            let (app, token) = (app.clone(), user.access.clone());
            tokio::spawn(async move {
                Call::new(Method::DELETE, "/api/auth/mfa/totp")
                    .token(&token)
                    .send(&app)
                    .await
                    .status()
            })
        });
        let removals: Vec<_> = removals.collect();
        let verified = verify(&app, &user.access, &code(&secret, &clock, 0)).await;
        let mut statuses = Vec::new();
        for removal in removals {
            statuses.push(removal.await.unwrap());
        }
        let left = app
            .stores
            .mfa
            .get_totp(&user.id, app.clock.now_ms())
            .await
            .unwrap();
        // Dropped, already gone, or (active by then) refused without a code.
        let expected = [
            StatusCode::NO_CONTENT,
            StatusCode::NOT_FOUND,
            StatusCode::FORBIDDEN,
            StatusCode::UNPROCESSABLE_ENTITY,
        ];
        assert!(
            statuses.iter().all(|s| expected.contains(s)),
            "{statuses:?}"
        );
        if verified.status() == StatusCode::OK {
            let left = left.expect("an activated factor stays");
            assert!(left.is_active(), "{statuses:?}");
        } else {
            assert_problem(&verified, StatusCode::CONFLICT, "no_pending_enrolment");
            assert!(left.is_none(), "{statuses:?}");
            assert!(statuses.contains(&StatusCode::NO_CONTENT), "{statuses:?}");
        }
    }
}

/// Wrong codes count against the account as wrong passwords do: five from one address and it
/// is refused (429), the right code and the right password alike.
async fn guesses_count_against_the_accounts_lock(app: TestApp) {
    let (app, clock) = on_fixed_clock(app);
    let ada = enrolled(&app, &clock, "ada@example.com").await;
    let challenge = login(&app, "ada@example.com").await["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = format!(
        "{:06}",
        (code(&ada.secret, &clock, 0).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    // Four wrong at the challenge and one at a step-up: the five this address may fail.
    for _ in 0..4 {
        let guess = answer(&app, &challenge, json!({ "code": wrong })).await;
        assert_problem(
            &guess,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
    }
    let guess = step_up(&app, &ada.access, json!({ "code": wrong })).await;
    assert_problem(
        &guess,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let right = answer(
        &app,
        &challenge,
        json!({ "code": code(&ada.secret, &clock, 0) }),
    )
    .await;
    assert_problem(&right, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    let password = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": "ada@example.com", "password": PASSWORD }))
        .send(&app)
        .await;
    assert_problem(
        &password,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
    );
    // Step-up guesses are counted the same way.
    let stepped = step_up(
        &app,
        &ada.access,
        json!({ "code": code(&ada.secret, &clock, 0) }),
    )
    .await;
    assert_problem(&stepped, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    let stored = app
        .stores
        .mfa
        .find_challenge(&shared::auth::mfa::challenge_hash(&challenge).unwrap())
        .await
        .unwrap()
        .unwrap();
    // Four wrong answers and the one refused for the lock: each took its try before any check.
    assert_eq!(stored.failures, 5);
}

async fn a_challenge_dies_after_five_wrong_codes(app: TestApp) {
    let (app, clock) = on_fixed_clock(app);
    let ada = enrolled(&app, &clock, "ada@example.com").await;
    let challenge = login(&app, "ada@example.com").await["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = format!(
        "{:06}",
        (code(&ada.secret, &clock, 0).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    for _ in 0..5 {
        answer(&app, &challenge, json!({ "code": wrong })).await;
    }
    let right = answer(
        &app,
        &challenge,
        json!({ "code": code(&ada.secret, &clock, 0) }),
    )
    .await;
    assert_problem(&right, StatusCode::BAD_REQUEST, "invalid_challenge");
    // Expired: five minutes later, a fresh challenge is no longer taken.
    let late = login(&app, "ada@example.com").await["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    clock.advance(5 * 60 * 1000);
    let answered = answer(&app, &late, json!({ "code": code(&ada.secret, &clock, 0) })).await;
    assert_problem(&answered, StatusCode::BAD_REQUEST, "invalid_challenge");
}

/// Sixteen wrong codes sent at once to one challenge: no more than five are checked (each
/// answer is counted before its check), and the right code after them finds it dead.
async fn wrong_codes_sent_at_once_are_checked_five_times_at_most(app: TestApp) {
    let (app, clock) = on_fixed_clock(app);
    let app = Arc::new(app);
    let ada = enrolled(&app, &clock, "ada@example.com").await;
    let challenge = login(&app, "ada@example.com").await["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    let right = code(&ada.secret, &clock, 0);
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    let answers: Vec<_> = (0..16)
        .map(|_| {
            let (app, challenge, wrong) = (app.clone(), challenge.clone(), wrong.clone());
            tokio::spawn(async move {
                answer(&app, &challenge, json!({ "code": wrong }))
                    .await
                    .status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for answer in answers {
        statuses.push(answer.await.unwrap());
    }
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    assert!(checked <= 5, "{statuses:?}");
    // Refused unchecked: the challenge dead, or the account's lock (five per address).
    assert!(
        statuses.iter().all(|s| [
            StatusCode::UNPROCESSABLE_ENTITY,
            StatusCode::BAD_REQUEST,
            StatusCode::TOO_MANY_REQUESTS
        ]
        .contains(s)),
        "{statuses:?}"
    );
    let late = answer(&app, &challenge, json!({ "code": right })).await;
    assert_problem(&late, StatusCode::BAD_REQUEST, "invalid_challenge");
}

async fn refuse(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    code: &str,
) {
    let mut call = Call::new(method.clone(), path).token(token);
    if let Some(body) = body {
        call = call.json(body);
    }
    let response = call.send(app).await;
    assert_problem(&response, StatusCode::FORBIDDEN, code);
}

/// A session that has not used the factor (signed in on another device before it was turned
/// on) is refused every sensitive action until it steps up; then each goes through.
async fn sensitive_routes_need_a_stepped_up_session(app: TestApp) {
    let (app, clock) = on_fixed_clock(app);
    let ada = enrolled(&app, &clock, "ada@example.com").await;
    // The registration session was raised by the verification; a session signed in with the
    // password alone (as before the factor existed) is aal1.
    let user = app
        .stores
        .users
        .get_user(&ada.account.id)
        .await
        .unwrap()
        .unwrap();
    let aal1 = app
        .sessions()
        .start(&user, Authentication::password(), SessionOrigin::default())
        .await
        .unwrap()
        .access_token;
    assert_eq!(status(&app, &aal1).await["aal"], "aal1");
    let id = ada.account.id.clone();
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::POST, "/api/auth/mfa/recovery-codes".into(), None),
        (
            Method::POST,
            "/api/users/me/email".into(),
            Some(json!({ "email": "ada2@example.com", "password": PASSWORD })),
        ),
        (
            Method::DELETE,
            "/api/auth/mfa/totp".into(),
            Some(json!({ "code": code(&ada.secret, &clock, 0) })),
        ),
        (
            Method::POST,
            "/api/auth/password".into(),
            Some(json!({ "currentPassword": PASSWORD, "newPassword": "another good passphrase" })),
        ),
        (
            Method::DELETE,
            format!("/api/users/{id}?self=true"),
            Some(json!({ "password": PASSWORD })),
        ),
    ];
    for (method, path, body) in &routes {
        refuse(
            &app,
            method.clone(),
            path,
            &aal1,
            body.clone(),
            "step_up_required",
        )
        .await;
    }
    let raised = step_up(&app, &aal1, json!({ "code": code(&ada.secret, &clock, 0) })).await;
    assert_eq!(raised.status(), StatusCode::OK, "{:?}", raised.body());
    let raised = body_json(&raised);
    assert_eq!(raised["amr"], json!(["pwd", "otp"]));
    let token = raised["accessToken"].as_str().unwrap();
    // The old access token of the session is raised too: the level is the session's.
    assert_eq!(status(&app, &aal1).await["aal"], "aal2");
    let regenerated = Call::new(Method::POST, "/api/auth/mfa/recovery-codes")
        .token(token)
        .send(&app)
        .await;
    assert_eq!(
        regenerated.status(),
        StatusCode::OK,
        "{:?}",
        regenerated.body()
    );
    let fresh: Vec<String> = body_json(&regenerated)["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert!(fresh.iter().all(|c| !ada.recovery.contains(c)));
    // The old set died with it.
    let old_code = step_up(&app, token, json!({ "recoveryCode": ada.recovery[1] })).await;
    assert_problem(
        &old_code,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let change = Call::new(Method::POST, "/api/users/me/email")
        .token(token)
        .json(json!({ "email": "ada2@example.com", "password": PASSWORD }))
        .send(&app)
        .await;
    assert_eq!(change.status(), StatusCode::ACCEPTED, "{:?}", change.body());
    let password = Call::new(Method::POST, "/api/auth/password")
        .token(token)
        .json(json!({ "currentPassword": PASSWORD, "newPassword": "another good passphrase" }))
        .send(&app)
        .await;
    assert_eq!(password.status(), StatusCode::OK, "{:?}", password.body());
    // The password change's new session keeps the level it was asked from.
    let token = body_json(&password)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(status(&app, &token).await["aal"], "aal2");
    let deleted = Call::new(Method::DELETE, &format!("/api/users/{id}?self=true"))
        .token(&token)
        .json(json!({ "password": "another good passphrase" }))
        .send(&app)
        .await;
    assert_eq!(
        deleted.status(),
        StatusCode::NO_CONTENT,
        "{:?}",
        deleted.body()
    );
}

/// An admin with a factor writes as an admin only from a stepped-up session; reads need no
/// step-up. An admin reset removes a user's factor and tells the user.
async fn admin_writes_need_aal2_and_an_admin_resets_a_factor(app: TestApp) {
    let (app, mails) = support::capturing(app);
    let (app, clock) = on_fixed_clock(app);
    let user = enrolled(&app, &clock, "ada@example.com").await;
    let admin = support::account_with_role(&app, "admin@example.com", Role::Admin).await;
    // The admin turns their own factor on; their registration session is then aal2, a new
    // one is aal1.
    let (admin_secret, _) = enrol(&app, &admin.access).await;
    let verified = verify(&app, &admin.access, &code(&admin_secret, &clock, 0)).await;
    assert_eq!(verified.status(), StatusCode::OK, "{:?}", verified.body());
    clock.advance(30_000);
    let stored_admin = app.stores.users.get_user(&admin.id).await.unwrap().unwrap();
    let aal1 = app
        .sessions()
        .start(
            &stored_admin,
            Authentication::password(),
            SessionOrigin::default(),
        )
        .await
        .unwrap()
        .access_token;
    let uid = &user.account.id;
    let lead = Call::new(Method::POST, "/api/leads")
        .json(json!({ "phone": "+14155552671", "source": "web" }))
        .send(&app)
        .await;
    let lead = body_json(&lead)["id"].as_str().unwrap().to_owned();
    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::PATCH,
            format!("/api/users/{uid}"),
            Some(json!({ "role": "moderator" })),
        ),
        (
            Method::PATCH,
            format!("/api/leads/{lead}"),
            Some(json!({ "status": "contacted" })),
        ),
        (
            Method::DELETE,
            format!(
                "/api/users/{uid}/sessions/{}",
                session_of(&app, &user.account.access).await
            ),
            None,
        ),
        (Method::DELETE, format!("/api/users/{uid}/mfa"), None),
    ];
    for (method, path, body) in &writes {
        refuse(
            &app,
            method.clone(),
            path,
            &aal1,
            body.clone(),
            "step_up_required",
        )
        .await;
    }
    for read in [
        "/api/users?limit=5".to_owned(),
        format!("/api/users/{uid}/sessions"),
    ] {
        let read = Call::new(Method::GET, &read).token(&aal1).send(&app).await;
        assert_eq!(read.status(), StatusCode::OK, "{:?}", read.body());
    }
    let token = body_json(
        &step_up(
            &app,
            &aal1,
            json!({ "code": code(&admin_secret, &clock, 0) }),
        )
        .await,
    )["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    for (method, path, body) in writes {
        let mut call = Call::new(method, &path).token(&token);
        if let Some(body) = body {
            call = call.json(body);
        }
        let response = call.send(&app).await;
        assert!(
            response.status().is_success(),
            "{path}: {:?}",
            response.body()
        );
    }
    // The user's factor is gone: the password alone signs in, and they were told.
    assert!(login(&app, "ada@example.com").await["accessToken"].is_string());
    let again = Call::new(Method::DELETE, &format!("/api/users/{uid}/mfa"))
        .token(&token)
        .send(&app)
        .await;
    assert_problem(&again, StatusCode::CONFLICT, "no_factor");
    let jobs = mails.jobs().await;
    assert!(jobs.iter().any(|job| matches!(&job.work,
        Work::Email(mail) if mail.to == "ada@example.com" && matches!(mail.message, MailMessage::MfaReset))));
    let events = app
        .stores
        .audit
        .list_events(&Default::default(), None, 100)
        .await
        .unwrap();
    assert!(events.items.iter().any(|e| e.action.as_str() == "mfa_reset"
        && e.actor.as_deref() == Some(admin.id.as_str())
        && e.target.as_deref() == Some(uid.as_str())));
    // Not an admin: no reset.
    let bob = support::account(&app, "bob@example.com", "Bob").await;
    let refused = Call::new(Method::DELETE, &format!("/api/users/{uid}/mfa"))
        .token(&bob.access)
        .send(&app)
        .await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "forbidden");
}

/// The id of the session `token` came in on.
async fn session_of(app: &TestApp, token: &str) -> String {
    let listed = Call::new(Method::GET, "/api/auth/sessions")
        .token(token)
        .send(app)
        .await;
    assert_eq!(listed.status(), StatusCode::OK, "{:?}", listed.body());
    let listed = body_json(&listed);
    let current = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true);
    current.expect("the current session is listed")["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An admin demoted between reading and writing cannot still remove a user's factor: the
/// removal holds only while its actor is an admin.
async fn a_demoted_admin_cannot_finish_resetting_a_factor(app: TestApp) {
    let (app, clock) = on_fixed_clock(app);
    let user = enrolled(&app, &clock, "ada@example.com").await;
    let admin = support::account_with_role(&app, "admin@example.com", Role::Admin).await;
    app.stores
        .users
        .set_role(&admin.id, Role::User, now_ms())
        .await
        .unwrap();
    let held = RoleHeld {
        actor_id: admin.id.clone(),
        roles: &[Role::Admin],
    };
    let removed = app
        .stores
        .mfa
        .remove_totp(
            &user.account.id,
            FactorRemoval::Any,
            Some(&held),
            &Effects::none(),
        )
        .await;
    assert!(matches!(removed, Err(StoreError::Conflict)), "{removed:?}");
    assert!(stored_factor(&app, &user.account.id).await.is_active());
    let refused = Call::new(
        Method::DELETE,
        &format!("/api/users/{}/mfa", user.account.id),
    )
    .token(&admin.access)
    .send(&app)
    .await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "forbidden");
    assert!(stored_factor(&app, &user.account.id).await.is_active());
}

/// Deleting the account removes its factor (sealed secret and recovery codes) in the same
/// write.
async fn deleting_the_account_removes_its_factor(app: TestApp) {
    let (app, clock) = on_fixed_clock(app);
    let user = enrolled(&app, &clock, "ada@example.com").await;
    let id = &user.account.id;
    let deleted = Call::new(Method::DELETE, &format!("/api/users/{id}?self=true"))
        .token(&user.access)
        .json(json!({ "password": PASSWORD }))
        .send(&app)
        .await;
    assert_eq!(
        deleted.status(),
        StatusCode::NO_CONTENT,
        "{:?}",
        deleted.body()
    );
    let table = support::table_of(&app).await;
    let key = Key::new(format!("USER#{id}"), "MFA#TOTP");
    let item = table
        .get(&key, shared::store::table::Read::Consistent)
        .await
        .unwrap();
    assert!(item.is_none(), "{item:?}");
}

/// "Your devices" shows how each session signed in: the challenge's session at aal2 by
/// password and code, one from before the factor at aal1; a step-up raises the latter.
async fn the_devices_list_shows_each_sessions_level(app: TestApp) {
    let (app, clock) = on_fixed_clock(app);
    let user = enrolled(&app, &clock, "ada@example.com").await;
    let challenge = login(&app, "ada@example.com").await;
    let signed_in = answer(
        &app,
        challenge["challenge"].as_str().unwrap(),
        json!({ "code": code(&user.secret, &clock, 0) }),
    )
    .await;
    assert_eq!(signed_in.status(), StatusCode::OK, "{:?}", signed_in.body());
    let aal2 = body_json(&signed_in)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    clock.advance(30_000);
    let stored = app
        .stores
        .users
        .get_user(&user.account.id)
        .await
        .unwrap()
        .unwrap();
    let aal1 = app
        .sessions()
        .start(
            &stored,
            Authentication::password(),
            SessionOrigin::default(),
        )
        .await
        .unwrap()
        .access_token;
    let (challenge_session, older_session) =
        (session_of(&app, &aal2).await, session_of(&app, &aal1).await);
    let levels = |listed: &Value| -> Vec<(String, String, Value)> {
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["id"].as_str().unwrap().to_owned(),
                    s["aal"].as_str().unwrap().to_owned(),
                    s["amr"].clone(),
                )
            })
            .collect()
    };
    let list = |token: String| {
        let app = &app;
        async move {
            body_json(
                &Call::new(Method::GET, "/api/auth/sessions")
                    .token(&token)
                    .send(app)
                    .await,
            )
        }
    };
    let before = levels(&list(aal2.clone()).await);
    assert!(
        before.contains(&(
            challenge_session.clone(),
            "aal2".into(),
            json!(["pwd", "otp"])
        )),
        "{before:?}"
    );
    assert!(
        before.contains(&(older_session.clone(), "aal1".into(), json!(["pwd"]))),
        "{before:?}"
    );
    let raised = step_up(
        &app,
        &aal1,
        json!({ "code": code(&user.secret, &clock, 0) }),
    )
    .await;
    assert_eq!(raised.status(), StatusCode::OK, "{:?}", raised.body());
    let after = levels(&list(aal2).await);
    assert!(
        after.contains(&(older_session, "aal2".into(), json!(["pwd", "otp"]))),
        "{after:?}"
    );
}

/// `REQUIRE_ADMIN_MFA=on`: an admin without a factor is refused the admin routes, but may
/// enrol; once enrolled (the session raised), they are let in.
async fn admins_without_a_factor_are_sent_to_enrol(app: TestApp) {
    let (app, clock) = on_fixed_clock(app);
    let admin = support::account_with_role(&app, "admin@example.com", Role::Admin).await;
    for path in ["/api/users?limit=5", "/api/audit?limit=5", "/api/leads"] {
        refuse(
            &app,
            Method::GET,
            path,
            &admin.access,
            None,
            "mfa_enrolment_required",
        )
        .await;
    }
    // A user's own routes are not admin routes.
    let me = Call::new(Method::GET, "/api/users/me")
        .token(&admin.access)
        .send(&app)
        .await;
    assert_eq!(me.status(), StatusCode::OK);
    let (secret, _) = enrol(&app, &admin.access).await;
    let verified = verify(&app, &admin.access, &code(&secret, &clock, 0)).await;
    let token = body_json(&verified)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = Call::new(Method::GET, "/api/users?limit=5")
        .token(&token)
        .send(&app)
        .await;
    assert_eq!(listed.status(), StatusCode::OK, "{:?}", listed.body());
    // A fresh password-only session of the same admin: step up first.
    let stored = app.stores.users.get_user(&admin.id).await.unwrap().unwrap();
    let aal1 = app
        .sessions()
        .start(
            &stored,
            Authentication::password(),
            SessionOrigin::default(),
        )
        .await
        .unwrap()
        .access_token;
    refuse(
        &app,
        Method::GET,
        "/api/users?limit=5",
        &aal1,
        None,
        "step_up_required",
    )
    .await;
}

async fn bad_input_gets_problem_documents(app: TestApp) {
    let (app, clock) = on_fixed_clock(app);
    let ada = enrolled(&app, &clock, "ada@example.com").await;
    let challenge = login(&app, "ada@example.com").await["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    let field = |response: &support::TestResponse, field: &str, code: &str| {
        let problem = assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(
            (
                problem["errors"][0]["field"].as_str(),
                problem["errors"][0]["code"].as_str()
            ),
            (Some(field), Some(code)),
            "{problem}"
        );
    };
    field(
        &answer(&app, &challenge, json!({ "code": "12a456" })).await,
        "code",
        "not_digits",
    );
    field(
        &answer(&app, &challenge, json!({ "code": "12345" })).await,
        "code",
        "wrong_length",
    );
    field(
        &answer(&app, &challenge, json!({ "code": "1234567" })).await,
        "code",
        "wrong_length",
    );
    field(
        &answer(&app, &challenge, json!({ "recoveryCode": "short" })).await,
        "recoveryCode",
        "wrong_length",
    );
    field(
        &answer(
            &app,
            &challenge,
            json!({ "code": "123456", "recoveryCode": ada.recovery[0] }),
        )
        .await,
        "recoveryCode",
        "not_allowed",
    );
    field(
        &answer(&app, &challenge, json!({})).await,
        "code",
        "required",
    );
    field(
        &answer(&app, &challenge, json!({ "code": 123456 })).await,
        "body",
        "invalid_shape",
    );
    field(
        &step_up(&app, &ada.access, json!({ "code": "١٢٣٤٥٦" })).await,
        "code",
        "not_digits",
    );
    field(&verify(&app, &ada.access, "").await, "code", "wrong_length");
    let unknown = Call::new(Method::POST, "/api/auth/mfa/challenge")
        .json(json!({ "code": "123456" }))
        .send(&app)
        .await;
    field(&unknown, "challenge", "required");
    for made_up in [
        "not a challenge",
        &"A".repeat(10_000),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let response = answer(&app, made_up, json!({ "code": "123456" })).await;
        assert_problem(&response, StatusCode::BAD_REQUEST, "invalid_challenge");
    }
    let huge = Call::new(Method::POST, "/api/auth/mfa/challenge")
        .json(json!({ "challenge": challenge, "code": "1".repeat(2 * 1024 * 1024) }))
        .send(&app)
        .await;
    assert_problem(&huge, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let unknown_field = answer(&app, &challenge, json!({ "code": "123456", "extra": 1 })).await;
    assert_problem(
        &unknown_field,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    // None of these counted as a guess: the challenge still completes.
    let done = answer(
        &app,
        &challenge,
        json!({ "code": code(&ada.secret, &clock, 0) }),
    )
    .await;
    assert_eq!(done.status(), StatusCode::OK, "{:?}", done.body());
    // Without a session, none of the signed-in routes.
    let anonymous = Call::new(Method::POST, "/api/auth/mfa/totp")
        .json(json!({ "password": PASSWORD }))
        .send(&app)
        .await;
    assert_problem(&anonymous, StatusCode::UNAUTHORIZED, "missing_token");
    // No pending enrolment to verify; no factor to step up with.
    let bob = support::account(&app, "bob@example.com", "Bob").await;
    assert_problem(
        &verify(&app, &bob.access, "123456").await,
        StatusCode::CONFLICT,
        "no_pending_enrolment",
    );
    assert_problem(
        &step_up(&app, &bob.access, json!({ "code": "123456" })).await,
        StatusCode::CONFLICT,
        "no_active_factor",
    );
}

on_both_stores! {
    enrolling_asks_for_the_current_password => Config { rate_limits: RateLimits::default(), ..Config::for_tests() },
    cancelling_a_pending_factor_never_removes_one_activated_meanwhile => Config::for_tests(),
    the_whole_flow_ends_in_an_aal2_session => Config::for_tests(),
    the_secret_is_stored_sealed => Config::for_tests(),
    codes_are_taken_within_one_step_of_skew_and_once => Config::for_tests(),
    ten_concurrent_submissions_of_one_code_take_it_once => Config::for_tests(),
    racing_uses_of_one_recovery_code_take_it_once => Config::for_tests(),
    concurrent_enrolments_leave_one_pending_secret => Config::for_tests(),
    guesses_count_against_the_accounts_lock => Config { rate_limits: RateLimits::default(), ..Config::for_tests() },
    wrong_codes_sent_at_once_are_checked_five_times_at_most => Config::for_tests(),
    a_challenge_dies_after_five_wrong_codes => Config::for_tests(),
    sensitive_routes_need_a_stepped_up_session => Config::for_tests(),
    admin_writes_need_aal2_and_an_admin_resets_a_factor => Config::for_tests(),
    admins_without_a_factor_are_sent_to_enrol => Config { require_admin_mfa: true, ..Config::for_tests() },
    bad_input_gets_problem_documents => Config::for_tests(),
    a_demoted_admin_cannot_finish_resetting_a_factor => Config::for_tests(),
    deleting_the_account_removes_its_factor => Config::for_tests(),
    the_devices_list_shows_each_sessions_level => Config::for_tests(),
}
