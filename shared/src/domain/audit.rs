//! Security events as the audit log keeps them.

/// What happened. The wire names are the `?action=` filter values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    Register,
    Login,
    Lockout,
    Unlock,
    RefreshTokenReuse,
    Logout,
    LogoutAll,
    /// Every session of the user but the one asking ended (`detail`: the session kept).
    LogoutOthers,
    /// One session ended by its owner or an admin (`detail`: the session).
    SessionEnd,
    PasswordChange,
    PasswordReset,
    EmailChange,
    RoleChange,
    UserDeletion,
    PostDeletion,
    /// A TOTP factor enrolled (pending until its first code).
    MfaEnrol,
    /// A factor's first code: it is active (failure: a wrong code).
    MfaActivate,
    /// The user turned their factor off (failure: a wrong code).
    MfaDisable,
    /// An admin removed a user's factor.
    MfaReset,
    /// A recovery code spent (detail: where, and how many are left).
    MfaRecoveryCodeUse,
    MfaRecoveryCodesRegenerate,
    /// A wrong answer to a sign-in challenge (the sign-in it completes is a `login`).
    MfaChallenge,
    /// A session raised to aal2 (failure: a wrong code).
    MfaStepUp,
    /// A provider's account linked to a user (detail: the provider, and `auto` when linked by
    /// a verified address at sign-in).
    IdentityLink,
    IdentityUnlink,
    /// A passkey registered (detail: its id).
    PasskeyAdd,
    /// A passkey removed (detail: its id).
    PasskeyRemove,
}

impl AuditAction {
    pub const ALL: [AuditAction; 27] = [
        Self::Register,
        Self::Login,
        Self::Lockout,
        Self::Unlock,
        Self::RefreshTokenReuse,
        Self::Logout,
        Self::LogoutAll,
        Self::LogoutOthers,
        Self::SessionEnd,
        Self::PasswordChange,
        Self::PasswordReset,
        Self::EmailChange,
        Self::RoleChange,
        Self::UserDeletion,
        Self::PostDeletion,
        Self::MfaEnrol,
        Self::MfaActivate,
        Self::MfaDisable,
        Self::MfaReset,
        Self::MfaRecoveryCodeUse,
        Self::MfaRecoveryCodesRegenerate,
        Self::MfaChallenge,
        Self::MfaStepUp,
        Self::IdentityLink,
        Self::IdentityUnlink,
        Self::PasskeyAdd,
        Self::PasskeyRemove,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Login => "login",
            Self::Lockout => "lockout",
            Self::Unlock => "unlock",
            Self::RefreshTokenReuse => "refresh_token_reuse",
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::LogoutOthers => "logout_others",
            Self::SessionEnd => "session_end",
            Self::PasswordChange => "password_change",
            Self::PasswordReset => "password_reset",
            Self::EmailChange => "email_change",
            Self::RoleChange => "role_change",
            Self::UserDeletion => "user_deletion",
            Self::PostDeletion => "post_deletion",
            Self::MfaEnrol => "mfa_enrol",
            Self::MfaActivate => "mfa_activate",
            Self::MfaDisable => "mfa_disable",
            Self::MfaReset => "mfa_reset",
            Self::MfaRecoveryCodeUse => "mfa_recovery_code_use",
            Self::MfaRecoveryCodesRegenerate => "mfa_recovery_codes_regenerate",
            Self::MfaChallenge => "mfa_challenge",
            Self::MfaStepUp => "mfa_step_up",
            Self::IdentityLink => "identity_link",
            Self::IdentityUnlink => "identity_unlink",
            Self::PasskeyAdd => "passkey_add",
            Self::PasskeyRemove => "passkey_remove",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == raw)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    Success,
    Failure,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Success, Self::Failure]
            .into_iter()
            .find(|o| o.as_str() == raw)
    }
}

/// One security event. `actor` is the user who acted (none for an anonymous caller), `target`
/// the user or post acted on (none for an address that has no account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: String,
    pub at: i64,
    pub action: AuditAction,
    pub outcome: AuditOutcome,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// A short machine-readable note, e.g. `unknown_account` or `user->admin`.
    pub detail: Option<String>,
}

/// Longest user agent kept: enough to tell clients apart, not a place to store a megabyte.
pub const MAX_USER_AGENT_CHARS: usize = 256;

impl AuditEvent {
    pub fn new(action: AuditAction, outcome: AuditOutcome, at: i64) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            at,
            action,
            outcome,
            actor: None,
            target: None,
            source_ip: None,
            user_agent: None,
            request_id: None,
            detail: None,
        }
    }

    pub fn actor(mut self, id: impl Into<String>) -> Self {
        self.actor = Some(id.into());
        self
    }

    pub fn target(mut self, id: impl Into<String>) -> Self {
        self.target = Some(id.into());
        self
    }

    /// Both actor and target: a user acting on their own account.
    pub fn by_self(self, id: &str) -> Self {
        self.actor(id).target(id)
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_parses_back_from_its_name() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(AuditAction::parse("LOGIN"), None);
    }
}
