//! What a limited route tells the client about its limit: the `RateLimit-*` headers.

use http::HeaderMap;
use http::header::HeaderValue;

/// The tightest of the limits a request was counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window (or lock) ends.
    pub reset_secs: u64,
}

impl Quota {
    /// Seconds from `now` to `until` (epoch ms), rounded up, at least one.
    pub fn seconds_until(until: i64, now: i64) -> u64 {
        (until.saturating_sub(now).max(1) as u64).div_ceil(1000)
    }

    /// The one with the fewest left (then the longest wait).
    pub fn tightest(self, other: Quota) -> Quota {
        if (other.remaining, u64::MAX - other.reset_secs)
            < (self.remaining, u64::MAX - self.reset_secs)
        {
            other
        } else {
            self
        }
    }

    pub fn write(&self, headers: &mut HeaderMap) {
        headers.insert("ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(self.reset_secs));
    }
}

/// Adds the quota's headers, if any, to a response or error that has none of its own (a 429
/// from a narrower limit keeps the headers of that limit).
pub fn with_quota(
    quota: Option<Quota>,
    response: impl axum::response::IntoResponse,
) -> axum::response::Response {
    let mut response = response.into_response();
    if let Some(quota) = quota
        && !response.headers().contains_key("ratelimit-limit")
    {
        quota.write(response.headers_mut());
    }
    response
}
