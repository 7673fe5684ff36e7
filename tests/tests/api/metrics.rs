//! The dashboard's counters, the metrics job and the dashboard routes, on both stores: counts
//! stay exact under concurrent writes and retried edits, the job's numbers match what was done,
//! a bucket is written once, and only admins read any of it.

use crate::support;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use futures_util::future::join_all;
use serde_json::{Value, json};
use shared::clock::now_ms;
use shared::config::Config;
use shared::domain::Role;
use shared::metrics::{QueueDepth, QueueDepths, ScheduledEvent, Snapshot, run_metrics_job};
use support::{Call, TestApp, account, account_with_role, assert_problem, body_json, header};

const PASSWORD: &str = "correct horse battery";

/// Fixed queue depths: what an SQS or local queue reader would report.
struct Depths(Vec<QueueDepth>);

#[async_trait::async_trait]
impl QueueDepths for Depths {
    async fn depths(&self) -> Result<Vec<QueueDepth>, shared::BoxError> {
        Ok(self.0.clone())
    }
}

fn no_queues() -> Depths {
    Depths(Vec::new())
}

async fn snapshot_now(app: &TestApp) -> Snapshot {
    app.count().await;
    run_metrics_job(&*app.stores.metrics, &no_queues(), now_ms())
        .await
        .unwrap()
        .0
}

async fn login(app: &TestApp, email: &str, password: &str) -> StatusCode {
    Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": email, "password": password }))
        .send(app)
        .await
        .status()
}

async fn create_post(app: &TestApp, token: &str, status: &str) -> Value {
    let response = Call::new(Method::POST, "/api/posts")
        .token(token)
        .json(json!({ "title": "A post", "content": "text", "status": status }))
        .send(app)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        response.body()
    );
    body_json(&response)
}

