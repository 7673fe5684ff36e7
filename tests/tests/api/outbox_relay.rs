//! The outbox reconciliation on both stores: an unreadable row is moved out of the way and a
//! job its queue refuses is left for the next pass, and neither stops the rest of the pass.

use crate::support;

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use shared::config::Config;
use shared::jobs::{Job, JobQueue, MailMessage};
use shared::jobs::{RelaySummary, reconcile_outbox};
use shared::store::keys;
use shared::store::table::{Put, item};
use support::{Captured, TestApp};

/// Every row written before this is due.
const NOW: i64 = 1_000_000;

fn mail(at: i64) -> Job {
    Job::email(
        "sweep@example.com",
        "Sweep",
        MailMessage::PasswordChanged,
        at,
    )
}

/// The jobs' ids, sorted: a pass goes shard by shard, so in no particular order of time.
fn ids(jobs: &[Job]) -> Vec<String> {
    let mut ids: Vec<String> = jobs.iter().map(|job| job.id.clone()).collect();
    ids.sort();
    ids
}

async fn outbox_ids(app: &TestApp) -> Vec<String> {
    let mut rows = Vec::new();
    for shard in 0..keys::OUTBOX_SHARDS {
        let listed = app
            .stores
            .outbox
            .outbox_rows(shard, i64::MAX, None, 1000)
            .await
            .expect("outbox listed");
        rows.extend(listed.into_iter().map(|row| row.id));
    }
    rows.sort();
    rows
}

/// Writes an outbox row whose job text is `raw`, straight through the table (no writer of this
/// version would).
async fn put_raw_row(app: &TestApp, id: &str, raw: &str, created_at: i64) {
    let row = item(
        &keys::outbox_job(id),
        [
            ("type", "outbox".into()),
            ("id", id.into()),
            ("job", raw.into()),
            ("createdAt", created_at.into()),
            (
                "GSI1PK",
                keys::outbox_shard(keys::shard_of(id, keys::OUTBOX_SHARDS)).into(),
            ),
            ("GSI1SK", keys::time_sort_key(created_at, id).into()),
        ],
    );
    support::table_of(app)
        .await
        .put(Put::new(row))
        .await
        .expect("row written");
}

/// A queue that refuses the jobs in `refused` and keeps the others.
#[derive(Default)]
struct Refusing {
    refused: Mutex<HashSet<String>>,
    sent: Mutex<Vec<Job>>,
}

impl Refusing {
    fn new(ids: impl IntoIterator<Item = String>) -> Self {
        Self {
            refused: Mutex::new(ids.into_iter().collect()),
            ..Self::default()
        }
    }

    fn accept_everything(&self) {
        self.refused.lock().unwrap().clear();
    }

    fn sent(&self) -> Vec<Job> {
        self.sent.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl JobQueue for Refusing {
    async fn send(&self, job: &Job) -> Result<(), shared::BoxError> {
        if self.refused.lock().unwrap().contains(&job.id) {
            return Err(format!("queue refuses {}", job.id).into());
        }
        self.sent.lock().unwrap().push(job.clone());
        Ok(())
    }
}

/// Good jobs before and after a row that is not JSON: one pass sends both, moves the row to
/// the dead letters with its text and the error, and the next pass finds nothing left.
async fn an_unreadable_row_is_dead_lettered_and_the_rest_sent(app: TestApp) {
    let (first, last) = (mail(1_000), mail(3_000));
    app.stores
        .outbox
        .add_to_outbox(&[first.clone(), last.clone()])
        .await
        .unwrap();
    put_raw_row(&app, "corrupt-row", "not json", 2_000).await;
    // Listing never fails on it, and the plain listing of jobs leaves it out.
    let mut expected = vec![first.id.clone(), "corrupt-row".into(), last.id.clone()];
    expected.sort();
    assert_eq!(outbox_ids(&app).await, expected);
    assert_eq!(
        app.stores.outbox.outbox_due(i64::MAX, 10).await.unwrap(),
        [first.clone(), last.clone()]
    );

    let queue = Captured::default();
    let summary = reconcile_outbox(&app.stores, &queue, NOW, Duration::ZERO)
        .await
        .expect("outbox reconciled");
    assert_eq!(
        summary,
        RelaySummary {
            sent: 2,
            failed: 0,
            dead_lettered: 1,
            resumed: 0,
        }
    );
    assert_eq!(
        ids(&queue.jobs().await),
        ids(&[first.clone(), last.clone()])
    );
    assert!(outbox_ids(&app).await.is_empty());
    let dead = app.stores.outbox.outbox_dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].id, "corrupt-row");
    assert_eq!(dead[0].raw, "not json");
    assert_eq!(dead[0].created_at, 2_000);
    assert_eq!(dead[0].dead_at, NOW);
    assert!(!dead[0].error.is_empty());
    // The Lambda reports the pass as failed, so its errors alarm fires.
    assert!(!summary.is_clean());

