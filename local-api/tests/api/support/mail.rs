//! The mail `local-api` writes under `DATA_DIR/mail/` (no SMTP configured), and its links.

use std::path::Path;
use std::time::Duration;

use mail_parser::MessageParser;

/// A mail written under `DATA_DIR/mail/`: recipient, subject, plain-text body.
#[derive(Debug)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

pub fn read_mails(dir: &Path) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(dir.join("mail")) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read(entry.path()).ok())
        .filter_map(|bytes| {
            let message = MessageParser::default().parse(&bytes)?;
            let to = message.to()?.first()?.address()?.to_owned();
            Some(Mail {
                to,
                subject: message.subject()?.to_owned(),
                text: message.body_text(0)?.into_owned(),
            })
        })
        .collect()
}

/// The mails to `to` whose subject contains `subject`.
pub fn mails_to(dir: &Path, to: &str, subject: &str) -> Vec<Mail> {
    read_mails(dir)
        .into_iter()
        .filter(|m| m.to == to && m.subject.contains(subject))
        .collect()
}

/// How long a mail may take: on DynamoDB a job goes through the stream and a queue, and a
/// delivery that fails under load (a busy emulator) comes back after the queue's 60 s
/// visibility timeout, as on AWS.
const MAIL_WAIT: Duration = Duration::from_secs(120);

/// Waits for the worker to write `count` mails (or more) to `to` whose subject contains
/// `subject`; answers them.
pub async fn wait_for_mails(dir: &Path, to: &str, subject: &str, count: usize) -> Vec<Mail> {
    let started = std::time::Instant::now();
    while started.elapsed() < MAIL_WAIT {
        let mails = mails_to(dir, to, subject);
        if mails.len() >= count {
            return mails;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "not {count} mails to {to} about {subject:?}: {:?}",
        read_mails(dir)
    );
}

/// Waits for the worker to write a mail to `to` whose subject contains `subject`.
pub async fn mail_to(dir: &Path, to: &str, subject: &str) -> Mail {
    wait_for_mails(dir, to, subject, 1).await.remove(0)
}

/// The first `<page>#token=` link in a mail, whole, as a mail client would open it.
pub fn link_in(mail: &Mail, page: &str) -> String {
    let marker = format!("/{page}#token=");
    let line = mail
        .text
        .lines()
        .find(|line| line.contains(&marker))
        .unwrap_or_else(|| panic!("no {page} link in {mail:?}"));
    line.trim().to_owned()
}

/// The token of the first `<page>#token=` link in a mail.
pub fn token_in(mail: &Mail, page: &str) -> String {
    let marker = format!("/{page}#token=");
    let start = mail.text.find(&marker).expect("a link in the mail") + marker.len();
    mail.text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}
