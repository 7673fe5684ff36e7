//! Audit writes: spread over as many GSI1 shards as configured and listed back from all of
//! them; a write the store refuses is retried, and one that still fails leaves the request
//! alone, and the whole event in an ERROR line and a metric. On both stores.

use crate::support;

use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::audit::{AuditRetry, AuditTrail, NOT_RECORDED, failure_metric_line};
use shared::clock::now_ms;
use shared::config::Config;
use shared::domain::{AuditAction, AuditEvent, AuditOutcome};
use shared::store::entities::TableStore;
use shared::store::table::schema::GSI1;
use shared::store::table::{Query, Table, get_s};
use shared::store::{AuditLog, AuditQuery, Page, Position, StoreError, keys};
use support::{Call, TestApp, body_json, header};
use tracing::instrument::WithSubscriber;

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

/// What a scripted write does before (or instead of) reaching the store.
#[derive(Debug, Clone, Copy)]
enum Step {
    Unavailable,
    Backend,
    Conflict,
    /// The write reaches the store, but its answer is lost.
    StoredThenUnavailable,
}

/// An audit log over the real one whose writes follow a script, then succeed; or, with
/// `always`, fail every time.
struct Scripted {
    inner: Arc<dyn AuditLog>,
    script: Mutex<VecDeque<Step>>,
    always: Option<Step>,
    calls: AtomicU32,
}

impl Scripted {
    fn new(inner: Arc<dyn AuditLog>, script: &[Step]) -> Self {
        Self {
            inner,
            script: Mutex::new(script.iter().copied().collect()),
            always: None,
            calls: AtomicU32::new(0),
        }
    }

    fn failing(inner: Arc<dyn AuditLog>, step: Step) -> Self {
        Self {
            always: Some(step),
            ..Self::new(inner, &[])
        }
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl AuditLog for Scripted {
    async fn record_event(&self, event: &AuditEvent, keep_until: i64) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let step = self
            .always
            .or_else(|| self.script.lock().unwrap().pop_front());
        match step {
            None => self.inner.record_event(event, keep_until).await,
            Some(Step::Unavailable) => Err(StoreError::Unavailable("injected: timed out".into())),
            Some(Step::Backend) => Err(StoreError::backend("injected: internal error")),
            Some(Step::Conflict) => Err(StoreError::Conflict),
            Some(Step::StoredThenUnavailable) => {
                self.inner.record_event(event, keep_until).await?;
                Err(StoreError::Unavailable("injected: answer lost".into()))
            }
        }
    }

    async fn list_events(
        &self,
        query: &AuditQuery,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<AuditEvent>, StoreError> {
        self.inner.list_events(query, after, limit).await
    }
}

/// Pauses of a millisecond or two, so the tests do not wait.
fn quick() -> AuditRetry {
    AuditRetry {
        first_pause: Duration::from_millis(1),
        ..AuditRetry::default()
    }
}

/// How many events with `event`'s id the log lists for its target.
async fn stored(log: &dyn AuditLog, event: &AuditEvent) -> usize {
    let query = AuditQuery {
        target: event.target.clone(),
        ..AuditQuery::default()
    };
    let page = log.list_events(&query, None, 100).await.unwrap();
    page.items.iter().filter(|e| e.id == event.id).count()
}

async fn failed_writes_are_retried_and_recorded_once(app: TestApp) {
    let real = app.stores.audit.clone();
    use Step::*;
    // (script, tries expected, recorded)
    let cases: [(&[Step], u32, bool); 10] = [
        (&[], 1, true),
        (&[Unavailable, Unavailable, Unavailable], 4, true),
        (&[Backend], 2, true),
        (&[Unavailable, Backend], 3, true),
        (&[StoredThenUnavailable], 2, true),
        (
            &[Unavailable, Unavailable, Unavailable, Unavailable],
            4,
            false,
        ),
        (&[Backend, Backend], 2, false),
        (&[Unavailable, Backend, Unavailable, Backend], 4, false),
        (&[Backend, Unavailable, Backend], 3, false),
        (&[Conflict], 1, false),
    ];
    for (n, (script, tries, recorded)) in cases.into_iter().enumerate() {
        // Both kinds of write: a plain put, and a counted event's transaction.
        for outcome in [AuditOutcome::Success, AuditOutcome::Failure] {
            let log = Scripted::new(real.clone(), script);
            let trail = AuditTrail {
                log: &log,
                retention: Duration::from_secs(86_400),
                retry: quick(),
                table: "test",
            };
            let mut event = AuditEvent::new(AuditAction::Login, outcome, now_ms());
            event.target = Some(uuid::Uuid::new_v4().to_string());
            let started = Instant::now();
            trail.record(event.clone()).await;
            assert!(started.elapsed() < Duration::from_secs(1));
            let case = format!("case {n} {script:?} {outcome:?}");
            assert_eq!(log.calls(), tries, "{case}");
            assert_eq!(
                stored(&*real, &event).await,
                usize::from(recorded),
                "{case}"
            );
        }
    }

    // The budget: no try starts once it is spent, however many are allowed.
    let log = Scripted::failing(real.clone(), Unavailable);
    let trail = AuditTrail {
        log: &log,
        retention: Duration::from_secs(86_400),
        retry: AuditRetry {
            attempts: 100,
            first_pause: Duration::from_millis(20),
            budget: Duration::from_millis(50),
            ..AuditRetry::default()
        },
        table: "test",
    };
    trail
        .record(AuditEvent::new(
            AuditAction::Login,
            AuditOutcome::Success,
            now_ms(),
        ))
        .await;
    assert!((2..=3).contains(&log.calls()), "{} tries", log.calls());
}

/// Lines written through the test's own subscriber.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    /// Each line as JSON (the subscriber writes them as Lambda's does: flattened JSON).
    fn json(&self) -> Vec<Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON log line"))
            .collect()
    }
}

