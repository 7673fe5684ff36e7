//! Verification, reset and address change through the shipped handlers on both stores,
//! including the races a hostile client would try: one token, many requests.

use crate::support;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use futures_util::future::join_all;
use serde_json::json;
use shared::clock::now_ms;
use shared::config::Config;
use shared::jobs::{Job, MailMessage};
use shared::store::{Claim, Effects};
use support::links;
use support::{Call, Captured, TestApp, account, assert_problem, body_json};

async fn post(app: &TestApp, path: &str, body: serde_json::Value) -> StatusCode {
    Call::new(Method::POST, path)
        .json(body)
        .send(app)
        .await
        .status()
}

/// Many requests with one token, all at once; their statuses, sorted. Each is 204 (it spent
/// the token) or 400 (the token was spent, by another of them since nothing else spends it):
/// so exactly one is 204.
async fn all_at_once(app: &Arc<TestApp>, path: &'static str, body: serde_json::Value) -> Vec<u16> {
    let calls = (0..12).map(|_| {
        let (app, body) = (app.clone(), body.clone());
        tokio::spawn(async move { post(&app, path, body).await.as_u16() })
    });
    let mut statuses: Vec<u16> = join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    statuses.sort();
    assert!(
        statuses.iter().all(|s| *s == 204 || *s == 400),
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "{statuses:?}"
    );
    statuses
}

/// How many mails of the kind `pick` accepts went to `to`.
async fn mails_to(mails: &Captured, to: &str, pick: impl Fn(&MailMessage) -> bool) -> usize {
    mails
        .jobs().await
        .iter()
        .filter(|job| {
            matches!(&job.work, shared::jobs::Work::Email(mail) if mail.to == to && pick(&mail.message))
        })
        .count()
}

async fn verification_spends_its_token_once(app: TestApp) {
    let (app, mails) = support::capturing(app);
    let app = Arc::new(app);
    let ada = account(&app, "verify@example.com", "Ada").await;
    let token = mails
        .token_mailed_to("verify@example.com", links::verify)
        .await;
    let resend = Call::new(Method::POST, "/api/auth/verify-email/resend")
        .token(&ada.access)
        .json(json!({}))
        .send(&app)
        .await;
    assert_problem(
        &resend,
        StatusCode::TOO_MANY_REQUESTS,
        "verification_recently_sent",
    );
    all_at_once(&app, "/api/auth/verify-email", json!({ "token": token })).await;
    let me = Call::new(Method::GET, "/api/users/me")
        .token(&ada.access)
        .send(&app)
        .await;
    assert_eq!(body_json(&me)["emailVerified"], true);
    // A verification token is not a reset token.
    let misuse = Call::new(Method::POST, "/api/auth/reset-password")
        .json(json!({ "token": token, "password": "a brand new passphrase" }))
        .send(&app)
        .await;
    assert_problem(&misuse, StatusCode::BAD_REQUEST, "invalid_token");
}

async fn a_reset_link_works_once_and_only_the_newest(app: TestApp) {
    let (app, mails) = support::capturing(app);
    let app = Arc::new(app);
    account(&app, "reset@example.com", "Reset").await;
    let forgot = json!({ "email": "reset@example.com" });
    assert_eq!(
        post(&app, "/api/auth/forgot-password", forgot.clone()).await,
        StatusCode::ACCEPTED
    );
    let older = mails
        .token_mailed_to("reset@example.com", links::reset)
        .await;
    assert_eq!(
        post(&app, "/api/auth/forgot-password", forgot).await,
        StatusCode::ACCEPTED
    );
    let newer = mails
        .token_mailed_to("reset@example.com", links::reset)
        .await;
    assert_ne!(older, newer);
    let stale = Call::new(Method::POST, "/api/auth/reset-password")
        .json(json!({ "token": older, "password": "a brand new passphrase" }))
        .send(&app)
        .await;
    assert_problem(&stale, StatusCode::BAD_REQUEST, "invalid_token");
    all_at_once(
        &app,
        "/api/auth/reset-password",
        json!({ "token": newer, "password": "a brand new passphrase" }),
    )
    .await;
    // One reset went through: one "password changed" mail.
    let changed = mails_to(&mails, "reset@example.com", |m| {
        matches!(m, MailMessage::PasswordChanged)
    })
    .await;
    assert_eq!(changed, 1);
    let login = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": "reset@example.com", "password": "a brand new passphrase" }))
        .send(&app)
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    // Forgot-password for nobody mails nobody, and answers the same.
    let before = mails.jobs().await.len();
    let nobody = Call::new(Method::POST, "/api/auth/forgot-password")
        .json(json!({ "email": "nobody@example.com" }))
        .send(&app)
        .await;
    assert_eq!(nobody.status(), StatusCode::ACCEPTED);
    assert_eq!(mails.jobs().await.len(), before);
}

