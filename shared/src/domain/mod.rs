//! Parsed, always-valid domain values and the rules that change them. A handler never holds
//! an unvalidated string. How a value is shown (`http::views`) and where it is stored
//! (`store::keys`) belong to those layers; nothing here knows JSON or storage keys.

mod audit;
mod authentication;
mod device;
mod display_name;
mod email;
mod field_errors;
mod id;
mod lead;
mod mfa;
mod network;
mod password;
mod post;
mod post_summary;
mod role;
mod text;
mod user;

pub use audit::{AuditAction, AuditEvent, AuditOutcome, MAX_USER_AGENT_CHARS};
pub use authentication::{Aal, AuthMethod, Authentication};
pub use device::{describe_device, user_agent};
pub use display_name::DisplayName;
pub use email::Email;
pub use field_errors::{FieldError, FieldErrors, Invalid};
pub use id::{is_stored_id, parse_id};
pub use lead::{
    Lead, LeadStatus, MAX_LEAD_NAME_CHARS, MAX_MESSAGE_CHARS, MAX_SOURCE_CHARS, bounded_line,
    bounded_text,
};
pub use mfa::{
    MAILED_CODE_DIGITS, MailedSignInCode, RECOVERY_ALPHABET, RECOVERY_CODE_CHARS, RecoveryCode,
    TOTP_DIGITS, TotpCode,
};
pub use network::source_network;
pub use password::{EnteredPassword, Password};
pub use post::{
    MAX_CONTENT_CHARS, MAX_TAGS, NewPost, Post, PostChanges, PostContent, PostStatus, PostTitle,
    Tag,
};
pub use post_summary::{EXCERPT_CHARS, PostSummary, excerpt};
pub use role::Role;
pub use user::{NO_PASSWORD, ProfileChanges, User};
