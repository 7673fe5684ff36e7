//! A metrics run later in a bucket that already has its snapshot: the dashboard shows the newer
//! numbers, while a late or retried run carrying older numbers never replaces them, and of
//! concurrent runs the one taken last stays. On both stores.

use crate::support;

use axum::http::{Method, StatusCode};
use futures_util::future::join_all;
use shared::clock::{now_ms, parse_rfc3339};
use shared::config::Config;
use shared::domain::Role;
use shared::metrics::{QueueDepth, QueueDepths, Snapshot, bucket_of, run_metrics_job};
use support::{Call, TestApp, account, account_with_role, body_json, header};

struct NoQueues;

#[async_trait::async_trait]
impl QueueDepths for NoQueues {
    async fn depths(&self) -> Result<Vec<QueueDepth>, shared::BoxError> {
        Ok(Vec::new())
    }
}

fn taken_at(snapshot: &Snapshot) -> i64 {
    parse_rfc3339(&snapshot.generated_at).expect("generatedAt is RFC 3339")
}

async fn sign_up(app: &TestApp, from: usize, count: usize) {
    for i in from..from + count {
        account(app, &format!("user{i}@example.com"), "User").await;
    }
}

/// `GET /api/dashboard/metrics` as an admin, optionally revalidating a tag.
async fn dashboard(
    app: &TestApp,
    token: &str,
    if_none_match: Option<&str>,
) -> support::TestResponse {
    let mut call = Call::new(Method::GET, "/api/dashboard/metrics").token(token);
    if let Some(tag) = if_none_match {
        call = call.header("if-none-match", tag.to_owned());
    }
    call.send(app).await
}

async fn a_later_run_in_the_bucket_shows_the_newer_numbers(app: TestApp) {
    let admin = account_with_role(&app, "admin@example.com", Role::Admin).await;
    sign_up(&app, 0, 2).await;
    let at = now_ms();
    let bucket = bucket_of(at);

    // t1: the start-up run.
    app.count().await;
    let (first, written) = run_metrics_job(&*app.stores.metrics, &NoQueues, at)
        .await
        .unwrap();
    assert!(written);
    assert_eq!(first.totals.users, 3);
    let shown = dashboard(&app, &admin.access, None).await;
    assert_eq!(shown.status(), StatusCode::OK);
    assert_eq!(body_json(&shown)["totals"]["users"], 3);
    let first_tag = header(&shown, "etag").unwrap().to_owned();

    // More sign-ups, then t2: a manual run in the same bucket replaces the snapshot.
    sign_up(&app, 2, 3).await;
    app.count().await;
    let (second, written) = run_metrics_job(&*app.stores.metrics, &NoQueues, at)
        .await
        .unwrap();
    assert!(written, "a later run in the same bucket writes its numbers");
    assert_eq!(second.bucket, first.bucket);
    assert_eq!(second.totals.users, 6);
    assert!(taken_at(&second) > taken_at(&first));
    let (stored_bucket, _) = app.stores.metrics.latest_snapshot().await.unwrap().unwrap();
    assert_eq!(stored_bucket, bucket);
    // A client holding the first answer's tag gets the new numbers, not a 304.
    let shown = dashboard(&app, &admin.access, Some(&first_tag)).await;
    assert_eq!(shown.status(), StatusCode::OK);
    let body = body_json(&shown);
    assert_eq!(body["totals"]["users"], 6);
    assert_eq!(body["generatedAt"], second.generated_at.as_str());
    let second_tag = header(&shown, "etag").unwrap().to_owned();
    assert_ne!(second_tag, first_tag);

    // A late run whose counts were read at t0 < t2 (the first run's numbers, landing last)
    // does not replace them, nor does a retry of the t2 write itself.
    let stale = serde_json::to_string(&first).unwrap();
    let late = app
        .stores
        .metrics
        .put_snapshot(bucket, taken_at(&first), &stale)
        .await
        .unwrap();
    assert!(!late, "an older snapshot must not replace a newer one");
    let retried = app
        .stores
        .metrics
        .put_snapshot(bucket, taken_at(&second), &stale)
        .await
        .unwrap();
    assert!(!retried);
    let shown = dashboard(&app, &admin.access, Some(&second_tag)).await;
    assert_eq!(shown.status(), StatusCode::NOT_MODIFIED);
    let shown = dashboard(&app, &admin.access, None).await;
    assert_eq!(body_json(&shown)["totals"]["users"], 6);
    let stored: Snapshot = serde_json::from_str(
        &app.stores
            .metrics
            .latest_snapshot()
            .await
            .unwrap()
            .unwrap()
            .1,
    )
    .unwrap();
    assert_eq!(stored, second);
}

