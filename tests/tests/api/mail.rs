//! E-mail delivery: through a real SMTP server (aiosmtpd, started per test on a free loopback
//! port, keeping what it receives in a Maildir) and into `.eml` files.

use crate::support;

use std::path::Path;

use mail_parser::{Message, MessageParser};
use shared::notify::DeliveryError;
use shared::notify::html::escape;
use shared::notify::mail::{MailSettings, MailTransport, OutgoingMail, SmtpSecurity, SmtpSettings};
use support::smtp::{SmtpServer, files_in, free_port};

const FROM: &str = "App <no-reply@example.com>";
const TO: &str = "zoe@example.org";
const SUBJECT: &str = "Confirm your address, Zoë";
const HOSTILE_NAME: &str = "<script>alert(1)</script>";

/// Long enough to be wrapped by quoted-printable, with the `=` that encoding must escape.
fn link() -> String {
    format!(
        "https://app.example.com/verify-email#token={}",
        "aB3-_x9Z".repeat(16)
    )
}

/// Non-ASCII text, so the text part goes out quoted-printable rather than 7-bit.
fn outgoing(to: &str) -> OutgoingMail {
    let link = link();
    OutgoingMail {
        to: to.into(),
        subject: SUBJECT.into(),
        text: format!("Grüße, {HOSTILE_NAME}!\n\nConfirm your address:\n{link}\n"),
        html: format!(
            "<p>Grüße, {}!</p><p><a href=\"{link}\">Confirm your address</a></p>",
            escape(HOSTILE_NAME)
        ),
    }
}

fn settings(smtp: Option<SmtpSettings>, files_dir: &Path) -> MailSettings {
    MailSettings {
        from: FROM.into(),
        smtp,
        files_dir: files_dir.to_owned(),
    }
}

fn loopback_smtp(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        username: None,
        password: None,
    }
}

fn parse(raw: &[u8]) -> Message<'_> {
    MessageParser::default()
        .parse(raw)
        .expect("a parseable message")
}

fn recipient<'m>(message: &'m Message<'m>) -> Option<&'m str> {
    message.to()?.first()?.address()
}

#[tokio::test]
async fn smtp_delivers_text_and_html_alternatives_with_the_link_intact() {
    let server = SmtpServer::start();
    let unused = tempfile::tempdir().expect("temp dir");
    let transport =
        MailTransport::from_settings(&settings(Some(loopback_smtp(server.port)), unused.path()))
            .expect("valid settings");

    transport.send(&outgoing(TO)).await.expect("delivered");

    let received = server.received();
    assert_eq!(received.len(), 1, "exactly one message arrives");
    let raw = String::from_utf8_lossy(&received[0]);
    assert!(
        raw.contains("Content-Transfer-Encoding: quoted-printable"),
        "the text part is quoted-printable, so the link really was wrapped:\n{raw}"
    );
    let message = parse(&received[0]);
    assert_eq!(message.header_raw("X-RcptTo").map(str::trim), Some(TO));
    assert_eq!(recipient(&message), Some(TO));
    assert_eq!(message.subject(), Some(SUBJECT));
    assert_eq!(message.text_body_count(), 1);
    assert_eq!(message.html_body_count(), 1);

    let text = message.body_text(0).expect("a text part");
    assert!(
        text.contains(&link()),
        "the link survives decoding:\n{text}"
    );
    assert!(text.contains(HOSTILE_NAME), "text stays literal:\n{text}");

    let html = message.body_html(0).expect("an HTML part");
    assert!(html.contains(&format!("<a href=\"{}\">", link())), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
}

#[tokio::test]
async fn without_smtp_the_message_is_written_as_one_eml_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let files_dir = dir.path().join("outbox");
    let transport =
        MailTransport::from_settings(&settings(None, &files_dir)).expect("valid settings");

    transport.send(&outgoing(TO)).await.expect("written");

    let files = files_in(&files_dir);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        files[0].extension().and_then(|ext| ext.to_str()),
        Some("eml")
    );
    let raw = std::fs::read(&files[0]).expect("a readable file");
    let message = parse(&raw);
    assert_eq!(recipient(&message), Some(TO));
    assert_eq!(message.subject(), Some(SUBJECT));
    assert_eq!(
        message.from().and_then(|from| from.first()?.address()),
        Some("no-reply@example.com")
    );
    assert!(
        message
            .message_id()
            .is_some_and(|id| id.ends_with("@example.com"))
    );
    assert!(message.body_text(0).expect("a text part").contains(&link()));
}

#[tokio::test]
async fn an_invalid_recipient_is_a_permanent_failure() {
    let dir = tempfile::tempdir().expect("temp dir");
    let transport =
        MailTransport::from_settings(&settings(None, dir.path())).expect("valid settings");

    for to in ["not an address", "zoe@", "zoe@example.org, eve@example.net"] {
        let result = transport.send(&outgoing(to)).await;
        assert!(
            matches!(result, Err(DeliveryError::Permanent(_))),
            "{to}: {result:?}"
        );
    }
    assert!(files_in(dir.path()).is_empty(), "nothing was written");
}

#[tokio::test]
async fn a_closed_port_is_a_transient_failure() {
    let dir = tempfile::tempdir().expect("temp dir");
    let transport =
        MailTransport::from_settings(&settings(Some(loopback_smtp(free_port())), dir.path()))
            .expect("valid settings");

    let result = transport.send(&outgoing(TO)).await;

    assert!(
        matches!(result, Err(DeliveryError::Transient(_))),
        "{result:?}"
    );
}
