//! Taking one from several counters at once, all or none.

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{Quota, RateLimits, Rule};
use crate::http::ApiError;
use crate::store::{Counter, CounterState, LimitStore, StoreError};

/// The counters in the store and the rules they are counted against.
#[derive(Clone, Copy)]
pub struct Limits<'a> {
    pub store: &'a dyn LimitStore,
    pub rules: &'a RateLimits,
}

/// A fixed-length, non-reversible name for what is counted (an address, an e-mail): keys stay
/// short whatever the input, and the table holds no addresses in clear.
pub fn subject(parts: &[&str]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, parts.join("\n").as_bytes());
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
}

/// The source address as counted: an IPv6 client by its /64 (every subscriber gets at least
/// that many addresses to pick from), an IPv4-mapped one as IPv4. Requests without an address
/// (never on API Gateway) share a bucket.
pub fn ip_subject(ip: Option<IpAddr>) -> String {
    let counted = match ip.map(|ip| ip.to_canonical()) {
        None => "unknown".to_owned(),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(ip @ IpAddr::V6(_)) => crate::domain::source_network(ip).to_string(),
    };
    subject(&["ip", &counted])
}

impl Limits<'_> {
    /// Takes one from a budget shared by every caller (`name`, e.g. the admins' lead notices):
    /// false once it is spent for the window. Always true with limits off; a store error counts
    /// as spent (the caller then does the cheaper thing).
    pub async fn take_shared_budget(&self, name: &str, rule: Rule, now: i64) -> bool {
        if !self.rules.enabled {
            return true;
        }
        let budget = counter(name, rule, &subject(&[name]), now);
        match self.store.take(&budget, now).await {
            Ok(Some(_)) => true,
            Ok(None) => {
                tracing::info!(budget = name, "shared budget spent for this window");
                false
            }
            Err(error) => {
                tracing::warn!(error = ?error, budget = name, "taking from a shared budget");
                false
            }
        }
    }

    /// Takes one from every counter, concurrently; if any is full, gives the others back and
    /// answers 429 with that counter's quota (`detail` says what to do).
    pub async fn take_all(
        &self,
        counters: Vec<Counter>,
        now: i64,
        detail: &str,
    ) -> Result<Taken, ApiError> {
        let takes = take_each(&counters, now, |c| self.store.take(c, now)).await;
        if let Some(quota) = takes.tightest_full() {
            give_back(self.store, &takes.taken).await;
            return Err(too_many(quota, detail));
        }
        if let Some(error) = takes.failure {
            give_back(self.store, &takes.taken).await;
            return Err(error.into());
        }
        Ok(Taken {
            counters,
            counts: takes.counts,
            quota: takes.quota,
        })
    }

    /// Reserves one in every counter, concurrently, for an attempt that counts only once it
    /// turns out to (a sign-in: only a failure): each is pending until `Taken::settle` or
    /// `pending_until`. All or none: if any is full, the others are given back and the full ones
    /// are the error, each with its quota.
    pub async fn reserve_all(
        &self,
        counters: Vec<Counter>,
        now: i64,
        pending_until: i64,
    ) -> Result<Result<Taken, Vec<(Counter, Quota)>>, ApiError> {
        let takes = take_each(&counters, now, |c| self.store.reserve(c, pending_until)).await;
        if !takes.full.is_empty() || takes.failure.is_some() {
            settle(self.store, &takes.taken, false).await;
        }
        if let Some(error) = takes.failure {
            return Err(error.into());
        }
        if !takes.full.is_empty() {
            return Ok(Err(takes.full));
        }
        Ok(Ok(Taken {
            counters,
            counts: takes.counts,
            quota: takes.quota,
        }))
    }

    /// Counts a request against a route's per-address and per-e-mail limits (both, or a 429
    /// naming the tighter one). `None` when limits are off.
    /// Counts a request of `route` from `ip` against `rule` (429 past it).
    pub async fn count_from_ip(
        &self,
        route: &str,
        rule: Rule,
        ip: Option<IpAddr>,
        now: i64,
    ) -> Result<Option<Quota>, ApiError> {
        if !self.rules.enabled {
            return Ok(None);
        }
        let counters = vec![counter(&format!("{route}-ip"), rule, &ip_subject(ip), now)];
        let detail = "too many requests of this kind; wait before trying again";
        Ok(self.take_all(counters, now, detail).await?.quota)
    }

    pub async fn count_request(
        &self,
        route: &str,
        (ip_rule, email_rule): (Rule, Rule),
        ip: Option<IpAddr>,
        email: &str,
        now: i64,
    ) -> Result<Option<Quota>, ApiError> {
        // `email`: the address the request is about (an e-mail; a phone for leads).
        if !self.rules.enabled {
            return Ok(None);
        }
        let counters = vec![
            counter(&format!("{route}-ip"), ip_rule, &ip_subject(ip), now),
            counter(
                &format!("{route}-email"),
                email_rule,
                &subject(&["email", email]),
                now,
            ),
        ];
        let detail = "too many requests of this kind; wait before trying again";
        Ok(self.take_all(counters, now, detail).await?.quota)
    }
}