async fn a_lost_event_leaves_the_request_alone_and_is_logged_whole(app: TestApp) {
    let mut failing = None;
    let app = support::with_audit(app, |real| {
        let log = Arc::new(Scripted::failing(real, Step::Unavailable));
        failing = Some(log.clone());
        log
    });
    let failing = failing.unwrap();
    let lines = Lines::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_max_level(tracing::Level::WARN)
        .with_writer({
            let lines = lines.clone();
            move || lines.clone()
        })
        .finish();

    let started = Instant::now();
    let response = async {
        Call::new(Method::POST, "/api/auth/register")
            .sent_from("198.51.100.23")
            .header("user-agent", "audit-failure-test/1.0")
            .json(json!({ "email": "lost@example.com", "password": "correct horse battery", "name": "Lost" }))
            .send(&app)
            .await
    }
    .with_subscriber(subscriber)
    .await;
    // The default retry waits ~0.35 s at most between its four tries.
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        response.body()
    );
    assert_eq!(
        failing.calls(),
        4,
        "four tries while the store is unavailable"
    );
    let user = body_json(&response)["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let logged = lines.json();
    let errors: Vec<&Value> = logged
        .iter()
        .filter(|line| line["level"] == "ERROR" && line["message"] == NOT_RECORDED)
        .collect();
    assert_eq!(errors.len(), 1, "{logged:#?}");
    let error = errors[0];
    assert_eq!(error["tries"], 4);
    assert!(error["error"].as_str().unwrap().contains("injected"));
    let event: Value = serde_json::from_str(error["audit_event"].as_str().unwrap()).unwrap();
    let fields: BTreeSet<&str> = event
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        BTreeSet::from([
            "id",
            "at",
            "action",
            "outcome",
            "actor",
            "target",
            "sourceIp",
            "userAgent",
            "requestId",
            "detail",
            "keepUntil",
        ])
    );
    assert_eq!(event["action"], "register");
    assert_eq!(event["outcome"], "success");
    assert_eq!(event["target"], user.as_str());
    assert_eq!(event["sourceIp"], "198.51.100.23");
    assert_eq!(event["userAgent"], "audit-failure-test/1.0");
    assert_eq!(
        event["requestId"].as_str(),
        header(&response, "x-request-id")
    );
    assert!(event["id"].as_str().is_some_and(|id| !id.is_empty()));
    // The three earlier tries were warnings, each naming the event.
    let retried = logged
        .iter()
        .filter(|line| line["level"] == "WARN" && line["id"] == event["id"])
        .count();
    assert_eq!(retried, 3, "{logged:#?}");

    // The metric line that goes with it names the stack's table.
    let metric: Value =
        serde_json::from_str(&failure_metric_line(&app.config.table_name, 1)).unwrap();
    assert_eq!(metric["TableName"], app.config.table_name.as_str());
    assert_eq!(metric["AuditWriteFailures"], 1);
}

fn config() -> Config {
    Config::for_tests()
}

on_both_stores! {
    events_spread_over_and_listed_from_the_configured_shards => config(),
    failed_writes_are_retried_and_recorded_once => config(),
    a_lost_event_leaves_the_request_alone_and_is_logged_whole => config(),
}

/// template.yaml's alarm watches the metric the code emits: same namespace, name and
/// dimension (the stack's table), any one in 5 minutes, notifying the alarm topic.
#[test]
fn the_template_alarms_on_the_emitted_metric() {
    use serde_yaml::Value as Yaml;
    let path = format!("{}/../template.yaml", env!("CARGO_MANIFEST_DIR"));
    let template: Yaml = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let alarm = &template["Resources"]["AuditWriteFailuresAlarm"];
    assert_eq!(alarm["Type"], "AWS::CloudWatch::Alarm");
    let properties = &alarm["Properties"];
    let line: Value = serde_json::from_str(&failure_metric_line("t", 0)).unwrap();
    let directive = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(
        properties["Namespace"].as_str(),
        directive["Namespace"].as_str()
    );
    assert_eq!(
        properties["MetricName"].as_str(),
        directive["Metrics"][0]["Name"].as_str()
    );
    let dimension = &properties["Dimensions"][0];
    assert_eq!(
        dimension["Name"].as_str(),
        directive["Dimensions"][0][0].as_str()
    );
    let by_table: Yaml = serde_yaml::from_str("!Ref Table").unwrap();
    assert_eq!(dimension["Value"], by_table);
    assert_eq!(properties["Dimensions"].as_sequence().unwrap().len(), 1);
    assert_eq!(properties["Statistic"], "Sum");
    assert_eq!(properties["Period"], 300);
    assert_eq!(properties["Threshold"], 1);
    assert_eq!(
        properties["ComparisonOperator"],
        "GreaterThanOrEqualToThreshold"
    );
    let topic: Yaml =
        serde_yaml::from_str("!If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]")
            .unwrap();
    assert_eq!(properties["AlarmActions"], topic);
    // Every function reads the table name it reports from TABLE_NAME, which is the table.
    assert_eq!(
        template["Globals"]["Function"]["Environment"]["Variables"]["TABLE_NAME"],
        by_table
    );
}