/// Forgot-password cannot bomb a mailbox: one reset mail a minute per account, same answer.
async fn reset_mails_are_one_a_minute(app: TestApp) {
    let (app, mails) = support::capturing(app);
    account(&app, "bombed@example.com", "Bombed").await;
    for _ in 0..5 {
        let response = Call::new(Method::POST, "/api/auth/forgot-password")
            .json(json!({ "email": "bombed@example.com" }))
            .send(&app)
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let resets = mails
        .jobs()
        .await
        .into_iter()
        .filter(|job| {
            matches!(&job.work, shared::jobs::Work::Email(mail)
                if matches!(mail.message, MailMessage::ResetPassword { .. }))
        })
        .count();
    assert_eq!(resets, 1);
}

async fn an_address_change_is_confirmed_by_the_new_address(app: TestApp) {
    let (app, mails) = support::capturing(app);
    let app = Arc::new(app);
    let ada = account(&app, "old@example.com", "Ada").await;
    let ask = |email: &'static str| {
        Call::new(Method::POST, "/api/users/me/email")
            .token(&ada.access)
            .json(json!({ "email": email, "password": "correct horse battery" }))
    };
    assert_eq!(
        ask("first@example.com").send(&app).await.status(),
        StatusCode::ACCEPTED
    );
    let superseded = mails
        .token_mailed_to("first@example.com", links::change)
        .await;
    assert_eq!(
        ask("second@example.com").send(&app).await.status(),
        StatusCode::ACCEPTED
    );
    let token = mails
        .token_mailed_to("second@example.com", links::change)
        .await;
    let stale = Call::new(Method::POST, "/api/auth/verify-email")
        .json(json!({ "token": superseded }))
        .send(&app)
        .await;
    assert_problem(&stale, StatusCode::BAD_REQUEST, "invalid_token");
    all_at_once(&app, "/api/auth/verify-email", json!({ "token": token })).await;
    let me = Call::new(Method::GET, "/api/users/me")
        .token(&ada.access)
        .send(&app)
        .await;
    let me = body_json(&me);
    assert_eq!(me["email"], "second@example.com");
    assert_eq!(me["emailVerified"], true);
    // The one change that went through tells the old address, once.
    let told = mails_to(
        &mails,
        "old@example.com",
        |m| matches!(m, MailMessage::EmailChanged { new_email } if new_email == "second@example.com"),
    ).await;
    assert_eq!(told, 1, "the old address is told once");
    // The old address is free again.
    account(&app, "old@example.com", "Someone else").await;
}

/// A delivery that finds the claim of a run that died (killed mid-send) comes back when that
/// run's lease ends, not before: the queue's receives are not spent while the lease holds, so
/// the job is not dead-lettered before anyone may run it again.
async fn a_job_held_by_a_dead_run_is_retried_when_its_lease_ends(app: TestApp) {
    use shared::jobs::{Deliveries, JobFailure, run_job};
    let job = Job::email("held@example.com", "Held", MailMessage::PasswordChanged, 1);
    let now = now_ms();
    let lease = 300_000;
    // The run that died.
    app.stores
        .job_records
        .claim_job(&job.id, now, lease)
        .await
        .unwrap();
    let later = now + 10_000;
    let failure = run_job(
        &*app.stores.job_records,
        &Deliveries::default(),
        &job,
        later,
    )
    .await
    .unwrap_err();
    match failure {
        JobFailure::Retry {
            after: Some(after), ..
        } => assert!(
            after.as_millis() as i64 >= now + lease - later,
            "back before the lease ends: {after:?}"
        ),
        other => panic!("{other:?}"),
    }
}

/// Job claims: one run per job id, a finished job never runs again, a dead run's lease ends.
async fn job_claims_run_each_job_once(app: TestApp) {
    let records = &app.stores.job_records;
    let now = now_ms();
    assert_eq!(
        records.claim_job("job-1", now, 60_000).await.unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        records.claim_job("job-1", now, 60_000).await.unwrap(),
        Claim::Busy {
            until: now + 60_000
        }
    );
    // The run died: once its lease is over, the next delivery claims it.
    assert_eq!(
        records
            .claim_job("job-1", now + 61_000, 60_000)
            .await
            .unwrap(),
        Claim::Claimed
    );
    records.finish_job("job-1", now).await.unwrap();
    assert_eq!(
        records
            .claim_job("job-1", now + 999_999, 60_000)
            .await
            .unwrap(),
        Claim::Done
    );
    records.release_job("job-1").await.unwrap();
    assert_eq!(
        records.claim_job("job-1", now, 60_000).await.unwrap(),
        Claim::Done,
        "release keeps done"
    );
    // A failed run gives its claim back at once.
    assert_eq!(
        records.claim_job("job-2", now, 60_000).await.unwrap(),
        Claim::Claimed
    );
    records.release_job("job-2").await.unwrap();
    assert_eq!(
        records.claim_job("job-2", now, 60_000).await.unwrap(),
        Claim::Claimed
    );
}

