//! The `counts` consumer on both stores, fed the changes a real workload made (through the
//! handlers) the ways an event source mapping delivers them: each batch twice, split in halves
//! as bisection does, retried after a partial failure, shards out of order, and one batch by
//! two invocations at once. The counters end exactly as if each change had been counted once.

use crate::support;

use std::collections::{BTreeMap, HashMap};

use axum::http::{Method, StatusCode};
use futures_util::future::join_all;
use serde_json::json;
use shared::clock::now_ms;
use shared::config::Config;
use shared::domain::Role;
use shared::metrics::counts::{self, of_change};
use shared::metrics::{Snapshot, count_changes, run_metrics_job};
use shared::store::entities::read_change;
use shared::store::table::Change;
use shared::store::table::schema::{PARTITION_KEY, SORT_KEY};
use support::{Call, TestApp, account, account_with_role, body_json};

struct NoQueues;

#[async_trait::async_trait]
impl shared::metrics::QueueDepths for NoQueues {
    async fn depths(&self) -> Result<Vec<shared::metrics::QueueDepth>, shared::BoxError> {
        Ok(Vec::new())
    }
}

/// Sign-ups, logins (good and bad, a lockout's worth), posts created, published, edited and
/// deleted, and a user deleted, all through the router.
async fn workload(app: &TestApp) {
    let admin = account_with_role(app, "admin@example.com", Role::Admin).await;
    let mut writers = Vec::new();
    for n in 0..4 {
        writers.push(account(app, &format!("w{n}@example.com"), "Writer").await);
    }
    for (n, writer) in writers.iter().enumerate() {
        let login = Call::new(Method::POST, "/api/auth/login")
            .json(json!({ "email": writer.email, "password": "correct horse battery" }))
            .send(app)
            .await;
        assert_eq!(login.status(), StatusCode::OK);
        let bad = Call::new(Method::POST, "/api/auth/login")
            .json(json!({ "email": writer.email, "password": "not the password" }))
            .send(app)
            .await;
        assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
        for status in ["draft", "published"] {
            let created = Call::new(Method::POST, "/api/posts")
                .token(&writer.access)
                .json(json!({ "title": format!("Post {n}"), "content": "text", "status": status }))
                .send(app)
                .await;
            assert_eq!(created.status(), StatusCode::CREATED);
            let post = body_json(&created);
            let id = post["id"].as_str().unwrap();
            let edit = Call::new(Method::PATCH, &format!("/api/posts/{id}"))
                .token(&writer.access)
                .json(json!({ "status": if status == "draft" { "published" } else { "archived" } }))
                .send(app)
                .await;
            assert_eq!(edit.status(), StatusCode::OK, "{:?}", edit.body());
            if n == 0 {
                let gone = Call::new(Method::DELETE, &format!("/api/posts/{id}"))
                    .token(&writer.access)
                    .send(app)
                    .await;
                assert_eq!(gone.status(), StatusCode::NO_CONTENT);
            }
        }
    }
    let deleted = Call::new(Method::DELETE, &format!("/api/users/{}", writers[3].id))
        .token(&admin.access)
        .send(app)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
}

/// What the changes add up to when each is counted once, by (counter, bucket).
fn counted_once(changes: &[Change]) -> BTreeMap<(String, String), i64> {
    let mut sums = BTreeMap::new();
    for change in changes {
        for delta in of_change(&read_change(change).expect("every change reads")) {
            *sums.entry((delta.name, delta.bucket)).or_insert(0) += delta.by;
        }
    }
    sums.retain(|_, by| *by != 0);
    sums
}

async fn stored_counts(
    app: &TestApp,
    expected: &BTreeMap<(String, String), i64>,
) -> BTreeMap<(String, String), i64> {
    let names: Vec<String> = expected.keys().map(|(name, _)| name.clone()).collect();
    let buckets: Vec<String> = expected.keys().map(|(_, bucket)| bucket.clone()).collect();
    let read: HashMap<(String, String), i64> = app
        .stores
        .metrics
        .read_counters(&names, &buckets)
        .await
        .expect("counters read");
    read.into_iter().filter(|(_, v)| *v != 0).collect()
}

