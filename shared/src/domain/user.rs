use super::{DisplayName, Email, Role};

/// A user as stored. Times are epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: Email,
    pub name: DisplayName,
    pub role: Role,
    pub password_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bumped by every write to the user, whichever path makes it (optimistic locking).
    pub version: u64,
    /// Sessions carry the generation they were started in; "log out everywhere", a password
    /// change and deletion bump it, which ends every older session without comparing clocks.
    pub session_generation: u64,
    /// Set when the user follows the link mailed to their current address.
    pub email_verified: bool,
    pub deleted_at: Option<i64>,
}

/// The stored hash of an account without a password: no password matches it. A sign-in by
/// mail that proves an address nobody had proven leaves it, since whoever registered the address
/// set the password before; the owner sets one with a reset.
pub const NO_PASSWORD: &str = "";

/// What a profile edit may change; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    pub name: Option<DisplayName>,
    pub email: Option<Email>,
    pub role: Option<Role>,
}

impl User {
    pub fn new(email: Email, name: DisplayName, password_hash: String, now: i64) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            email,
            name,
            role: Role::User,
            password_hash,
            created_at: now,
            updated_at: now,
            version: 1,
            session_generation: 0,
            email_verified: false,
            deleted_at: None,
        }
    }

    /// The user after a profile edit: the edited fields and the next version, nothing else.
    /// A new address is unverified until its owner follows the link mailed to it.
    pub fn with_profile(&self, changes: ProfileChanges, now: i64) -> Self {
        let email = changes.email.unwrap_or_else(|| self.email.clone());
        Self {
            name: changes.name.unwrap_or_else(|| self.name.clone()),
            email_verified: self.email_verified && email == self.email,
            email,
            role: changes.role.unwrap_or(self.role),
            updated_at: now,
            version: self.version + 1,
            ..self.clone()
        }
    }

    pub fn is_active(&self) -> bool {
        self.deleted_at.is_none()
    }
}
