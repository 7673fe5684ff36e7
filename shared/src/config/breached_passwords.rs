//! How new passwords are checked against known breaches (`BREACHED_PASSWORDS*`).

use std::path::PathBuf;
use std::time::Duration;

use super::{ConfigError, var};

pub const DEFAULT_RANGE_API: &str = "https://api.pwnedpasswords.com";

/// Which sources a new password is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreachSources {
    /// No check at all.
    Off,
    /// The built-in list of common passwords, and the filter file if one is configured: no
    /// network. The default outside Lambda (template.yaml sets `online`).
    Offline,
    /// The same, then the Have I Been Pwned range API.
    Online,
}

/// What a password gets when the range API (or the filter file) cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnCheckError {
    /// Accepted unchecked, with a warning and a metric line (`BreachedPasswordCheckFailures`).
    Allow,
    /// Not accepted: 503, try again (also counted).
    Refuse,
}

impl OnCheckError {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Refuse => "refuse",
        }
    }
}

#[derive(Debug, Clone)]
pub struct BreachedPasswordsConfig {
    pub check: BreachSources,
    pub on_error: OnCheckError,
    /// The whole range call, connecting included (`BREACHED_PASSWORDS_TIMEOUT`).
    pub timeout: Duration,
    /// The range API's base, without `/range/` (`BREACHED_PASSWORDS_URL`).
    pub url: String,
    /// A set built by `breached-filter` (`BREACHED_PASSWORDS_FILTER`), opened at first use.
    pub filter: Option<PathBuf>,
    /// Times a password must have been seen in breaches (range API) to be refused
    /// (`BREACHED_PASSWORDS_MIN_COUNT`).
    pub min_count: u64,
}

impl Default for BreachedPasswordsConfig {
    fn default() -> Self {
        Self {
            check: BreachSources::Offline,
            on_error: OnCheckError::Allow,
            timeout: Duration::from_millis(1500),
            url: DEFAULT_RANGE_API.to_owned(),
            filter: None,
            min_count: 1,
        }
    }
}

impl BreachedPasswordsConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let check = match var("BREACHED_PASSWORDS").as_deref() {
            None => defaults.check,
            Some("off") => BreachSources::Off,
            Some("offline") => BreachSources::Offline,
            Some("online") => BreachSources::Online,
            Some(other) => {
                return Err(ConfigError(format!(
                    "BREACHED_PASSWORDS must be `off`, `offline` or `online`, not `{other}`"
                )));
            }
        };
        let on_error = match var("BREACHED_PASSWORDS_ON_ERROR").as_deref() {
            None => defaults.on_error,
            Some("allow") => OnCheckError::Allow,
            Some("refuse") => OnCheckError::Refuse,
            Some(other) => {
                return Err(ConfigError(format!(
                    "BREACHED_PASSWORDS_ON_ERROR must be `allow` or `refuse`, not `{other}`"
                )));
            }
        };
        let timeout = match var("BREACHED_PASSWORDS_TIMEOUT") {
            None => defaults.timeout,
            Some(text) => parse_timeout(&text).ok_or_else(|| {
                ConfigError(format!(
                    "BREACHED_PASSWORDS_TIMEOUT must be a time such as `1500ms` or `1.5s` \
                     (up to 10 s), not `{text}`"
                ))
            })?,
        };
        let url = var("BREACHED_PASSWORDS_URL").unwrap_or(defaults.url);
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ConfigError(format!(
                "BREACHED_PASSWORDS_URL must be an http(s) URL, not `{url}`"
            )));
        }
        let min_count = match var("BREACHED_PASSWORDS_MIN_COUNT") {
            None => defaults.min_count,
            Some(text) => text
                .trim()
                .parse()
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| {
                    ConfigError(
                        "BREACHED_PASSWORDS_MIN_COUNT must be a whole number, 1 or more".into(),
                    )
                })?,
        };
        Ok(Self {
            check,
            on_error,
            timeout,
            url,
            filter: var("BREACHED_PASSWORDS_FILTER").map(PathBuf::from),
            min_count,
        })
    }
}

/// `1500ms`, `1.5s`, `2s`, or a bare number of milliseconds; more than zero, at most 10 s (the
/// functions' own timeout).
fn parse_timeout(text: &str) -> Option<Duration> {
    let text = text.trim();
    let duration = if let Some(ms) = text.strip_suffix("ms") {
        Duration::from_millis(ms.trim().parse().ok()?)
    } else if let Some(seconds) = text.strip_suffix('s') {
        Duration::try_from_secs_f64(seconds.trim().parse().ok()?).ok()?
    } else {
        Duration::from_millis(text.parse().ok()?)
    };
    (!duration.is_zero() && duration <= Duration::from_secs(10)).then_some(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_in_milliseconds_or_seconds() {
        assert_eq!(parse_timeout("1500ms"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_timeout("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_timeout(" 2s "), Some(Duration::from_secs(2)));
        assert_eq!(parse_timeout("800"), Some(Duration::from_millis(800)));
        for bad in ["", "0", "0s", "-1s", "fast", "11s", "NaNs", "1e400s"] {
            assert_eq!(parse_timeout(bad), None, "{bad}");
        }
    }
}
