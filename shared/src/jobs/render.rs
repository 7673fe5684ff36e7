//! What each job says: plain text and HTML for mails, HTML for Telegram notices. Every value a
//! user typed is escaped in HTML, and free text that may span lines (a lead's message) is set
//! apart as a quote, line by line, so none of its lines can pass for a field of the notice.

use super::{LeadNotice, Mail, MailMessage, Notice};
use crate::notify::html::escape;
use crate::notify::mail::OutgoingMail;

/// A part of a mail's body after the greeting.
enum Block {
    Paragraph(String),
    /// Text someone typed, one entry per line: `> `-prefixed in text, a `<blockquote>` in HTML.
    Quote(Vec<String>),
}

/// (subject, first paragraph, the other blocks, link) of a mail; the link is on a line of its
/// own, after the first paragraph.
fn mail_parts(message: &MailMessage) -> (&'static str, String, Vec<Block>, Option<&str>) {
    let (subject, paragraphs, link) = fixed_parts(message);
    let mut paragraphs: Vec<String> = paragraphs.into_iter().map(str::to_owned).collect();
    match message {
        MailMessage::EmailChanged { new_email } => paragraphs.insert(
            0,
            format!("The e-mail address of your account is now {new_email}."),
        ),
        MailMessage::RecoveryCodeUsed { remaining } => paragraphs.insert(
            0,
            format!(
                "One of your recovery codes was just used to sign in or confirm an action. \
                 {remaining} of them are left; each works once."
            ),
        ),
        MailMessage::PasskeyAdded { passkey } => paragraphs.insert(
            0,
            format!("A passkey named \"{passkey}\" was added to your account: it can sign in here now."),
        ),
        MailMessage::IdentityLinked { provider } => paragraphs.insert(
            0,
            format!("Your {provider} account was linked to this one: signing in with {provider} now signs in here."),
        ),
        MailMessage::EmailLogin { code, .. } => paragraphs.insert(
            1,
            format!(
                "Or type this code where you asked to sign in: {}",
                grouped(code)
            ),
        ),
        MailMessage::EmailChangeRequested { new_email } => paragraphs.insert(
            0,
            format!(
                "Someone signed in to your account asked to change its e-mail address to {new_email}. \
                 It changes only when a link mailed there is followed."
            ),
        ),
        MailMessage::NewLead(lead) => {
            let lead = LeadText::of(lead);
            let first = paragraphs.remove(0);
            let mut blocks: Vec<Block> = lead.fields.into_iter().map(Block::Paragraph).collect();
            if let Some(message) = lead.message {
                blocks.push(Block::Paragraph(MESSAGE_LABEL.to_owned()));
                blocks.push(Block::Quote(message));
            }
            blocks.extend(paragraphs.into_iter().map(Block::Paragraph));
            return (subject, first, blocks, link);
        }
        _ => {}
    }
    let first = paragraphs.remove(0);
    let blocks = paragraphs.into_iter().map(Block::Paragraph).collect();
    (subject, first, blocks, link)
}

