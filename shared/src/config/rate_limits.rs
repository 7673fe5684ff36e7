//! The application-layer rate limits (`limits` applies them): every limit is `<count>/<window>`
//! (e.g. `5/15m`) from the environment.

use std::time::Duration;

use super::{ConfigError, flag, seconds, var};

/// At most `limit` in each fixed `window` (windows start at multiples of its length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub limit: u32,
    pub window: Duration,
}

impl Rule {
    const fn per(limit: u32, window_secs: u64) -> Self {
        Self {
            limit,
            window: Duration::from_secs(window_secs),
        }
    }

    /// `5/15m`, `20/1h`, `3/30s`, `100/1d`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (count, window) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not <count>/<window>, e.g. 5/15m"))?;
        let limit: u32 = count
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("`{count}` is not a count above zero"))?;
        let window = window.trim();
        let (amount, unit) = window.split_at(window.len().saturating_sub(1));
        let unit_secs = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(format!("`{window}` must end in s, m, h or d")),
        };
        let amount: u64 = amount
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("`{window}` is not a window above zero"))?;
        Ok(Self {
            limit,
            window: Duration::from_secs(amount * unit_secs),
        })
    }
}

/// Every application-layer limit. `RATE_LIMITS=off` turns them all off (load tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    pub enabled: bool,
    /// Failed logins for one account from one address.
    pub login_account_ip: Rule,
    /// Failed logins for one account from anywhere; filling it locks the account.
    pub login_account: Rule,
    /// Failed logins from one address, whatever the account (credential stuffing).
    pub login_ip: Rule,
    pub register_ip: Rule,
    pub register_email: Rule,
    pub forgot_password_ip: Rule,
    pub forgot_password_email: Rule,
    /// Sign-in mails asked for from one address, and for one account's address.
    pub email_login_ip: Rule,
    pub email_login_email: Rule,
    /// Social sign-ins started from one address (each stores a state for 10 minutes).
    pub oauth_start_ip: Rule,
    /// Passkey ceremonies started from one address (each stores its state for 5 minutes).
    pub passkey_options_ip: Rule,
    pub verify_resend_ip: Rule,
    pub verify_resend_email: Rule,
    /// Leads from one source address, and for one phone number.
    pub lead_ip: Rule,
    pub lead_phone: Rule,
    /// Lead notices to the admins (Telegram, mail) from all sources together: past it, leads are
    /// stored and listed but not announced one by one, so a flood from many addresses can
    /// neither drown the admins' chat nor starve the security notices that share its queue.
    pub lead_notices: Rule,
    /// The first lock's length; each lock in a row doubles it, up to `lockout_max`.
    pub lockout_base: Duration,
    pub lockout_max: Duration,
    /// How long a sign-in waits for attempts still being checked when they fill a count.
    pub login_wait: Duration,
    /// How long a sign-in attempt may still be running after it took its counts (the functions'
    /// timeout): one still not settled then died, and counts as failed.
    pub login_attempt_max: Duration,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            enabled: true,
            login_account_ip: Rule::per(5, 15 * 60),
            login_account: Rule::per(20, 15 * 60),
            login_ip: Rule::per(100, 15 * 60),
            register_ip: Rule::per(20, 3600),
            register_email: Rule::per(5, 3600),
            forgot_password_ip: Rule::per(20, 3600),
            // As long as a reset link lives: requests from elsewhere cannot leave the owner
            // without a working link for longer than that.
            forgot_password_email: Rule::per(5, 30 * 60),
            email_login_ip: Rule::per(20, 3600),
            // As long as a sign-in mail lives, for the same reason.
            email_login_email: Rule::per(5, 15 * 60),
            oauth_start_ip: Rule::per(100, 15 * 60),
            passkey_options_ip: Rule::per(100, 15 * 60),
            verify_resend_ip: Rule::per(20, 3600),
            verify_resend_email: Rule::per(5, 3600),
            lead_ip: Rule::per(10, 3600),
            lead_phone: Rule::per(3, 3600),
            lead_notices: Rule::per(60, 3600),
            lockout_base: Duration::from_secs(15 * 60),
            lockout_max: Duration::from_secs(24 * 3600),
            login_wait: Duration::from_secs(5),
            login_attempt_max: Duration::from_secs(10),
        }
    }
}

