//! Logging: JSON lines in Lambda (CloudWatch), compact human-readable lines locally.
//! The level comes from `RUST_LOG` (e.g. `info`, `warn,shared=debug`).

use std::io::Write;

use serde_json::json;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub fn init() {
    let filter: Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let registry = tracing_subscriber::registry().with(filter);
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let result = if in_lambda {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .without_time(),
            )
            .try_init()
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .compact()
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout())),
            )
            .try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}

/// The CloudWatch namespace of the metrics functions print (template.yaml's alarms watch them).
pub const METRIC_NAMESPACE: &str = "ServerlessBackend";

/// One CloudWatch embedded-metric-format document: `metric` = 1 (Count) in
/// [`METRIC_NAMESPACE`], by the one dimension `dimension` = `value`, at `at_ms`.
pub fn count_metric_line(metric: &str, dimension: &str, value: &str, at_ms: i64) -> String {
    json!({
        "_aws": {
            "Timestamp": at_ms,
            "CloudWatchMetrics": [{
                "Namespace": METRIC_NAMESPACE,
                "Dimensions": [[dimension]],
                "Metrics": [{ "Name": metric, "Unit": "Count" }],
            }],
        },
        dimension: value,
        metric: 1,
    })
    .to_string()
}

/// Prints a metric line on a line of its own on stdout, which is what CloudWatch Logs reads
/// metrics from (embedded metric format); the log lines around it may be formatted any way.
pub fn print_metric_line(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
}
