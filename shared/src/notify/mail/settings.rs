//! What the mail transport is built from.

use std::path::PathBuf;

use secrecy::SecretString;

#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `MAIL_FROM`, e.g. `App <no-reply@example.com>`.
    pub from: String,
    /// The relay to send through; without one, messages are written to `files_dir`.
    pub smtp: Option<SmtpSettings>,
    pub files_dir: PathBuf,
}

/// Derived `Debug` is safe: `SecretString` prints as redacted.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<SecretString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which must succeed (usually port 587).
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// No encryption: accepted only for a server on a loopback address.
    None,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_password() {
        let settings = SmtpSettings {
            host: "smtp.example.com".into(),
            port: 587,
            security: SmtpSecurity::StartTls,
            username: Some("mailer".into()),
            password: Some("hunter2-secret".into()),
        };
        let printed = format!("{settings:?}");
        assert!(printed.contains("mailer"), "{printed}");
        assert!(!printed.contains("hunter2-secret"), "{printed}");
    }
}
