use serde::Serialize;

use super::{DisplayName, Email, Role};
use crate::clock::rfc3339;

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
    pub version: u64,
    /// Sessions started before this instant are no longer valid ("log out everywhere").
    pub sessions_valid_after: i64,
    pub deleted_at: Option<i64>,
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
            sessions_valid_after: 0,
            deleted_at: None,
        }
    }

    /// Sort key of the by-name listing: lower-cased name, then id.
    pub fn name_key(&self) -> String {
        format!("{}#{}", self.name.as_str().to_lowercase(), self.id)
    }

    pub fn is_active(&self) -> bool {
        self.deleted_at.is_none()
    }

    pub fn view(&self) -> UserView {
        UserView {
            id: self.id.clone(),
            email: self.email.as_str().to_owned(),
            name: self.name.as_str().to_owned(),
            role: self.role,
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }
}

/// What the API shows of a user: never the password hash.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at: String,
    pub updated_at: String,
}