/// Writers racing on one bucket, in shuffled order: the latest `takenAt` stays, and its writer
/// is told it wrote.
async fn concurrent_writes_leave_the_latest_taken(app: TestApp) {
    let bucket = bucket_of(now_ms());
    let base = bucket + 1_000;
    // 0..16 in a fixed shuffled order, so the newest is neither first nor last to start.
    let order: Vec<i64> = (0..16).map(|i| (i * 7 + 3) % 16).collect();
    let results = join_all(order.iter().map(|&i| {
        let app = &app;
        async move {
            let body = format!("{{\"taken\":{i}}}");
            let written = app
                .stores
                .metrics
                .put_snapshot(bucket, base + i, &body)
                .await
                .unwrap();
            (i, written)
        }
    }))
    .await;
    let newest = results.iter().find(|(i, _)| *i == 15).unwrap();
    assert!(newest.1, "the newest snapshot is always written");
    let (stored_bucket, body) = app.stores.metrics.latest_snapshot().await.unwrap().unwrap();
    assert_eq!(stored_bucket, bucket);
    assert_eq!(body, "{\"taken\":15}");
    // And nothing older lands afterwards.
    for i in 0..16 {
        let written = app
            .stores
            .metrics
            .put_snapshot(bucket, base + i, "{\"taken\":-1}")
            .await
            .unwrap();
        assert!(!written);
    }
    let (_, body) = app.stores.metrics.latest_snapshot().await.unwrap().unwrap();
    assert_eq!(body, "{\"taken\":15}");
}

/// Whole metrics runs racing for one bucket while sign-ups go on: the stored snapshot is the
/// one taken last.
async fn concurrent_runs_leave_the_latest_taken(app: TestApp) {
    let admin = account_with_role(&app, "admin@example.com", Role::Admin).await;
    let at = now_ms();
    let signups = async { sign_up(&app, 0, 4).await };
    let runs = join_all((0..6).map(|_| {
        let app = &app;
        async move {
            let mut snapshots = Vec::new();
            for _ in 0..3 {
                snapshots.push(
                    run_metrics_job(&*app.stores.metrics, &NoQueues, at)
                        .await
                        .unwrap()
                        .0,
                );
                tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            }
            snapshots
        }
    }));
    let ((), snapshots) = tokio::join!(signups, runs);
    let snapshots: Vec<Snapshot> = snapshots.into_iter().flatten().collect();
    let latest = snapshots.iter().map(taken_at).max().unwrap();
    let stored: Snapshot = serde_json::from_str(
        &app.stores
            .metrics
            .latest_snapshot()
            .await
            .unwrap()
            .unwrap()
            .1,
    )
    .unwrap();
    assert_eq!(taken_at(&stored), latest);
    assert!(snapshots.contains(&stored));
    // Taken after the last sign-up: a run now replaces it and counts all five users.
    app.count().await;
    let (last, written) = run_metrics_job(&*app.stores.metrics, &NoQueues, at)
        .await
        .unwrap();
    assert!(written);
    assert_eq!(last.totals.users, 5);
    let shown = dashboard(&app, &admin.access, None).await;
    let body = body_json(&shown);
    assert_eq!(body["generatedAt"], last.generated_at.as_str());
    assert_eq!(body["totals"]["users"], 5);
}

on_both_stores! {
    a_later_run_in_the_bucket_shows_the_newer_numbers => Config::for_tests(),
    concurrent_writes_leave_the_latest_taken => Config::for_tests(),
    concurrent_runs_leave_the_latest_taken => Config::for_tests(),
}
