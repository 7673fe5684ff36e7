//! What each job says: plain text and HTML for mails, HTML for Telegram notices. Every value a
//! user typed is escaped in HTML.

use super::{LeadNotice, Mail, MailMessage, Notice};
use crate::notify::html::escape;
use crate::notify::mail::OutgoingMail;

/// (subject, paragraphs, link) of a mail; the link is on a line of its own.
fn mail_parts(message: &MailMessage) -> (&'static str, Vec<String>, Option<&str>) {
    let (subject, paragraphs, link) = fixed_parts(message);
    let mut paragraphs: Vec<String> = paragraphs.into_iter().map(str::to_owned).collect();
    match message {
        MailMessage::EmailChanged { new_email } => paragraphs.insert(
            0,
            format!("The e-mail address of your account is now {new_email}."),
        ),
        MailMessage::EmailChangeRequested { new_email } => paragraphs.insert(
            0,
            format!(
                "Someone signed in to your account asked to change its e-mail address to {new_email}. \
                 It changes only when a link mailed there is followed."
            ),
        ),
        MailMessage::NewLead(lead) => {
            let lines = lead_lines(lead);
            paragraphs.splice(1..1, lines);
        }
        _ => {}
    }
    (subject, paragraphs, link)
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

pub fn render_mail(mail: &Mail) -> OutgoingMail {
    let (subject, paragraphs, link) = mail_parts(&mail.message);
    let mut text = format!("Hi {},\n\n{}\n", mail.name, paragraphs[0]);
    let mut html = format!(
        "<p>Hi {},</p>\n<p>{}</p>\n",
        escape(&mail.name),
        escape(&paragraphs[0])
    );
    if let Some(link) = link {
        text.push_str(&format!("\n{link}\n"));
        html.push_str(&format!("<p><a href=\"{0}\">{0}</a></p>\n", escape(link)));
    }
    for paragraph in &paragraphs[1..] {
        text.push_str(&format!("\n{paragraph}\n"));
        html.push_str(&format!("<p>{}</p>\n", escape(paragraph)));
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
            escape(name),
            escape(email)
        ),
        Notice::Security { email, event } => format!(
            "<b>Security</b>: {}\nAccount: {}",
            escape(event.describe()),
            escape(email)
        ),
        Notice::NewLead(lead) => {
            let lines: Vec<String> = lead_lines(lead).iter().map(|l| escape(l)).collect();
            format!("<b>New lead</b>\n{}", lines.join("\n"))
        }
    }
}

/// "Label: value" lines of a lead, unescaped.
fn lead_lines(lead: &LeadNotice) -> Vec<String> {
    let mut lines = vec![
        format!("Phone: {}", lead.phone),
        format!("Source: {}", lead.source),
    ];
    if let Some(name) = &lead.name {
        lines.push(format!("Name: {name}"));
    }
    if let Some(message) = &lead.message {
        lines.push(format!("Message: {message}"));
    }
    lines
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
}
