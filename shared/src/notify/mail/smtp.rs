//! Delivery through an SMTP relay.

use std::net::IpAddr;
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use super::{SmtpSecurity, SmtpSettings};
use crate::config::ConfigError;
use crate::notify::DeliveryError;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole exchange: lettre's own timeout covers only the TCP connect.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// A relay opened afresh for each message; a warm function holds no idle connection.
pub struct SmtpRelay {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpRelay {
    /// `hello_domain` names this client in EHLO; without it the relay would be greeted as
    /// `localhost`, which some servers hold against the sender.
    pub fn new(settings: &SmtpSettings, hello_domain: &str) -> Result<Self, ConfigError> {
        let host = &settings.host;
        let tls = match settings.security {
            SmtpSecurity::StartTls => Tls::Required(tls_parameters(host)?),
            SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(host)?),
            SmtpSecurity::None if is_loopback(host) => Tls::None,
            SmtpSecurity::None => {
                return Err(ConfigError(format!(
                    "SMTP without TLS is only allowed to a loopback host, not `{host}`"
                )));
            }
        };
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(CONNECT_TIMEOUT))
            .hello_name(ClientId::Domain(hello_domain.to_owned()));
        let builder = match (&settings.username, &settings.password) {
            (Some(username), Some(password)) => builder.credentials(Credentials::new(
                username.clone(),
                password.expose_secret().to_owned(),
            )),
            (None, None) => builder,
            _ => {
                return Err(ConfigError(
                    "the SMTP username and password must be set together".into(),
                ));
            }
        };
        Ok(Self {
            transport: builder.build(),
        })
    }

    pub async fn send(&self, message: Message) -> Result<(), DeliveryError> {
        match tokio::time::timeout(SEND_TIMEOUT, self.transport.send(message)).await {
            Ok(Ok(_response)) => Ok(()),
            Ok(Err(error)) => Err(classify(error)),
            Err(_elapsed) => Err(DeliveryError::Transient(format!(
                "SMTP exchange took longer than {} s",
                SEND_TIMEOUT.as_secs()
            ))),
        }
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, ConfigError> {
    TlsParameters::new(host.to_owned())
        .map_err(|error| ConfigError(format!("SMTP TLS setup for `{host}`: {error}")))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A 5xx reply, or a message lettre refuses to send, fails the same way next time; anything
/// else (4xx, connection, TLS, timeout) may not.
fn classify(error: lettre::transport::smtp::Error) -> DeliveryError {
    if error.is_permanent() || error.is_client() {
        DeliveryError::Permanent(format!("SMTP: {error}"))
    } else {
        DeliveryError::Transient(format!("SMTP: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(host: &str, security: SmtpSecurity) -> SmtpSettings {
        SmtpSettings {
            host: host.into(),
            port: 25,
            security,
            username: None,
            password: None,
        }
    }

    #[test]
    fn plain_smtp_is_refused_unless_the_host_is_loopback() {
        for host in ["127.0.0.1", "::1", "localhost"] {
            assert!(SmtpRelay::new(&settings(host, SmtpSecurity::None), "example.com").is_ok());
        }
        for host in ["smtp.example.com", "10.0.0.1"] {
            assert!(SmtpRelay::new(&settings(host, SmtpSecurity::None), "example.com").is_err());
        }
    }

    #[test]
    fn a_username_without_a_password_is_a_configuration_error() {
        let settings = SmtpSettings {
            username: Some("mailer".into()),
            ..settings("127.0.0.1", SmtpSecurity::None)
        };
        assert!(SmtpRelay::new(&settings, "example.com").is_err());
    }
}