    // The next pass is not held up by it: a job written since is sent.
    let later = mail(4_000);
    app.stores
        .outbox
        .add_to_outbox(std::slice::from_ref(&later))
        .await
        .unwrap();
    let summary = reconcile_outbox(&app.stores, &queue, NOW, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        summary,
        RelaySummary {
            sent: 1,
            ..RelaySummary::default()
        }
    );
    assert!(summary.is_clean());
    assert_eq!(queue.jobs().await.last(), Some(&later));
    assert!(outbox_ids(&app).await.is_empty());
    assert_eq!(
        app.stores.outbox.outbox_dead_letters(10).await.unwrap(),
        dead
    );
}

/// A job its queue refuses is counted and stays in the outbox; the others are sent and
/// removed; once the queue takes it, the next pass sends it.
async fn a_refused_job_stays_for_the_next_pass(app: TestApp) {
    let jobs = [mail(1_000), mail(2_000), mail(3_000)];
    app.stores.outbox.add_to_outbox(&jobs).await.unwrap();
    let refused = jobs[1].clone();
    let queue = Refusing::new([refused.id.clone()]);

    let summary = reconcile_outbox(&app.stores, &queue, NOW, Duration::ZERO)
        .await
        .expect("outbox reconciled");
    assert_eq!(
        summary,
        RelaySummary {
            sent: 2,
            failed: 1,
            dead_lettered: 0,
            resumed: 0,
        }
    );
    assert!(!summary.is_clean());
    assert_eq!(ids(&queue.sent()), ids(&[jobs[0].clone(), jobs[2].clone()]));
    assert_eq!(outbox_ids(&app).await, std::slice::from_ref(&refused.id));

    queue.accept_everything();
    let summary = reconcile_outbox(&app.stores, &queue, NOW, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        summary,
        RelaySummary {
            sent: 1,
            ..RelaySummary::default()
        }
    );
    assert_eq!(queue.sent().last(), Some(&refused));
    assert!(outbox_ids(&app).await.is_empty());
    assert!(
        app.stores
            .outbox
            .outbox_dead_letters(10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// More refused jobs than one listing reads still do not hold up the jobs after them.
async fn refused_jobs_never_hold_up_later_ones(app: TestApp) {
    let refused: Vec<Job> = (0..105).map(|i| mail(1_000 + i)).collect();
    let later = [mail(5_000), mail(6_000)];
    app.stores.outbox.add_to_outbox(&refused).await.unwrap();
    app.stores.outbox.add_to_outbox(&later).await.unwrap();
    let queue = Refusing::new(ids(&refused));

    let summary = reconcile_outbox(&app.stores, &queue, NOW, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        summary,
        RelaySummary {
            sent: 2,
            failed: 105,
            dead_lettered: 0,
            resumed: 0,
        }
    );
    assert_eq!(ids(&queue.sent()), ids(&later));
    assert_eq!(outbox_ids(&app).await, ids(&refused));
}

/// Rows younger than the minimum age are left to the request that wrote them.
async fn young_rows_are_left_alone(app: TestApp) {
    let (old, young) = (mail(NOW - 120_000), mail(NOW - 1_000));
    app.stores
        .outbox
        .add_to_outbox(&[old.clone(), young.clone()])
        .await
        .unwrap();
    put_raw_row(&app, "young-corrupt-row", "{", NOW - 500).await;
    let queue = Captured::default();
    let summary = reconcile_outbox(&app.stores, &queue, NOW, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        summary,
        RelaySummary {
            sent: 1,
            ..RelaySummary::default()
        }
    );
    assert_eq!(queue.jobs().await, [old]);
    let mut expected = vec![young.id.clone(), "young-corrupt-row".to_owned()];
    expected.sort();
    assert_eq!(outbox_ids(&app).await, expected);
}

fn config() -> Config {
    Config::for_tests()
}

on_both_stores! {
    an_unreadable_row_is_dead_lettered_and_the_rest_sent => config(),
    a_refused_job_stays_for_the_next_pass => config(),
    refused_jobs_never_hold_up_later_ones => config(),
    young_rows_are_left_alone => config(),
}