impl RateLimits {
    /// Everything off, as `RATE_LIMITS=off` gives.
    pub fn off() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let rule = |name: &str, default: Rule| -> Result<Rule, ConfigError> {
            match var(name) {
                None => Ok(default),
                Some(text) => Rule::parse(&text).map_err(|e| ConfigError(format!("{name}: {e}"))),
            }
        };
        let limits = Self {
            enabled: flag("RATE_LIMITS", true)?,
            login_account_ip: rule("RATE_LIMIT_LOGIN_ACCOUNT_IP", defaults.login_account_ip)?,
            login_account: rule("RATE_LIMIT_LOGIN_ACCOUNT", defaults.login_account)?,
            login_ip: rule("RATE_LIMIT_LOGIN_IP", defaults.login_ip)?,
            register_ip: rule("RATE_LIMIT_REGISTER_IP", defaults.register_ip)?,
            register_email: rule("RATE_LIMIT_REGISTER_EMAIL", defaults.register_email)?,
            forgot_password_ip: rule("RATE_LIMIT_FORGOT_PASSWORD_IP", defaults.forgot_password_ip)?,
            forgot_password_email: rule(
                "RATE_LIMIT_FORGOT_PASSWORD_EMAIL",
                defaults.forgot_password_email,
            )?,
            email_login_ip: rule("RATE_LIMIT_EMAIL_LOGIN_IP", defaults.email_login_ip)?,
            email_login_email: rule("RATE_LIMIT_EMAIL_LOGIN_EMAIL", defaults.email_login_email)?,
            oauth_start_ip: rule("RATE_LIMIT_OAUTH_START_IP", defaults.oauth_start_ip)?,
            passkey_options_ip: rule("RATE_LIMIT_PASSKEY_OPTIONS_IP", defaults.passkey_options_ip)?,
            verify_resend_ip: rule("RATE_LIMIT_VERIFY_RESEND_IP", defaults.verify_resend_ip)?,
            verify_resend_email: rule(
                "RATE_LIMIT_VERIFY_RESEND_EMAIL",
                defaults.verify_resend_email,
            )?,
            lead_ip: rule("RATE_LIMIT_LEAD_IP", defaults.lead_ip)?,
            lead_phone: rule("RATE_LIMIT_LEAD_PHONE", defaults.lead_phone)?,
            lead_notices: rule("RATE_LIMIT_LEAD_NOTICES", defaults.lead_notices)?,
            lockout_base: seconds("LOCKOUT_BASE_SECS", defaults.lockout_base)?,
            lockout_max: seconds("LOCKOUT_MAX_SECS", defaults.lockout_max)?,
            login_wait: seconds("LOGIN_WAIT_SECS", defaults.login_wait)?,
            login_attempt_max: seconds("LOGIN_ATTEMPT_MAX_SECS", defaults.login_attempt_max)?,
        };
        if limits.lockout_base.is_zero() || limits.lockout_max < limits.lockout_base {
            return Err(ConfigError(
                "LOCKOUT_BASE_SECS must be above zero and at most LOCKOUT_MAX_SECS".into(),
            ));
        }
        if limits.login_attempt_max.is_zero() {
            return Err(ConfigError(
                "LOGIN_ATTEMPT_MAX_SECS must be above zero".into(),
            ));
        }
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_as_count_per_window() {
        assert_eq!(Rule::parse("5/15m"), Ok(Rule::per(5, 900)));
        assert_eq!(Rule::parse(" 20 / 1h "), Ok(Rule::per(20, 3600)));
        assert_eq!(Rule::parse("3/30s"), Ok(Rule::per(3, 30)));
        assert_eq!(Rule::parse("100/1d"), Ok(Rule::per(100, 86_400)));
        for bad in ["5", "0/1m", "5/0m", "5/15", "5/15w", "x/1m", "5/m", "", "/"] {
            assert!(Rule::parse(bad).is_err(), "{bad}");
        }
    }
}
