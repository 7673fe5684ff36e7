//! Audit writes: spread over as many GSI1 shards as configured and listed back from all of
//! them, on both stores.

use crate::support;

use std::collections::BTreeSet;

use shared::clock::now_ms;
use shared::config::Config;
use shared::domain::{AuditAction, AuditEvent, AuditOutcome};
use shared::store::entities::TableStore;
use shared::store::table::schema::GSI1;
use shared::store::table::{Query, Table, get_s};
use shared::store::{AuditLog, AuditQuery, keys};
use support::TestApp;

const DAY_MS: i64 = 86_400_000;

/// The `i`th event, older as `i` grows (10 ms apart, so the order does not hang on ids).
fn event(base: i64, i: i64) -> AuditEvent {
    let mut event = AuditEvent::new(AuditAction::Login, AuditOutcome::Success, base - 10 * i);
    event.detail = Some(format!("event {i}"));
    event
}

/// Every id the unfiltered listing gives, paged `limit` at a time.
async fn listed(log: &dyn AuditLog, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = log
            .list_events(&AuditQuery::default(), after.as_ref(), limit)
            .await
            .unwrap();
        ids.extend(page.items.into_iter().map(|e| e.id));
        match page.next {
            Some(next) => after = Some(next),
            None => return ids,
        }
    }
}

/// The ids on each GSI1 audit shard `0..upto`.
async fn on_shards(table: &dyn Table, upto: u32) -> Vec<BTreeSet<String>> {
    let mut shards = Vec::new();
    for shard in 0..upto {
        let page = table
            .query(&Query::on(GSI1.index, keys::audit_shard(shard)))
            .await
            .unwrap();
        assert!(page.last_key.is_none(), "one page holds the test's events");
        shards.push(
            page.items
                .iter()
                .map(|item| get_s(item, "id").unwrap())
                .collect(),
        );
    }
    shards
}

async fn events_spread_over_and_listed_from_the_configured_shards(app: TestApp) {
    let table = support::table_of(&app).await;
    let with_shards = |n| TableStore::new(table.clone()).with_audit_shards(n);
    let base = now_ms();

    // Three shards: every event lands in one of them and is listed once, in order.
    let three = with_shards(3);
    let mut written = Vec::new();
    for i in 0..24 {
        let event = event(base, i);
        three.record_event(&event, now_ms() + DAY_MS).await.unwrap();
        written.push(event.id);
    }
    let shards = on_shards(&*table, 8).await;
    assert!(shards[3..].iter().all(BTreeSet::is_empty), "{shards:?}");
    assert!(shards[..3].iter().all(|s| !s.is_empty()), "{shards:?}");
    assert_eq!(shards.iter().map(BTreeSet::len).sum::<usize>(), 24);
    assert_eq!(listed(&three, 5).await, written, "newest first, each once");

    // Raised to five: the old events are still listed, the new ones spread over five.
    let five = with_shards(5);
    for i in 24..40 {
        let event = event(base, i);
        five.record_event(&event, now_ms() + DAY_MS).await.unwrap();
        written.push(event.id);
    }
    let shards = on_shards(&*table, 8).await;
    assert!(shards[5..].iter().all(BTreeSet::is_empty), "{shards:?}");
    assert_eq!(listed(&five, 7).await, written);

    // Lowered to two: the events on shards 2..5 are not listed (README: until they expire).
    let visible: BTreeSet<&String> = shards[..2].iter().flatten().collect();
    let two = with_shards(2);
    let listed_by_two = listed(&two, 100).await;
    assert_eq!(listed_by_two.iter().collect::<BTreeSet<_>>(), visible);
    assert!(listed_by_two.len() < written.len());

    // One shard is a valid count, and zero is read as one.
    assert_eq!(
        listed(&with_shards(0), 100).await,
        listed(&with_shards(1), 100).await
    );
}

fn config() -> Config {
    Config::for_tests()
}

on_both_stores! {
    events_spread_over_and_listed_from_the_configured_shards => config(),
}
