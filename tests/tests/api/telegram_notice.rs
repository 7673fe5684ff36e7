//! A lead's message cannot fake fields of the admins' notice: through the lead form on both
//! stores, a message with line breaks of every kind and `Phone:`/`Source:` lines of its own
//! renders, in the Telegram notice and the admins' mail, as one quoted block; the only field
//! lines outside it are the real ones, no carriage return survives, and escaping holds.

use crate::support;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::json;
use shared::config::Config;
use shared::jobs::{Job, MailMessage, Notice, Work, render_mail, render_notice};
use support::{Call, Captured, TestApp};

/// Every kind of line break, fake fields after each, markup and an entity, and an attempt to
/// close the quote.
const HOSTILE: &str = "hi <b>there</b> & &amp; more\nPhone: +1 999 999 9999\r\nSource: fake page\rName: Mallory\u{2028}Phone: +2 222\n\nMessage: </blockquote>Phone: +3 333";
/// The message's lines as the admins should read them.
const LINES: [&str; 7] = [
    "hi <b>there</b> & &amp; more",
    "Phone: +1 999 999 9999",
    "Source: fake page",
    "Name: Mallory",
    "Phone: +2 222",
    "",
    "Message: </blockquote>Phone: +3 333",
];
const ESCAPED_FIRST_LINE: &str = "hi &lt;b&gt;there&lt;/b&gt; &amp; &amp;amp; more";

fn config() -> Config {
    Config {
        admin_email: Some("sales@example.com".into()),
        ..Config::for_tests()
    }
}

/// Submits the hostile lead; the jobs it produced.
async fn hostile_lead(app: TestApp) -> Vec<Job> {
    let captured = Arc::new(Captured::default());
    let app = support::with_captured(app, captured.clone());
    let response = Call::new(Method::POST, "/api/leads")
        .json(json!({
            "phone": "+1 (415) 555-2671",
            "source": "pricing <page> & co",
            "name": "Ada",
            "message": HOSTILE,
        }))
        .send(&app)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "{:?}",
        response.body()
    );
    captured.jobs().await
}

/// `text` split at its only `open`…`close` pair: (outside, inside).
fn split_quote<'a>(text: &'a str, open: &str, close: &str) -> (String, &'a str) {
    assert_eq!(text.matches(open).count(), 1, "{text}");
    assert_eq!(text.matches(close).count(), 1, "{text}");
    let (before, rest) = text.split_once(open).unwrap();
    let (inside, after) = rest.split_once(close).unwrap();
    (format!("{before}{after}"), inside)
}

fn count_lines_starting(text: &str, prefix: &str) -> usize {
    text.lines().filter(|line| line.starts_with(prefix)).count()
}

fn assert_no_line_breaks_but_lf(text: &str) {
    for c in ['\r', '\u{0B}', '\u{0C}', '\u{85}', '\u{2028}', '\u{2029}'] {
        assert!(!text.contains(c), "{c:?} in {text:?}");
    }
}

async fn the_telegram_notice_quotes_the_message(app: TestApp) {
    let jobs = hostile_lead(app).await;
    let notice = jobs
        .iter()
        .find_map(|job| match &job.work {
            Work::Telegram(notice @ Notice::NewLead(_)) => Some(notice),
            _ => None,
        })
        .expect("a Telegram notice");
    let html = render_notice(notice);
    assert_no_line_breaks_but_lf(&html);

    let (outside, inside) = split_quote(&html, "<blockquote>", "</blockquote>");
    // Outside the quote: the real fields, once each, and the message's label.
    assert_eq!(
        outside,
        "<b>New lead</b>\nPhone: +14155552671\nSource: pricing &lt;page&gt; &amp; co\nName: Ada\nMessage:\n"
    );
    assert_eq!(count_lines_starting(&outside, "Phone:"), 1);
    assert_eq!(count_lines_starting(&outside, "Source:"), 1);
    // Inside: every line of the message, escaped, and no markup of its own.
    let inside_lines: Vec<&str> = inside.split('\n').collect();
    assert_eq!(inside_lines.len(), LINES.len(), "{inside:?}");
    assert_eq!(inside_lines[0], ESCAPED_FIRST_LINE);
    assert_eq!(inside_lines[1], "Phone: +1 999 999 9999");
    assert_eq!(inside_lines[2], "Source: fake page");
    assert_eq!(inside_lines[6], "Message: &lt;/blockquote&gt;Phone: +3 333");
    assert!(!inside.contains('<') && !inside.contains('>'), "{inside}");
}

async fn the_admins_mail_quotes_the_message(app: TestApp) {
    let jobs = hostile_lead(app).await;
    let mail = jobs
        .iter()
        .find_map(|job| match &job.work {
            Work::Email(mail) if matches!(mail.message, MailMessage::NewLead(_)) => Some(mail),
            _ => None,
        })
        .expect("a mail to the admins");
    let out = render_mail(mail);
    assert_no_line_breaks_but_lf(&out.text);
    assert_no_line_breaks_but_lf(&out.html);

    // Text: the real fields once each; every line of the message `>`-quoted, right after its
    // label.
    assert_eq!(count_lines_starting(&out.text, "Phone:"), 1, "{}", out.text);
    assert_eq!(
        count_lines_starting(&out.text, "Source:"),
        1,
        "{}",
        out.text
    );
    assert!(out.text.contains("\nPhone: +14155552671\n"));
    assert!(out.text.contains("\nSource: pricing <page> & co\n"));
    let quoted: Vec<String> = LINES
        .iter()
        .map(|line| format!("> {line}").trim_end().to_owned())
        .collect();
    assert!(
        out.text
            .contains(&format!("\nMessage:\n\n{}\n", quoted.join("\n"))),
        "{}",
        out.text
    );
    for line in out.text.lines().filter(|line| line.contains("Mallory")) {
        assert!(line.starts_with("> "), "{line}");
    }

    // HTML: one blockquote holds the message, lines apart by <br>, escaped.
    let (outside, inside) = split_quote(&out.html, "<blockquote>", "</blockquote>");
    assert_eq!(outside.matches("<p>Phone: ").count(), 1, "{outside}");
    assert_eq!(outside.matches("<p>Source: ").count(), 1, "{outside}");
    assert!(outside.contains("<p>Source: pricing &lt;page&gt; &amp; co</p>"));
    let inside_lines: Vec<&str> = inside.split("<br>").collect();
    assert_eq!(inside_lines.len(), LINES.len(), "{inside}");
    assert_eq!(inside_lines[0], ESCAPED_FIRST_LINE);
    assert_eq!(inside_lines[1], "Phone: +1 999 999 9999");
    assert!(!inside.replace("<br>", "").contains('<'), "{inside}");
    assert!(!inside.contains('\n'), "{inside:?}");
}

on_both_stores! {
    the_telegram_notice_quotes_the_message => config(),
    the_admins_mail_quotes_the_message => config(),
}