async fn deliver(app: &TestApp, batch: &[Change]) {
    count_changes(&*app.stores.metrics, batch, now_ms())
        .await
        .expect("batch counted");
}

/// The changes grouped as a stream's shards hold them (each item's changes in order), the
/// groups then interleaved in a fixed scrambled order: what several shards' consumers deliver.
fn shards_out_of_order(changes: &[Change]) -> Vec<Change> {
    let mut by_item: BTreeMap<(String, String), Vec<Change>> = BTreeMap::new();
    for change in changes {
        let item = change.item().unwrap();
        let key = (
            shared::store::table::get_s(item, PARTITION_KEY).unwrap(),
            shared::store::table::get_s(item, SORT_KEY).unwrap(),
        );
        by_item.entry(key).or_default().push(change.clone());
    }
    let mut groups: Vec<Vec<Change>> = by_item.into_values().collect();
    groups.reverse();
    let mut out = Vec::new();
    // Round-robin over the groups, newest items first: no two consecutive changes from one item.
    while groups.iter().any(|g| !g.is_empty()) {
        for group in groups.iter_mut().filter(|g| !g.is_empty()) {
            out.push(group.remove(0));
        }
    }
    out
}

async fn redelivered_batches_count_each_change_once(app: TestApp) {
    let feed = support::change_reader(&app, "capture");
    workload(&app).await;
    let changes = support::read_all(&*feed).await;
    let expected = counted_once(&changes);
    // The workload's meaning, as the dashboard names it.
    assert_eq!(expected[&(counts::USERS.into(), counts::TOTAL.into())], 4);
    assert_eq!(expected[&(counts::POSTS.into(), counts::TOTAL.into())], 4);
    let today = counts::day_of(now_ms());
    assert_eq!(expected[&(counts::SIGNUPS.into(), today.clone())], 5);
    assert_eq!(expected[&(counts::FAILED_LOGINS.into(), today.clone())], 4);
    assert_eq!(expected[&(counts::ACTIVE_USERS.into(), today)], 4);

    // Every batch of 7 delivered twice; then the first half of each batch of 12 (a bisected
    // retry), then the batch; then a partial failure's retry: from the middle of the whole.
    for batch in changes.chunks(7) {
        deliver(&app, batch).await;
        deliver(&app, batch).await;
    }
    assert_eq!(stored_counts(&app, &expected).await, expected);
    for batch in changes.chunks(12) {
        deliver(&app, &batch[..batch.len() / 2]).await;
        deliver(&app, batch).await;
    }
    deliver(&app, &changes[changes.len() / 3..]).await;
    assert_eq!(stored_counts(&app, &expected).await, expected);

    // Shards delivered out of order, in batches of 5, one batch by two invocations at once.
    let scrambled = shards_out_of_order(&changes);
    assert_ne!(scrambled, changes);
    for batch in scrambled.chunks(5) {
        join_all([deliver(&app, batch), deliver(&app, batch)]).await;
    }
    assert_eq!(stored_counts(&app, &expected).await, expected);

    // The dashboard's snapshot says the same.
    let (snapshot, _): (Snapshot, bool) =
        run_metrics_job(&*app.stores.metrics, &NoQueues, now_ms())
            .await
            .unwrap();
    assert_eq!(snapshot.totals.users, 4);
    assert_eq!(snapshot.totals.posts, 4);
}

/// Counted from scratch in one go, out of order across shards, the changes give the same
/// numbers as in commit order: no count depends on the order of different items' changes.
async fn shard_order_does_not_change_the_numbers(app: TestApp) {
    let feed = support::change_reader(&app, "capture");
    workload(&app).await;
    let changes = support::read_all(&*feed).await;
    assert_eq!(
        counted_once(&shards_out_of_order(&changes)),
        counted_once(&changes)
    );
    for batch in shards_out_of_order(&changes).chunks(100) {
        deliver(&app, batch).await;
    }
    let expected = counted_once(&changes);
    assert_eq!(stored_counts(&app, &expected).await, expected);
}

fn config() -> Config {
    Config::for_tests()
}

on_both_stores! {
    redelivered_batches_count_each_change_once => config(),
    shard_order_does_not_change_the_numbers => config(),
}