fn fixed_parts(message: &MailMessage) -> (&'static str, Vec<&'static str>, Option<&str>) {
    match message {
        MailMessage::Welcome { verify_link } => (
            "Welcome! Please verify your e-mail address",
            vec![
                "Welcome aboard. Please confirm your e-mail address by opening this link (it works for 24 hours):",
                "If you did not create an account, ignore this message.",
            ],
            Some(verify_link),
        ),
        MailMessage::VerifyEmail { link } => (
            "Verify your e-mail address",
            vec![
                "Please confirm your e-mail address by opening this link (it works for 24 hours):",
                "If you did not ask for this, ignore this message.",
            ],
            Some(link),
        ),
        MailMessage::ResetPassword { link } => (
            "Reset your password",
            vec![
                "Someone asked to reset the password of your account. To choose a new one, open this link (it works for 30 minutes, once):",
                "If it was not you, ignore this message: your password stays as it is.",
            ],
            Some(link),
        ),
        MailMessage::EmailLogin { link, .. } => (
            "Your sign-in link",
            vec![
                "To sign in to your account, open this link (it works for 15 minutes, once):",
                "If you did not ask to sign in, ignore this message: nobody signs in without it.",
            ],
            Some(link),
        ),
        MailMessage::ConfirmEmailChange { link } => (
            "Confirm your new e-mail address",
            vec![
                "To make this the e-mail address of your account, open this link (it works for 24 hours):",
                "If you did not ask for this, ignore this message: nothing changes.",
            ],
            Some(link),
        ),
        MailMessage::EmailChangeRequested { .. } => (
            "A change of your e-mail address was asked for",
            vec![
                "If this was not you, reset your password now: that cancels the change, and signs everyone out of your account.",
            ],
            None,
        ),
        MailMessage::EmailChanged { .. } => (
            "Your e-mail address was changed",
            vec!["If this was not you, reset your password now and tell us."],
            None,
        ),
        MailMessage::NewLead(_) => (
            "New lead from the website",
            vec![
                "Someone left their number on the form:",
                "Call them back, then mark the lead contacted.",
            ],
            None,
        ),
        MailMessage::RefreshTokenReused => (
            "A session of your account was signed out",
            vec![
                "An old sign-in token of your account was used again, which can mean it was stolen. We signed that session out.",
                "If you did not expect this, change your password.",
            ],
            None,
        ),
        MailMessage::AccountDeleted => (
            "Your account was deleted",
            vec![
                "Your account was deleted: every session was signed out and your posts are no longer shown.",
                "If this was not you or your administrator's decision, reply to this message.",
            ],
            None,
        ),
        MailMessage::MfaEnabled => (
            "Two-factor sign-in is on",
            vec![
                "Signing in to your account now takes a code from your authenticator app as well as your password. Keep your recovery codes somewhere safe.",
                "If this was not you, reset your password now and tell us.",
            ],
            None,
        ),
        MailMessage::MfaDisabled => (
            "Two-factor sign-in is off",
            vec![
                "Your account no longer asks for a code from your authenticator app when you sign in.",
                "If this was not you, reset your password now and tell us.",
            ],
            None,
        ),
        MailMessage::MfaReset => (
            "Your second factor was removed",
            vec![
                "An administrator removed the authenticator app from your account: signing in takes only your password until you set one up again.",
                "If you did not ask for this, reset your password now and tell us.",
            ],
            None,
        ),
        MailMessage::RecoveryCodeUsed { .. } => (
            "A recovery code was used",
            vec![
                "If this was not you, someone has your password and a recovery code: reset your password and make new recovery codes now.",
            ],
            None,
        ),
        MailMessage::RecoveryCodesRegenerated => (
            "New recovery codes were made",
            vec![
                "Your account has a new set of recovery codes; the old ones no longer work.",
                "If this was not you, reset your password now and tell us.",
            ],
            None,
        ),
        MailMessage::PasskeyAdded { .. } => (
            "A passkey was added to your account",
            vec![
                "If this was not you, remove it from your account page, reset your password and tell us.",
            ],
            None,
        ),
        MailMessage::IdentityLinked { .. } => (
            "A sign-in provider was linked to your account",
            vec![
                "If this was not you, unlink it from your account page, reset your password and tell us.",
            ],
            None,
        ),
        MailMessage::AddressConfirmedPasswordRemoved => (
            "Your address is confirmed",
            vec![
                "You signed in with the link or code we mailed, which confirmed your e-mail address. The account's password and two-step sign-in were set up before its address was confirmed, which anyone could have done, so we removed them and signed out every other device.",
                "To sign in with a password again, choose one with \"Forgot your password?\" on the sign-in page.",
            ],
            None,
        ),
        MailMessage::PasswordChanged => (
            "Your password was changed",
            vec![
                "The password of your account was just changed, and every session was signed out.",
                "If this was not you, reset your password now and tell us.",
            ],
            None,
        ),
    }
}

/// A mailed code as people read it out: `1234 5678`.
fn grouped(code: &str) -> String {
    match code.split_at_checked(code.len() / 2) {
        Some((first, second)) if code.len() >= 8 => format!("{first} {second}"),
        _ => code.to_owned(),
    }
}

pub fn render_mail(mail: &Mail) -> OutgoingMail {
    let (subject, first, blocks, link) = mail_parts(&mail.message);
    let mut text = format!("Hi {},\n\n{first}\n", mail.name);
    let mut html = format!(
        "<p>Hi {},</p>\n<p>{}</p>\n",
        escape(&mail.name),
        escape(&first)
    );
    if let Some(link) = link {
        text.push_str(&format!("\n{link}\n"));
        html.push_str(&format!("<p><a href=\"{0}\">{0}</a></p>\n", escape(link)));
    }
    for block in &blocks {
        match block {
            Block::Paragraph(paragraph) => {
                text.push_str(&format!("\n{paragraph}\n"));
                html.push_str(&format!("<p>{}</p>\n", escape(paragraph)));
            }
            Block::Quote(lines) => {
                text.push('\n');
                for line in lines {
                    text.push_str(format!("> {line}").trim_end());
                    text.push('\n');
                }
                let lines: Vec<String> = lines.iter().map(|line| escape(line)).collect();
                html.push_str(&format!(
                    "<blockquote>{}</blockquote>\n",
                    lines.join("<br>")
                ));
            }
        }
    }
    OutgoingMail {
        to: mail.to.clone(),
        subject: subject.to_owned(),
        text,
        html,
    }
}

