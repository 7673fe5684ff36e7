//! Where security events are recorded: the audit log, with how long it keeps them, and what
//! happens when the store will not take one.

use std::time::{Duration, Instant};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde_json::json;

use crate::clock::{now_ms, rfc3339};
use crate::domain::AuditEvent;
use crate::store::{AuditLog, StoreError};
use crate::telemetry::{count_metric_line, print_metric_line};

/// The metric of an event that could not be written (template.yaml's `AuditWriteFailuresAlarm`
/// watches it).
pub const WRITE_FAILURES_METRIC: &str = "AuditWriteFailures";
/// The metric's one dimension: the table the event was meant for.
pub const WRITE_FAILURES_DIMENSION: &str = "TableName";
/// The message of the ERROR line that carries a lost event.
pub const NOT_RECORDED: &str = "audit event not recorded";

/// How a failed write is tried again. Writing an event twice is harmless (its item is keyed by
/// its id, and a counted event's put is conditional on it), so a try whose answer was lost may
/// be repeated.
#[derive(Debug, Clone, Copy)]
pub struct AuditRetry {
    /// Tries in all, at most. Each failure with the store unavailable (it timed out, or kept
    /// throttling past the engine's own retries) is worth another try after a pause.
    pub attempts: u32,
    /// How many tries may follow another store error: one, in case it was passing.
    pub backend_retries: u32,
    /// The first pause; each later one doubles. Each is drawn between half and all of that, so
    /// instances failing together do not retry together.
    pub first_pause: Duration,
    /// No new try starts once this much time has passed since the first: the request waits on
    /// it, and a store that times out (two attempts of `AWS_ATTEMPT_TIMEOUT_MS`) has used it up.
    pub budget: Duration,
}

impl Default for AuditRetry {
    /// Up to 4 tries, with pauses of 25–50, 50–100 and 100–200 ms (0.35 s at most), while the
    /// store is unavailable; one retry after another error; none started after 1 s.
    fn default() -> Self {
        Self {
            attempts: 4,
            backend_retries: 1,
            first_pause: Duration::from_millis(50),
            budget: Duration::from_secs(1),
        }
    }
}

/// What a failure leaves room for.
#[derive(Debug, Default)]
struct Tries {
    made: u32,
    after_backend: u32,
}

impl AuditRetry {
    /// Whether another try may follow `error`, the answer to the `tries.made`th.
    fn again(&self, tries: &mut Tries, error: &StoreError) -> bool {
        let allowed = match error {
            StoreError::Unavailable(_) => true,
            StoreError::Backend(_) => {
                tries.after_backend += 1;
                tries.after_backend <= self.backend_retries
            }
            // A conflict, a missing item or a taken address is no passing state: trying again
            // gives the same answer.
            _ => false,
        };
        allowed && tries.made < self.attempts
    }

    /// The pause before try number `next` (the second try is 1): half to all of
    /// `first_pause * 2^(next-1)`.
    fn pause(&self, next: u32) -> Duration {
        let ceiling = self.first_pause * 2u32.pow(next.saturating_sub(1).min(10));
        let mut byte = [0u8; 1];
        let _ = SystemRandom::new().fill(&mut byte);
        ceiling / 2 + ceiling * u32::from(byte[0]) / 512
    }
}

#[derive(Clone, Copy)]
pub struct AuditTrail<'a> {
    pub log: &'a dyn AuditLog,
    /// How long an event is kept (`AUDIT_RETENTION_DAYS`).
    pub retention: Duration,
    /// How a failed write is tried again.
    pub retry: AuditRetry,
    /// The table events go to: the failure metric's dimension.
    pub table: &'a str,
}

impl AuditTrail<'_> {
    /// Records a security event. Never fails the request: a write the store refuses is tried
    /// again (`retry`); one that still fails is logged at ERROR with the whole event, and counted
    /// in the `AuditWriteFailures` metric, which an alarm watches.
    pub async fn record(&self, event: AuditEvent) {
        let keep_until = event.at + self.retention.as_millis() as i64;
        let started = Instant::now();
        let mut tries = Tries::default();
        loop {
            tries.made += 1;
            let error = match self.log.record_event(&event, keep_until).await {
                Ok(()) => return,
                Err(error) => error,
            };
            let pause = self.retry.pause(tries.made);
            if !self.retry.again(&mut tries, &error)
                || started.elapsed() + pause > self.retry.budget
            {
                self.lost(&event, keep_until, tries.made, &error);
                return;
            }
            tracing::warn!(
                error = ?error,
                action = event.action.as_str(),
                id = %event.id,
                tries = tries.made,
                "audit event not recorded yet; trying again"
            );
            tokio::time::sleep(pause).await;
        }
    }

    /// The event is lost to the store: its every field goes to the log, where it can be read
    /// back and put in by hand, and the metric counts it.
    fn lost(&self, event: &AuditEvent, keep_until: i64, tries: u32, error: &StoreError) {
        tracing::error!(
            audit_event = %event_json(event, keep_until),
            action = event.action.as_str(),
            tries,
            error = ?error,
            "{NOT_RECORDED}"
        );
        print_metric_line(&failure_metric_line(self.table, now_ms()));
    }
}

