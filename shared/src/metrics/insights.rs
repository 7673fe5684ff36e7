//! Plain-language findings from a snapshot, each with the numbers behind it.

use serde::Serialize;

use super::snapshot::{Day, Snapshot};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Insight {
    /// Stable name of the rule that found it.
    pub kind: &'static str,
    /// `info`, `warning` or `alert`.
    pub severity: &'static str,
    pub message: String,
    pub numbers: serde_json::Value,
}

/// A week-over-week change this large (either way) is worth a line.
const NOTABLE_CHANGE: f64 = 0.2;
/// Failed logins this many times the 7-day median (and at least `MIN_FAILED`) are an alert.
const FAILED_LOGIN_FACTOR: i64 = 3;
const MIN_FAILED: i64 = 10;
/// Days without a published post before it is worth saying.
const QUIET_DAYS: usize = 3;

fn sum(days: &[Day], field: impl Fn(&Day) -> i64) -> i64 {
    days.iter().map(field).sum()
}

fn median(mut values: Vec<i64>) -> i64 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    values[values.len() / 2]
}

pub fn insights(snapshot: &Snapshot) -> Vec<Insight> {
    let days = &snapshot.days;
    let mut found = Vec::new();
    if days.len() >= 14 {
        let this_week = &days[days.len() - 7..];
        let last_week = &days[days.len() - 14..days.len() - 7];
        let (now, before) = (sum(this_week, |d| d.signups), sum(last_week, |d| d.signups));
        let numbers = serde_json::json!({ "thisWeek": now, "lastWeek": before });
        if before == 0 && now > 0 {
            found.push(Insight {
                kind: "signups_week_over_week",
                severity: "info",
                message: format!("signups: {now} this week, none the week before"),
                numbers,
            });
        } else if before > 0 {
            let change = (now - before) as f64 / before as f64;
            if change.abs() >= NOTABLE_CHANGE {
                let direction = if change > 0.0 { "up" } else { "down" };
                found.push(Insight {
                    kind: "signups_week_over_week",
                    severity: if change > 0.0 { "info" } else { "warning" },
                    message: format!(
                        "signups {direction} {:.0}% week over week ({now} vs {before})",
                        change.abs() * 100.0
                    ),
                    numbers,
                });
            }
        }
    }
    if let Some((today, previous)) = days.split_last() {
        let week = previous
            .iter()
            .rev()
            .take(7)
            .map(|d| d.failed_logins)
            .collect();
        let usual = median(week);
        let failed = today.failed_logins;
        if failed >= MIN_FAILED && failed >= FAILED_LOGIN_FACTOR * usual.max(1) {
            let message = if usual == 0 {
                format!("failed logins today: {failed}, against a 7-day median of 0")
            } else {
                format!(
                    "failed logins {}× the 7-day median today ({failed} vs {usual})",
                    failed / usual
                )
            };
            found.push(Insight {
                kind: "failed_logins_spike",
                severity: "alert",
                message,
                numbers: serde_json::json!({ "today": failed, "median7d": usual }),
            });
        }
        if today.lockouts > 0 {
            found.push(Insight {
                kind: "lockouts_today",
                severity: "warning",
                message: format!("{} account lock(s) today", today.lockouts),
                numbers: serde_json::json!({ "today": today.lockouts }),
            });
        }
    }
    for queue in &snapshot.queues {
        if queue.dead_letters > 0 {
            let what = match queue.queue.as_str() {
                "email" => "e-mails",
                "telegram" => "Telegram notices",
                other => other,
            };
            found.push(Insight {
                kind: "dead_letters",
                severity: "alert",
                message: format!("DLQ not empty: {} {what} failed", queue.dead_letters),
                numbers: serde_json::json!({ "queue": queue.queue, "deadLetters": queue.dead_letters }),
            });
        }
    }
    if snapshot.totals.posts > 0 && days.len() >= QUIET_DAYS {
        let recent = &days[days.len() - QUIET_DAYS..];
        if sum(recent, |d| d.posts_published) == 0 {
            found.push(Insight {
                kind: "no_recent_posts",
                severity: "info",
                message: format!("no posts published in {QUIET_DAYS} days"),
                numbers: serde_json::json!({ "days": QUIET_DAYS, "published": 0 }),
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::snapshot::{QueueDepth, Totals};

    fn snapshot(days: Vec<Day>, queues: Vec<QueueDepth>, posts: i64) -> Snapshot {
        Snapshot {
            bucket: String::new(),
            generated_at: String::new(),
            totals: Totals {
                posts,
                ..Totals::default()
            },
            days,
            queues,
        }
    }

    fn days(n: usize, each: impl Fn(usize) -> Day) -> Vec<Day> {
        (0..n).map(each).collect()
    }

    #[test]
    fn finds_each_kind_with_its_numbers() {
        let history = days(14, |i| Day {
            signups: if i < 7 { 60 / 7 + i64::from(i < 4) } else { 12 },
            failed_logins: if i == 13 { 50 } else { 10 },
            posts_published: i64::from(i < 5),
            lockouts: i64::from(i == 13),
            ..Day::default()
        });
        let dlq = vec![QueueDepth {
            queue: "email".into(),
            waiting: 0,
            dead_letters: 3,
        }];
        let found = insights(&snapshot(history, dlq, 9));
        let messages: Vec<&str> = found.iter().map(|i| i.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "signups up 40% week over week (84 vs 60)",
                "failed logins 5× the 7-day median today (50 vs 10)",
                "1 account lock(s) today",
                "DLQ not empty: 3 e-mails failed",
                "no posts published in 3 days",
            ]
        );
        assert_eq!(
            found[0].numbers,
            serde_json::json!({ "thisWeek": 84, "lastWeek": 60 })
        );
    }

    #[test]
    fn quiet_data_finds_nothing() {
        let history = days(90, |_| Day {
            signups: 5,
            failed_logins: 2,
            posts_published: 1,
            ..Day::default()
        });
        assert!(insights(&snapshot(history, Vec::new(), 90)).is_empty());
    }
}
