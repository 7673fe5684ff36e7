//! Building the workers' deliveries from the environment, with credentials from Secrets
//! Manager on AWS (`SMTP_SECRET_ID`, `TELEGRAM_SECRET_ID`: JSON objects) or from variables
//! locally. What a worker needs and does not have fails its start, naming the variable.

use std::path::Path;

use aws_types::SdkConfig;
use secrecy::SecretString;
use serde::Deserialize;

use super::{Deliveries, TelegramDelivery};
use crate::BoxError;
use crate::notify::mail::{MailSettings, MailTransport, SmtpSecurity, SmtpSettings};
use crate::notify::telegram::{DEFAULT_API_BASE, Telegram, TelegramConfig};

const DEFAULT_FROM: &str = "Serverless Backend <no-reply@localhost>";

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Which channels a worker must have, and whether files stand in for a missing one (local runs).
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    pub mail: bool,
    pub telegram: bool,
    pub files_fallback: bool,
}

#[derive(Deserialize)]
struct SmtpSecret {
    username: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TelegramSecret {
    bot_token: String,
}

async fn secret_json<T: for<'de> Deserialize<'de>>(
    aws: Option<&SdkConfig>,
    secret_id: &str,
) -> Result<T, BoxError> {
    let aws = aws.ok_or("secrets need the AWS configuration")?;
    let client = aws_sdk_secretsmanager::Client::new(aws);
    let text = crate::secrets::secret_string(&client, secret_id).await?;
    serde_json::from_str(&text)
        .map_err(|e| format!("secret {secret_id} is not the expected JSON: {e}").into())
}

async fn smtp_settings(aws: Option<&SdkConfig>) -> Result<Option<SmtpSettings>, BoxError> {
    let Some(host) = var("SMTP_HOST") else {
        return Ok(None);
    };
    let security = match var("SMTP_SECURITY").as_deref() {
        None | Some("starttls") => SmtpSecurity::StartTls,
        Some("tls") => SmtpSecurity::Tls,
        Some("none") => SmtpSecurity::None,
        Some(other) => {
            return Err(
                format!("SMTP_SECURITY must be starttls, tls or none, not `{other}`").into(),
            );
        }
    };
    let default_port = if security == SmtpSecurity::Tls {
        465
    } else {
        587
    };
    let port = match var("SMTP_PORT") {
        Some(port) => port
            .parse()
            .map_err(|_| "SMTP_PORT must be a port number")?,
        None => default_port,
    };
    let (username, password) = match var("SMTP_SECRET_ID") {
        Some(id) => {
            let secret: SmtpSecret = secret_json(aws, &id).await?;
            (Some(secret.username), Some(secret.password))
        }
        None => (var("SMTP_USERNAME"), var("SMTP_PASSWORD")),
    };
    Ok(Some(SmtpSettings {
        host,
        port,
        security,
        username,
        password: password.map(SecretString::from),
    }))
}

async fn telegram_delivery(
    aws: Option<&SdkConfig>,
    data_dir: &Path,
    needs: Needs,
) -> Result<Option<TelegramDelivery>, BoxError> {
    let token = match var("TELEGRAM_SECRET_ID") {
        Some(id) => Some(secret_json::<TelegramSecret>(aws, &id).await?.bot_token),
        None => var("TELEGRAM_BOT_TOKEN"),
    };
    let chat_id = var("TELEGRAM_ADMIN_CHAT_ID");
    match (token, chat_id) {
        (Some(token), Some(chat_id)) => Ok(Some(TelegramDelivery::Bot(Box::new(Telegram::new(
            TelegramConfig {
                api_base: var("TELEGRAM_API_BASE").unwrap_or_else(|| DEFAULT_API_BASE.into()),
                bot_token: SecretString::from(token),
                admin_chat_id: chat_id,
            },
        ))))),
        (None, chat_id) if needs.files_fallback => Ok(Some(TelegramDelivery::Files {
            dir: data_dir.join("telegram"),
            chat_id: chat_id.unwrap_or_else(|| "admin-chat".into()),
        })),
        (Some(_), None) if needs.telegram => Err("TELEGRAM_ADMIN_CHAT_ID is not set".into()),
        (None, _) if needs.telegram => {
            Err("TELEGRAM_SECRET_ID (or TELEGRAM_BOT_TOKEN) is not set".into())
        }
        _ => Ok(None),
    }
}

impl Deliveries {
    /// The channels `needs` asks for, from the environment.
    pub async fn from_env(
        aws: Option<&SdkConfig>,
        data_dir: &Path,
        needs: Needs,
    ) -> Result<Self, BoxError> {
        let smtp = smtp_settings(aws).await?;
        let mail = if smtp.is_some() || needs.files_fallback {
            let settings = MailSettings {
                from: var("MAIL_FROM").unwrap_or_else(|| DEFAULT_FROM.into()),
                smtp,
                files_dir: data_dir.join("mail"),
            };
            Some(MailTransport::from_settings(&settings)?)
        } else if needs.mail {
            return Err("SMTP_HOST is not set".into());
        } else {
            None
        };
        Ok(Self {
            mail,
            telegram: telegram_delivery(aws, data_dir, needs).await?,
        })
    }

    /// One line per channel, for the start-up log and `/health`.
    pub fn describe(&self) -> (&'static str, &'static str) {
        let mail = match &self.mail {
            Some(MailTransport::Smtp { .. }) => "smtp",
            Some(MailTransport::Files { .. }) => "files",
            None => "off",
        };
        let telegram = match &self.telegram {
            Some(TelegramDelivery::Bot(_)) => "bot",
            Some(TelegramDelivery::Files { .. }) => "files",
            None => "off",
        };
        (mail, telegram)
    }
}