/// A job written with its change is in the outbox until removed, oldest first.
async fn the_outbox_keeps_jobs_until_removed(app: TestApp) {
    let user = shared::domain::User::new(
        shared::domain::Email::parse("outbox@example.com").unwrap(),
        shared::domain::DisplayName::parse("Outbox").unwrap(),
        "hash".into(),
        now_ms(),
    );
    let first = Job::email(
        "outbox@example.com",
        "Outbox",
        MailMessage::PasswordChanged,
        1_000,
    );
    let second = Job::email(
        "outbox@example.com",
        "Outbox",
        MailMessage::AccountDeleted,
        2_000,
    );
    let effects = Effects::jobs(vec![second.clone(), first.clone()]);
    app.stores.users.create_user(&user, &effects).await.unwrap();
    let due = app.stores.outbox.outbox_due(1_500, 10).await.unwrap();
    assert_eq!(due, std::slice::from_ref(&first));
    let due = app.stores.outbox.outbox_due(i64::MAX, 10).await.unwrap();
    assert_eq!(due, [first.clone(), second.clone()]);
    app.stores
        .outbox
        .remove_from_outbox(&first.id)
        .await
        .unwrap();
    assert_eq!(
        app.stores.outbox.outbox_due(i64::MAX, 10).await.unwrap(),
        [second]
    );
    // A failed write leaves no job behind.
    let clash =
        shared::domain::User::new(user.email.clone(), user.name.clone(), "h".into(), now_ms());
    let orphan = Job::email(
        "outbox@example.com",
        "Outbox",
        MailMessage::PasswordChanged,
        3_000,
    );
    assert!(
        app.stores
            .users
            .create_user(&clash, &Effects::jobs(vec![orphan]))
            .await
            .is_err()
    );
    assert_eq!(
        app.stores
            .outbox
            .outbox_due(i64::MAX, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Security events: the user gets a mail and the admins a Telegram notice, for a password
/// change, a replayed refresh token and a deletion.
async fn security_events_tell_the_user_and_the_admins(app: TestApp) {
    use shared::jobs::{Notice, SecurityEvent, Work};
    let (app, sent) = support::capturing(app);
    let ada = account(&app, "secure@example.com", "Ada").await;
    let told = async |event: SecurityEvent, mail: fn(&MailMessage) -> bool| {
        let jobs = sent.jobs().await;
        let noticed = jobs.iter().any(|job| {
            matches!(&job.work, Work::Telegram(Notice::Security { email, event: e })
                if email == "secure@example.com" && *e == event)
        });
        let mailed = jobs.iter().any(|job| {
            matches!(&job.work, Work::Email(m) if m.to == "secure@example.com" && mail(&m.message))
        });
        noticed && mailed
    };
    let changed = Call::new(Method::POST, "/api/auth/password")
        .token(&ada.access)
        .json(json!({ "currentPassword": "correct horse battery", "newPassword": "another good passphrase" }))
        .send(&app)
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert!(
        told(SecurityEvent::PasswordChanged, |m| matches!(
            m,
            MailMessage::PasswordChanged
        ))
        .await
    );
    let session = body_json(&changed);
    let first = session["refreshToken"].as_str().unwrap().to_owned();
    let rotated = support::refresh_with(&app, &first).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    // Replaying the spent token after the grace window is reuse.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let replayed = support::refresh_with(&app, &first).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    assert!(
        told(SecurityEvent::RefreshTokenReused, |m| matches!(
            m,
            MailMessage::RefreshTokenReused
        ))
        .await
    );
    // The reuse revoked that session: delete from a fresh one.
    let login = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": "secure@example.com", "password": "another good passphrase" }))
        .send(&app)
        .await;
    let access = body_json(&login)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let deleted = Call::new(Method::DELETE, &format!("/api/users/{}?self=true", ada.id))
        .token(&access)
        .json(json!({ "password": "another good passphrase" }))
        .send(&app)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(
        told(SecurityEvent::AccountDeleted, |m| matches!(
            m,
            MailMessage::AccountDeleted
        ))
        .await
    );
    // The relay ran the deletion's clean-up job from the stream as it relayed the notices:
    // it is done, and gone from the outbox.
    let cleanup = app.stores.outbox.outbox_due(i64::MAX, 10).await.unwrap();
    assert!(
        !cleanup
            .iter()
            .any(|job| matches!(&job.work, Work::AccountCleanup { user_id } if *user_id == ada.id)),
        "{cleanup:?}"
    );
}

fn config() -> Config {
    Config::for_tests()
}

on_both_stores! {
    verification_spends_its_token_once => config(),
    a_reset_link_works_once_and_only_the_newest => Config {
        reset_mail_gap: std::time::Duration::ZERO,
        ..config()
    },
    reset_mails_are_one_a_minute => config(),
    an_address_change_is_confirmed_by_the_new_address => config(),
    job_claims_run_each_job_once => config(),
    a_job_held_by_a_dead_run_is_retried_when_its_lease_ends => config(),
    security_events_tell_the_user_and_the_admins => Config {
        refresh_grace: std::time::Duration::from_secs(1),
        ..config()
    },
    the_outbox_keeps_jobs_until_removed => config(),
}