/// A notice for the admins' chat, as Telegram HTML.
pub fn render_notice(notice: &Notice) -> String {
    match notice {
        Notice::NewSignup { email, name } => format!(
            "<b>New signup</b>\nName: {}\nE-mail: {}",
            escape(&one_line(name)),
            escape(email)
        ),
        Notice::Security { email, event } => format!(
            "<b>Security</b>: {}\nAccount: {}",
            escape(event.describe()),
            escape(email)
        ),
        Notice::NewLead(lead) => {
            let lead = LeadText::of(lead);
            let mut notice = String::from("<b>New lead</b>");
            for field in &lead.fields {
                notice.push('\n');
                notice.push_str(&escape(field));
            }
            if let Some(message) = &lead.message {
                // Telegram shows a blockquote as one marked block: every line of the message is
                // visibly inside it, and `</blockquote>` typed by someone is escaped text.
                let lines: Vec<String> = message.iter().map(|line| escape(line)).collect();
                notice.push_str(&format!(
                    "\n{MESSAGE_LABEL}\n<blockquote>{}</blockquote>",
                    lines.join("\n")
                ));
            }
            notice
        }
    }
}

const MESSAGE_LABEL: &str = "Message:";

/// A lead as the admins read it, unescaped: one-line "Label: value" fields, and the lines of
/// the message, which every rendering sets apart as a quote.
struct LeadText {
    fields: Vec<String>,
    message: Option<Vec<String>>,
}

impl LeadText {
    fn of(lead: &LeadNotice) -> Self {
        let mut fields = vec![
            format!("Phone: {}", one_line(&lead.phone)),
            format!("Source: {}", one_line(&lead.source)),
        ];
        if let Some(name) = &lead.name {
            fields.push(format!("Name: {}", one_line(name)));
        }
        let message = lead
            .message
            .as_deref()
            .map(text_lines)
            .filter(|lines| lines.iter().any(|line| !line.trim().is_empty()));
        Self { fields, message }
    }
}

/// Every character that ends a line somewhere: LF and CR (alone or as CR LF), vertical tab,
/// form feed, NEL and the Unicode line and paragraph separators.
const LINE_BREAKS: [char; 7] = [
    '\n', '\r', '\u{0B}', '\u{0C}', '\u{85}', '\u{2028}', '\u{2029}',
];

/// The lines of `text`, split at every kind of line break (CR LF counting as one), none of
/// them holding a line break or a carriage return.
fn text_lines(text: &str) -> Vec<String> {
    text.replace("\r\n", "\n")
        .split(LINE_BREAKS)
        .map(str::to_owned)
        .collect()
}

/// `value` on one line: a line break in it (the form refuses them, a queued job may still hold
/// one) becomes a space, so the value cannot start a line that reads as another field.
fn one_line(value: &str) -> String {
    value.replace("\r\n", " ").replace(LINE_BREAKS, " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_values_are_escaped_in_html_and_links_stand_alone_in_text() {
        let mail = Mail {
            to: "ada@example.com".into(),
            name: "<script>Ada & co</script>".into(),
            message: MailMessage::ResetPassword {
                link: "https://app.example/reset-password#token=abc".into(),
            },
        };
        let out = render_mail(&mail);
        assert!(
            out.html
                .contains("&lt;script&gt;Ada &amp; co&lt;/script&gt;")
        );
        assert!(!out.html.contains("<script>"));
        assert!(
            out.text
                .contains("\nhttps://app.example/reset-password#token=abc\n")
        );
        let notice = render_notice(&Notice::NewSignup {
            email: "a_b*c@example.com".into(),
            name: "[x] <y> & z".into(),
        });
        assert!(notice.contains("[x] &lt;y&gt; &amp; z"));
        assert!(notice.contains("a_b*c@example.com"));
    }

    #[test]
    fn every_line_break_splits_once_and_one_line_values_stay_one_line() {
        assert_eq!(
            text_lines("a\r\nb\rc\nd\u{2028}e\n\nf"),
            ["a", "b", "c", "d", "e", "", "f"]
        );
        assert_eq!(one_line("a\r\nPhone: 1\rb\u{2029}c"), "a Phone: 1 b c");
    }
}
