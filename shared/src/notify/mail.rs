//! E-mail delivery: through an SMTP relay when one is configured, otherwise into `.eml` files
//! a developer can open.

mod files;
mod message;
mod settings;
mod smtp;

use std::path::PathBuf;

use lettre::message::Mailbox;

use super::DeliveryError;
use crate::config::ConfigError;
pub use settings::{MailSettings, SmtpSecurity, SmtpSettings};
pub use smtp::SmtpRelay;

/// A rendered message to one address. Values placed in `html` must already be escaped
/// (`notify::html::escape`).
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub enum MailTransport {
    Smtp { relay: SmtpRelay, from: Mailbox },
    Files { dir: PathBuf, from: Mailbox },
}

impl MailTransport {
    pub fn from_settings(settings: &MailSettings) -> Result<Self, ConfigError> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|error| ConfigError(format!("MAIL_FROM `{}`: {error}", settings.from)))?;
        Ok(match &settings.smtp {
            Some(smtp) => Self::Smtp {
                relay: SmtpRelay::new(smtp, from.email.domain())?,
                from,
            },
            None => Self::Files {
                dir: settings.files_dir.clone(),
                from,
            },
        })
    }

    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), DeliveryError> {
        match self {
            Self::Smtp { relay, from } => relay.send(message::build(from, mail)?.message).await,
            Self::Files { dir, from } => files::write(dir, message::build(from, mail)?, mail).await,
        }
    }
}