/// 50 registrations and 50 users logging in twice, all at once; failed logins; posts created,
/// published and deleted: every count is exact.
async fn counts_are_exact_under_concurrency(app: TestApp) {
    let app = Arc::new(app);
    let registrations = (0..50).map(|i| {
        let app = app.clone();
        tokio::spawn(async move { account(&app, &format!("user{i}@example.com"), "User").await })
    });
    let users: Vec<_> = join_all(registrations)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    // Everyone logs in, then everyone again: active users count each once.
    for _round in 0..2 {
        let logins = (0..50).map(|i| {
            let app = app.clone();
            tokio::spawn(
                async move { login(&app, &format!("user{i}@example.com"), PASSWORD).await },
            )
        });
        for status in join_all(logins).await {
            assert_eq!(status.unwrap(), StatusCode::OK);
        }
    }
    let failures = (0..7).map(|i| {
        let app = app.clone();
        tokio::spawn(async move {
            login(&app, &format!("user{i}@example.com"), "wrong password!").await
        })
    });
    for status in join_all(failures).await {
        assert_eq!(status.unwrap(), StatusCode::UNAUTHORIZED);
    }
    let posts = (0..10).map(|i| {
        let (app, token) = (app.clone(), users[i].access.clone());
        let status = if i < 6 { "published" } else { "draft" };
        tokio::spawn(async move { create_post(&app, &token, status).await })
    });
    let posts: Vec<Value> = join_all(posts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    // Two drafts published, one published post deleted.
    for (i, post) in [(6, &posts[6]), (7, &posts[7])] {
        let response = Call::new(
            Method::PATCH,
            &format!("/api/posts/{}", post["id"].as_str().unwrap()),
        )
        .token(&users[i].access)
        .json(json!({ "status": "published" }))
        .send(&app)
        .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let deleted = Call::new(
        Method::DELETE,
        &format!("/api/posts/{}", posts[0]["id"].as_str().unwrap()),
    )
    .token(&users[0].access)
    .send(&app)
    .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    // A password change counts nothing; a deletion takes the user and their visible posts out.
    let changed = Call::new(Method::POST, "/api/auth/password")
        .token(&users[1].access)
        .json(json!({ "currentPassword": PASSWORD, "newPassword": "another long passphrase" }))
        .send(&app)
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let leaving = Call::new(
        Method::DELETE,
        &format!("/api/users/{}?self=true", users[9].id),
    )
    .token(&users[9].access)
    .json(json!({ "password": PASSWORD }))
    .send(&app)
    .await;
    assert_eq!(leaving.status(), StatusCode::NO_CONTENT);

    let snapshot = snapshot_now(&app).await;
    let today = snapshot.days.last().unwrap();
    assert_eq!(snapshot.days.len(), 90);
    assert_eq!(
        (today.signups, today.active_users, today.failed_logins),
        (50, 50, 7),
        "{today:?}"
    );
    assert_eq!((today.posts_created, today.posts_published), (10, 8));
    let totals = &snapshot.totals;
    assert_eq!(
        (
            totals.users,
            totals.posts,
            totals.published,
            totals.drafts,
            totals.archived
        ),
        // users[9]'s draft was hidden with them: 8 posts stay visible.
        (49, 8, 7, 1, 0)
    );
    // Earlier days are all zero: nothing is counted twice or on the wrong day.
    assert!(
        snapshot.days[..89]
            .iter()
            .all(|d| d.signups == 0 && d.active_users == 0)
    );
}

/// Status changes racing on one post: losers re-read and retry, and every post is counted in
/// exactly the status it ends in, and as published once at most, however often it went back and
/// forth.
async fn racing_edits_count_each_post_once(app: TestApp) {
    let app = Arc::new(app);
    let author = account(&app, "author@example.com", "Author").await;
    let post = create_post(&app, &author.access, "draft").await;
    let id = post["id"].as_str().unwrap().to_owned();
    let path = format!("/api/posts/{id}");
    let edit = |status: &'static str| {
        let (app, path, token) = (app.clone(), path.clone(), author.access.clone());
        async move {
            let response = Call::new(Method::PATCH, &path)
                .token(&token)
                .json(json!({ "status": status }))
                .send(&app)
                .await;
            (status, response.status(), body_json(&response))
        }
    };
    let edits = (0..12).map(|i| tokio::spawn(edit(["published", "archived", "draft"][i % 3])));
    // An edit that keeps losing gives up with 409 after a few re-reads; that is an outcome too,
    // and all of them may lose that way.
    let outcomes: Vec<_> = join_all(edits)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let summary: Vec<_> = outcomes.iter().map(|(s, code, _)| (*s, *code)).collect();
    assert!(
        outcomes
            .iter()
            .all(|(_, code, _)| *code == StatusCode::OK || *code == StatusCode::CONFLICT),
        "{summary:?}"
    );
    // Each winner wrote the version after the one it read: the winners' versions are 2, 3, ...
    let mut winners: Vec<(u64, &str)> = outcomes
        .iter()
        .filter(|(_, code, _)| *code == StatusCode::OK)
        .map(|(status, _, body)| {
            assert_eq!(body["status"], *status, "{body}");
            (body["version"].as_u64().unwrap(), *status)
        })
        .collect();
    winners.sort_unstable();
    let versions: Vec<u64> = winners.iter().map(|(v, _)| *v).collect();
    let expected: Vec<u64> = (2..2 + winners.len() as u64).collect();
    assert_eq!(versions, expected, "{summary:?}");

    // The post is as the last winner left it; untouched if nobody won.
    let stored = app.stores.posts.get_post(&id).await.unwrap().unwrap();
    let last = winners.last().map_or("draft", |(_, status)| *status);
    assert_eq!(
        (stored.status.as_str(), stored.version),
        (last, 1 + winners.len() as u64),
        "{summary:?}"
    );
    let published = winners.iter().any(|(_, status)| *status == "published");
    assert_eq!(stored.published_at.is_some(), published, "{summary:?}");
    let snapshot = snapshot_now(&app).await;
    let totals = &snapshot.totals;
    let in_status = |status: &str| i64::from(stored.status.as_str() == status);
    assert_eq!(
        (
            totals.posts,
            totals.published,
            totals.drafts,
            totals.archived
        ),
        (
            1,
            in_status("published"),
            in_status("draft"),
            in_status("archived")
        ),
        "{summary:?}"
    );
    // Published once if any "published" edit went through, else never.
    let today = snapshot.days.last().unwrap();
    assert_eq!(today.posts_published, i64::from(published), "{summary:?}");

    // Once more, uncontended: now it is published for certain, and still counted once.
    let again = Call::new(Method::PATCH, &path)
        .token(&author.access)
        .json(json!({ "status": "published" }))
        .send(&app)
        .await;
    assert_eq!(again.status(), StatusCode::OK, "{:?}", again.body());
    assert_eq!(body_json(&again)["version"], 2 + winners.len() as u64);
    let snapshot = snapshot_now(&app).await;
    let totals = &snapshot.totals;
    assert_eq!(
        (
            totals.posts,
            totals.published,
            totals.drafts,
            totals.archived
        ),
        (1, 1, 0, 0)
    );
    assert_eq!(snapshot.days.last().unwrap().posts_published, 1);
}

/// The job on a known data set gives the expected numbers and queue depths; run again for the
/// same bucket it changes nothing.
async fn a_rerun_in_a_bucket_brings_it_up_to_date(app: TestApp) {
    account(&app, "a@example.com", "A").await;
    account(&app, "b@example.com", "B").await;
    login(&app, "a@example.com", PASSWORD).await;
    login(&app, "a@example.com", "nope nope nope").await;
    let depths = Depths(vec![QueueDepth {
        queue: "email".into(),
        waiting: 2,
        dead_letters: 3,
    }]);
    let at = now_ms();
    app.count().await;
    let (first, written) = run_metrics_job(&*app.stores.metrics, &depths, at)
        .await
        .unwrap();
    assert!(written);
    let today = first.days.last().unwrap();
    assert_eq!(
        (today.signups, today.active_users, today.failed_logins),
        (2, 1, 1)
    );
    assert_eq!(first.totals.users, 2);
    assert_eq!(first.queues, depths.0);

    // More happens, and the job runs again in the same bucket (a manual run, a retry): the
    // bucket's snapshot is replaced by the fresher numbers.
    account(&app, "c@example.com", "C").await;
    app.count().await;
    let (again, written) = run_metrics_job(&*app.stores.metrics, &depths, at + 1)
        .await
        .unwrap();
    assert!(written);
    assert_eq!(again.totals.users, 3);
    // The next bucket has them too.
    app.count().await;
    let (next, written) = run_metrics_job(
        &*app.stores.metrics,
        &depths,
        at + shared::metrics::BUCKET_MS,
    )
    .await
    .unwrap();
    assert!(written);
    assert_eq!(next.totals.users, 3);
}

/// The sample scheduler event (`events/metrics-job.json`) names its bucket.
async fn the_scheduler_event_names_the_bucket(app: TestApp) {
    let path = format!("{}/../events/metrics-job.json", env!("CARGO_MANIFEST_DIR"));
    let event: ScheduledEvent =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    app.count().await;
    let (snapshot, written) = run_metrics_job(&*app.stores.metrics, &no_queues(), event.at())
        .await
        .unwrap();
    assert!(written);
    assert_eq!(snapshot.bucket, "2026-11-25T07:05:00.000Z");
    assert_eq!(snapshot.days.last().unwrap().date, "2026-11-25");
    let (bucket, _) = app.stores.metrics.latest_snapshot().await.unwrap().unwrap();
    assert_eq!(shared::clock::rfc3339(bucket), snapshot.bucket);
}

/// Admins only; cached a minute; revalidated by tag; `days` is 7, 30 or 90.
async fn the_dashboard_is_for_admins(app: TestApp) {
    let user = account(&app, "user@example.com", "User").await;
    let moderator = account_with_role(&app, "mod@example.com", Role::Moderator).await;
    let admin = account_with_role(&app, "admin@example.com", Role::Admin).await;
    fn get<'a>(path: &'a str, token: Option<&'a str>) -> Call<'a> {
        let mut call = Call::new(Method::GET, path);
        if let Some(token) = token {
            call = call.token(token);
        }
        call
    }
    // Before the job has run: a clear 503, not an empty page.
    let early = get("/api/dashboard/metrics", Some(&admin.access))
        .send(&app)
        .await;
    assert_problem(
        &early,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    );
    snapshot_now(&app).await;
    for path in ["/api/dashboard/metrics", "/api/dashboard/insights"] {
        assert_problem(
            &get(path, None).send(&app).await,
            StatusCode::UNAUTHORIZED,
            "missing_token",
        );
        for token in [&user.access, &moderator.access] {
            let response = get(path, Some(token)).send(&app).await;
            assert_problem(&response, StatusCode::FORBIDDEN, "forbidden");
        }
        let ok = get(path, Some(&admin.access)).send(&app).await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(header(&ok, "cache-control"), Some("private, max-age=60"));
        assert_eq!(header(&ok, "vary"), Some("Authorization"));
        let tag = header(&ok, "etag").unwrap().to_owned();
        let again = get(path, Some(&admin.access))
            .header("if-none-match", tag)
            .send(&app)
            .await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert!(again.body().is_empty());
    }
    for (days, expected) in [("7", 7), ("30", 30), ("90", 90)] {
        let path = format!("/api/dashboard/metrics?days={days}");
        let response = Call::new(Method::GET, &path)
            .token(&admin.access)
            .send(&app)
            .await;
        let body = body_json(&response);
        assert_eq!(body["days"].as_array().unwrap().len(), expected);
        assert_eq!(body["totals"]["users"], 3);
        assert!(body["generatedAt"].as_str().is_some());
    }
    let week = Call::new(Method::GET, "/api/dashboard/metrics?days=7")
        .token(&admin.access)
        .send(&app)
        .await;
    let month = Call::new(Method::GET, "/api/dashboard/metrics?days=30")
        .token(&admin.access)
        .send(&app)
        .await;
    assert_ne!(header(&week, "etag"), header(&month, "etag"));
    let bad = Call::new(Method::GET, "/api/dashboard/metrics?days=8")
        .token(&admin.access)
        .send(&app)
        .await;
    assert_problem(&bad, StatusCode::BAD_REQUEST, "invalid_days");
    let insights = Call::new(Method::GET, "/api/dashboard/insights")
        .token(&admin.access)
        .send(&app)
        .await;
    let body = body_json(&insights);
    assert_eq!(
        body["insights"][0]["message"],
        "signups: 3 this week, none the week before"
    );
    assert_eq!(
        body["insights"][0]["numbers"],
        json!({ "thisWeek": 3, "lastWeek": 0 })
    );
}

on_both_stores! {
    counts_are_exact_under_concurrency => Config::for_tests(),
    racing_edits_count_each_post_once => Config::for_tests(),
    a_rerun_in_a_bucket_brings_it_up_to_date => Config::for_tests(),
    the_scheduler_event_names_the_bucket => Config::for_tests(),
    the_dashboard_is_for_admins => Config::for_tests(),
}