/// Every field of the event as JSON, as the audit listing shows it (times in RFC 3339 with
/// milliseconds, exact), with when it was to expire. Nothing in an event is secret: ids, an
/// address, a user agent, a request id and a short detail (`wrong_password`, `user->admin`).
pub fn event_json(event: &AuditEvent, keep_until: i64) -> String {
    json!({
        "id": event.id,
        "at": rfc3339(event.at),
        "action": event.action.as_str(),
        "outcome": event.outcome.as_str(),
        "actor": event.actor,
        "target": event.target,
        "sourceIp": event.source_ip,
        "userAgent": event.user_agent,
        "requestId": event.request_id,
        "detail": event.detail,
        "keepUntil": rfc3339(keep_until),
    })
    .to_string()
}

/// One CloudWatch embedded-metric-format document: `AuditWriteFailures` = 1 (Count) in
/// `ServerlessBackend`, by `TableName`, at `at_ms`.
pub fn failure_metric_line(table: &str, at_ms: i64) -> String {
    count_metric_line(
        WRITE_FAILURES_METRIC,
        WRITE_FAILURES_DIMENSION,
        table,
        at_ms,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AuditAction, AuditOutcome};

    #[test]
    fn the_metric_line_is_an_embedded_metric_document() {
        let line = failure_metric_line("app-main", 1_795_543_200_123);
        assert!(!line.contains('\n'));
        let doc: serde_json::Value = serde_json::from_str(&line).unwrap();
        let aws = &doc["_aws"];
        assert_eq!(aws["Timestamp"], 1_795_543_200_123i64);
        let directive = &aws["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "ServerlessBackend");
        assert_eq!(directive["Dimensions"], json!([["TableName"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{ "Name": "AuditWriteFailures", "Unit": "Count" }])
        );
        // Every dimension and metric named is a member of the root, as the format requires.
        assert_eq!(doc["TableName"], "app-main");
        assert_eq!(doc["AuditWriteFailures"], 1);
    }

    #[test]
    fn the_event_json_holds_every_field() {
        let mut event = AuditEvent::new(AuditAction::Login, AuditOutcome::Failure, 1_000);
        event.actor = Some("a".into());
        event.target = Some("t".into());
        event.source_ip = Some("198.51.100.7".into());
        event.user_agent = Some("agent \"quoted\"".into());
        event.request_id = Some("r".into());
        event.detail = Some("wrong_password".into());
        let json: serde_json::Value = serde_json::from_str(&event_json(&event, 2_000)).unwrap();
        assert_eq!(
            json,
            json!({
                "id": event.id,
                "at": "1970-01-01T00:00:01.000Z",
                "action": "login",
                "outcome": "failure",
                "actor": "a",
                "target": "t",
                "sourceIp": "198.51.100.7",
                "userAgent": "agent \"quoted\"",
                "requestId": "r",
                "detail": "wrong_password",
                "keepUntil": "1970-01-01T00:00:02.000Z",
            })
        );
    }

    #[test]
    fn pauses_grow_and_are_jittered_within_half_to_all() {
        let retry = AuditRetry {
            first_pause: Duration::from_millis(40),
            ..AuditRetry::default()
        };
        for (next, ceiling) in [(1, 40u128), (2, 80), (3, 160)] {
            for _ in 0..50 {
                let pause = retry.pause(next).as_millis();
                assert!((ceiling / 2..=ceiling).contains(&pause), "{next}: {pause}");
            }
        }
    }

    #[test]
    fn unavailable_is_tried_four_times_and_another_error_twice() {
        let retry = AuditRetry::default();
        let unavailable = || StoreError::Unavailable("timed out".into());
        let backend = || StoreError::backend("refused");
        // How many tries a run of answers gets before giving up (or `None`: it would go on).
        let tries = |answers: &[StoreError]| {
            let mut tries = Tries::default();
            for answer in answers {
                tries.made += 1;
                if !retry.again(&mut tries, answer) {
                    return Some(tries.made);
                }
            }
            None
        };
        assert_eq!(
            tries(&[unavailable(), unavailable(), unavailable(), unavailable()]),
            Some(4)
        );
        assert_eq!(tries(&[unavailable(), unavailable(), unavailable()]), None);
        assert_eq!(tries(&[backend(), backend()]), Some(2));
        assert_eq!(tries(&[backend()]), None);
        assert_eq!(
            tries(&[unavailable(), backend(), unavailable(), backend()]),
            Some(4)
        );
        assert_eq!(
            tries(&[backend(), unavailable(), unavailable(), unavailable()]),
            Some(4)
        );
        assert_eq!(tries(&[StoreError::Conflict]), Some(1));
    }
}
