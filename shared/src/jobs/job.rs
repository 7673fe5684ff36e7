//! The one job type producers enqueue and workers run. Serialised as JSON with a version, so a
//! worker can refuse (and dead-letter) a shape it does not know instead of guessing.

use serde::{Deserialize, Serialize};

/// The job format this build writes and reads.
pub const JOB_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub version: u32,
    /// Unique per job: workers run a job at most once per id, however often it is delivered.
    pub id: String,
    pub created_at: i64,
    #[serde(flatten)]
    pub work: Work,
}

/// What a job does. Mails and notices go to their own queue and worker; the clean-up after an
/// account's deletion is run by the outbox relay itself, in pages within a time budget (see
/// `jobs::relay_changes` and `jobs::run_account_cleanup`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Work {
    Email(Mail),
    Telegram(Notice),
    #[serde(rename_all = "camelCase")]
    AccountCleanup {
        user_id: String,
    },
}

/// An e-mail to one address, rendered by the e-mail worker. Links carry their token in the
/// fragment, which a mail scanner that follows links never sends to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mail {
    pub to: String,
    pub name: String,
    #[serde(flatten)]
    pub message: MailMessage,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "template", rename_all = "camelCase")]
pub enum MailMessage {
    /// Sent on registration: welcome and verify in one.
    #[serde(rename_all = "camelCase")]
    Welcome {
        verify_link: String,
    },
    #[serde(rename_all = "camelCase")]
    VerifyEmail {
        link: String,
    },
    #[serde(rename_all = "camelCase")]
    ResetPassword {
        link: String,
    },
    /// Sign-in by mail: the link, and the code for another device.
    #[serde(rename_all = "camelCase")]
    EmailLogin {
        link: String,
        code: String,
    },
    PasswordChanged,
    /// A sign-in provider's account was linked to this one: it signs in as this account now.
    #[serde(rename_all = "camelCase")]
    IdentityLinked {
        provider: String,
    },
    /// A passkey was added to this account: it signs in here now.
    #[serde(rename_all = "camelCase")]
    PasskeyAdded {
        /// The passkey's name (`name` is the recipient's).
        passkey: String,
    },
    /// A sign-in by mail proved an address nobody had proven: the password set before was
    /// removed.
    AddressConfirmedPasswordRemoved,
    AccountDeleted,
    /// Someone replayed an old refresh token: that session was signed out.
    RefreshTokenReused,
    /// To the new address: follow the link to make it the account's address.
    #[serde(rename_all = "camelCase")]
    ConfirmEmailChange {
        link: String,
    },
    /// To the current address, when a change to `new_email` is asked for.
    #[serde(rename_all = "camelCase")]
    EmailChangeRequested {
        new_email: String,
    },
    /// To the old address, once the change is done.
    #[serde(rename_all = "camelCase")]
    EmailChanged {
        new_email: String,
    },
    /// To the admins' address.
    NewLead(LeadNotice),
    /// Two-factor sign-in was turned on.
    MfaEnabled,
    /// Two-factor sign-in was turned off by the user.
    MfaDisabled,
    /// An admin removed the account's second factor.
    MfaReset,
    /// A recovery code was used; `remaining` are left.
    #[serde(rename_all = "camelCase")]
    RecoveryCodeUsed {
        remaining: usize,
    },
    RecoveryCodesRegenerated,
}

/// A notice to the admins' Telegram chat, rendered (and escaped) by the Telegram worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "notice", rename_all = "camelCase")]
pub enum Notice {
    #[serde(rename_all = "camelCase")]
    NewSignup {
        email: String,
        name: String,
    },
    NewLead(LeadNotice),
    #[serde(rename_all = "camelCase")]
    Security {
        email: String,
        event: SecurityEvent,
    },
}

/// Security events the admins hear of (and the user gets a mail about).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SecurityEvent {
    PasswordChanged,
    PasswordReset,
    EmailChanged,
    AccountDeleted,
    /// A spent refresh token came back after the grace window: its session was revoked.
    RefreshTokenReused,
    MfaDisabled,
    MfaReset,
    RecoveryCodeUsed,
}

impl SecurityEvent {
    pub fn describe(self) -> &'static str {
        match self {
            SecurityEvent::PasswordChanged => "password changed",
            SecurityEvent::PasswordReset => "password reset by mailed link",
            SecurityEvent::EmailChanged => "e-mail address changed",
            SecurityEvent::AccountDeleted => "account deleted",
            SecurityEvent::RefreshTokenReused => {
                "refresh token reused (possible theft): session revoked"
            }
            SecurityEvent::MfaDisabled => "two-factor sign-in turned off",
            SecurityEvent::MfaReset => "second factor removed by an admin",
            SecurityEvent::RecoveryCodeUsed => "recovery code used",
        }
    }
}

/// What the admins hear of a new lead, by Telegram and by mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeadNotice {
    pub phone: String,
    pub source: String,
    /// `contactName` in the text, which the mail of a lead holds beside its own `name` (the
    /// recipient's); read as `name` too, as notices were written before.
    #[serde(rename = "contactName", alias = "name")]
    pub name: Option<String>,
    pub message: Option<String>,
}

