//! Time as the store keeps it: milliseconds since the Unix epoch.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// The time that rules which depend on the time of day read (one-time codes, their
/// challenges): the system's, or in tests one that stands still until moved, so a test can put
/// a code just inside or outside its window without waiting for it.
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<std::sync::Arc<std::sync::atomic::AtomicI64>>);

impl Clock {
    /// Reads the system clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// Stands at `ms` until `set` or `advance` moves it; clones move together.
    pub fn fixed(ms: i64) -> Self {
        Self(Some(std::sync::Arc::new(ms.into())))
    }

    pub fn now_ms(&self) -> i64 {
        match &self.0 {
            None => now_ms(),
            Some(at) => at.load(std::sync::atomic::Ordering::SeqCst),
        }
    }

    /// Moves a fixed clock to `ms` (a system clock ignores it).
    pub fn set(&self, ms: i64) {
        if let Some(at) = &self.0 {
            at.store(ms, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Moves a fixed clock by `ms` (a system clock ignores it).
    pub fn advance(&self, ms: i64) {
        if let Some(at) = &self.0 {
            at.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// Always three fractional digits, so the strings of two instants sort as the instants do.
const MILLIS_UTC: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// RFC 3339 text of an epoch-milliseconds instant, as the API returns it (UTC, milliseconds).
pub fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(MILLIS_UTC).ok())
        .unwrap_or_default()
}

/// The epoch-milliseconds instant of RFC 3339 text, if it is some.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let time = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(time.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_print_with_fixed_millisecond_precision_and_parse_back() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_543_200_170), "2026-11-24T18:00:00.170Z");
        assert!(rfc3339(1_795_543_200_170) < rfc3339(1_795_543_200_200));
        assert_eq!(
            parse_rfc3339(&rfc3339(1_795_543_200_170)),
            Some(1_795_543_200_170)
        );
        assert_eq!(
            parse_rfc3339("2026-11-24T19:00:00.17+01:00"),
            Some(1_795_543_200_170)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