/// What taking one from each of several counters gave.
struct Takes {
    taken: Vec<Counter>,
    /// The count of each taken counter after taking.
    counts: Vec<u32>,
    /// The tightest taken counter's.
    quota: Option<Quota>,
    /// The counters that were full, each with its quota.
    full: Vec<(Counter, Quota)>,
    failure: Option<StoreError>,
}

impl Takes {
    fn tightest_full(&self) -> Option<Quota> {
        self.full
            .iter()
            .map(|(_, quota)| *quota)
            .reduce(Quota::tightest)
    }
}

async fn take_each<'c, F, Fut>(counters: &'c [Counter], now: i64, take: F) -> Takes
where
    F: Fn(&'c Counter) -> Fut,
    Fut: Future<Output = Result<Option<u32>, StoreError>>,
{
    let results = futures_util::future::join_all(counters.iter().map(take)).await;
    let mut takes = Takes {
        taken: Vec::new(),
        counts: Vec::new(),
        quota: None,
        full: Vec::new(),
        failure: None,
    };
    for (counter, result) in counters.iter().zip(results) {
        let reset_secs = Quota::seconds_until(counter.window_end, now);
        match result {
            Ok(Some(count)) => {
                let this = Quota {
                    limit: counter.limit,
                    remaining: counter.limit.saturating_sub(count),
                    reset_secs,
                };
                takes.quota = Some(takes.quota.map_or(this, |q| q.tightest(this)));
                takes.taken.push(counter.clone());
                takes.counts.push(count);
            }
            Ok(None) => {
                let quota = Quota {
                    limit: counter.limit,
                    remaining: 0,
                    reset_secs,
                };
                takes.full.push((counter.clone(), quota));
            }
            Err(error) => takes.failure = Some(error),
        }
    }
    takes
}

/// `rule`'s counter for `subject` in the window that holds `now`.
pub fn counter(name: &str, rule: Rule, subject: &str, now: i64) -> Counter {
    let window = rule.window.as_millis().max(1) as i64;
    let index = now.div_euclid(window);
    Counter {
        key: format!("{name}#{subject}#{index}"),
        limit: rule.limit,
        window_end: (index + 1) * window,
    }
}

/// One taken from each counter.
#[derive(Debug)]
pub struct Taken {
    pub counters: Vec<Counter>,
    /// The count of each counter after taking.
    pub counts: Vec<u32>,
    /// The tightest counter's (none when nothing was counted).
    pub quota: Option<Quota>,
}

impl Taken {
    /// Gives every count back (the attempt turned out not to count). A failure only logs: the
    /// counter then over-counts by one until its window ends.
    pub async fn give_back(&self, store: &dyn LimitStore) {
        give_back(store, &self.counters).await;
    }

    /// Settles what `Limits::reserve_all` reserved: kept when the attempt `counts`, otherwise
    /// given back. Each counter as it is after, in order (`None` where it could not be read: a
    /// store error, logged, leaves that one pending until its `pending_until`).
    pub async fn settle(&self, store: &dyn LimitStore, counts: bool) -> Vec<Option<CounterState>> {
        settle(store, &self.counters, counts).await
    }
}

async fn settle(
    store: &dyn LimitStore,
    counters: &[Counter],
    counts: bool,
) -> Vec<Option<CounterState>> {
    let settles = counters.iter().map(|c| store.settle(c, counts));
    let results = futures_util::future::join_all(settles).await;
    results
        .into_iter()
        .map(|result| {
            result
                .inspect_err(|error| tracing::warn!(error = ?error, "settling a rate-limit count"))
                .ok()
                .flatten()
        })
        .collect()
}

async fn give_back(store: &dyn LimitStore, counters: &[Counter]) {
    let returns = counters.iter().map(|c| store.give_back(c));
    for result in futures_util::future::join_all(returns).await {
        if let Err(error) = result {
            tracing::warn!(error = ?error, "giving back a rate-limit count");
        }
    }
}

/// The answer once a limit is reached: the same for every limit of a route.
pub fn too_many(quota: Quota, detail: &str) -> ApiError {
    ApiError::TooManyRequests {
        code: "too_many_requests",
        detail: detail.to_owned(),
        quota,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn one_ipv6_subscriber_is_one_address() {
        assert_eq!(
            ip_subject(ip("2001:db8:1:1::1")),
            ip_subject(ip("2001:db8:1:1:ffff::9"))
        );
        assert_ne!(
            ip_subject(ip("2001:db8:1:1::1")),
            ip_subject(ip("2001:db8:1:2::1"))
        );
        assert_eq!(
            ip_subject(ip("::ffff:203.0.113.5")),
            ip_subject(ip("203.0.113.5"))
        );
        assert_ne!(ip_subject(ip("203.0.113.5")), ip_subject(ip("203.0.113.6")));
        assert_ne!(ip_subject(None), ip_subject(ip("203.0.113.5")));
    }
}