/// The queue a job travels on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Queue {
    Email,
    Telegram,
}

impl Queue {
    pub fn name(self) -> &'static str {
        match self {
            Queue::Email => "email",
            Queue::Telegram => "telegram",
        }
    }
}

impl Job {
    pub fn new(work: Work, now: i64) -> Self {
        Self {
            version: JOB_VERSION,
            id: uuid::Uuid::now_v7().to_string(),
            created_at: now,
            work,
        }
    }

    /// The admins' notice of a security event on the account at `email`.
    pub fn security(email: &str, event: SecurityEvent, now: i64) -> Self {
        Self::new(
            Work::Telegram(Notice::Security {
                email: email.to_owned(),
                event,
            }),
            now,
        )
    }

    pub fn email(to: &str, name: &str, message: MailMessage, now: i64) -> Self {
        Self::new(
            Work::Email(Mail {
                to: to.to_owned(),
                name: name.to_owned(),
                message,
            }),
            now,
        )
    }

    /// The queue the job travels on; `None` for work the outbox relay runs itself.
    pub fn queue(&self) -> Option<Queue> {
        match self.work {
            Work::Email(_) => Some(Queue::Email),
            Work::Telegram(_) => Some(Queue::Telegram),
            Work::AccountCleanup { .. } => None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a job always serialises")
    }

    /// A job from a queue message; an unknown version or shape is an error, never a guess.
    pub fn from_json(text: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Versioned {
            version: u32,
        }
        let versioned: Versioned =
            serde_json::from_str(text).map_err(|e| format!("not a job: {e}"))?;
        if versioned.version != JOB_VERSION {
            return Err(format!(
                "job version {} is not {JOB_VERSION}",
                versioned.version
            ));
        }
        serde_json::from_str(text).map_err(|e| format!("not a job: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_round_trip_and_unknown_versions_are_refused() {
        let job = Job::email(
            "ada@example.com",
            "Ada",
            MailMessage::ResetPassword {
                link: "http://x/reset-password#token=abc".into(),
            },
            1,
        );
        assert_eq!(Job::from_json(&job.to_json()), Ok(job.clone()));
        let newer = job.to_json().replace("\"version\":1", "\"version\":2");
        assert!(Job::from_json(&newer).unwrap_err().contains("version 2"));
        assert!(Job::from_json("{\"version\":1,\"type\":\"nope\"}").is_err());
        assert!(Job::from_json("garbage").is_err());
    }

    /// Every kind of job reads back as written: the relay reads each from its outbox row and
    /// the worker from its message.
    #[test]
    fn every_kind_of_job_reads_back() {
        let lead = LeadNotice {
            phone: "+14155552671".into(),
            source: "pricing page".into(),
            name: Some("Grace".into()),
            message: Some("hello".into()),
        };
        let link = || "http://x/#token=abc".to_owned();
        let mails = [
            MailMessage::Welcome {
                verify_link: link(),
            },
            MailMessage::VerifyEmail { link: link() },
            MailMessage::ResetPassword { link: link() },
            MailMessage::EmailLogin {
                link: link(),
                code: "123456".into(),
            },
            MailMessage::AddressConfirmedPasswordRemoved,
            MailMessage::IdentityLinked {
                provider: "google".into(),
            },
            MailMessage::PasskeyAdded {
                passkey: "Laptop".into(),
            },
            MailMessage::PasswordChanged,
            MailMessage::AccountDeleted,
            MailMessage::RefreshTokenReused,
            MailMessage::ConfirmEmailChange { link: link() },
            MailMessage::EmailChangeRequested {
                new_email: "n@example.com".into(),
            },
            MailMessage::EmailChanged {
                new_email: "n@example.com".into(),
            },
            MailMessage::NewLead(lead.clone()),
        ];
        let mut jobs: Vec<Job> = mails
            .into_iter()
            .map(|m| Job::email("ada@example.com", "Ada", m, 1))
            .collect();
        jobs.extend([
            Job::new(Work::Telegram(Notice::NewLead(lead)), 1),
            Job::new(
                Work::Telegram(Notice::NewSignup {
                    email: "a@b.c".into(),
                    name: "A".into(),
                }),
                1,
            ),
            Job::security("a@b.c", SecurityEvent::AccountDeleted, 1),
            Job::new(
                Work::AccountCleanup {
                    user_id: "u".into(),
                },
                1,
            ),
        ]);
        for job in jobs {
            assert_eq!(
                Job::from_json(&job.to_json()),
                Ok(job.clone()),
                "{}",
                job.to_json()
            );
        }
        // A lead's notice written before `contactName` still reads.
        let old = r#"{"version":1,"id":"j","createdAt":1,"type":"telegram","notice":"newLead","phone":"+1","source":"s","name":"G","message":null}"#;
        assert!(Job::from_json(old).is_ok());
    }
}
