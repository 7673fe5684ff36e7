//! What the API shows of each entity: camelCase JSON, instants as RFC 3339 text. Each view is
//! built from its domain value (`From<&Post> for PostView`...); the domain does not know them.

mod audit;
mod jwks;
mod leads;
mod mfa;
mod posts;
mod sessions;
mod users;

pub use audit::AuditEventView;
pub use jwks::{DiscoveryView, JwksView};
pub use leads::LeadView;
pub use mfa::{MfaChallengeView, RaisedSessionView, TotpFactorView};
pub use posts::{PostSummaryView, PostView};
pub use sessions::SessionView;
pub use users::UserView;
