use std::net::IpAddr;

use crate::domain::{Authentication, PostStatus, PostSummary, Role, Tag, User};
use crate::jobs::Job;
use crate::store::keys;

/// A login session: the family every refresh token descended from one login belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Time-ordered (UUIDv7); shown to its owner and admins, and in access tokens' `sid`. It
    /// is no credential: the refresh token is a separate secret, stored only as a hash.
    pub id: String,
    pub user_id: String,
    /// The user's session generation when it started; it is live only while they match.
    pub generation: u64,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// When a request or a refresh last used it (epoch ms), to the minute (see
    /// `auth::Sessions::authenticate`).
    pub last_used_at: i64,
    /// How its holder signed in (raised by a second factor later on).
    pub authentication: Authentication,
    /// Where it was started from.
    pub origin: SessionOrigin,
}

impl Session {
    /// Whether the session still lets `user` in: not ended one by one, and started in the
    /// user's current session generation (an ending of all of them bumps it), the user not
    /// deleted. Expiry is left to the reads, which never return an expired session.
    pub fn is_live_for(&self, user: &User) -> bool {
        user.is_active()
            && self.user_id == user.id
            && self.revoked_at.is_none()
            && self.generation == user.session_generation
    }
}

/// The sign-in a session started with, as its request carried it: the source address
/// (API Gateway's, or the socket's peer locally) and the user agent, truncated. Shown so a
/// person recognises their devices; a client writes its own user agent, so it decides nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionOrigin {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// A refresh token as stored: only its hash, never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    pub hash: String,
    pub user_id: String,
    pub session_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub spent_at: Option<i64>,
    /// Set when spent: the token that replaced it, so a retry within the grace window gets that
    /// same token back whichever instance (and active key) serves it.
    pub successor: Option<Successor>,
}

/// The token a refresh token was spent for: its hash, and the key (`kid`) it was derived with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Successor {
    pub hash: String,
    pub kid: String,
}

/// Where a listing page ended: the sort-key value and id of its last item (the HTTP layer
/// carries it in a signed cursor).
///
/// A listing spread over shards needs no more than this: its shards share one order and each
/// item is in exactly one of them, so every shard resumes after this same position, and the
/// items after it are exactly those no page listed yet, wherever they are. It names no shard
/// and no shard count: it stays valid if an item moves to another shard (its place in the order
/// does not change), and under another `LISTING_SHARDS` it resumes at the same place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub phase: u8,
    pub sort: String,
    pub id: String,
}

impl Position {
    /// Where a user listing stands after `user`: phase 0 sorts by e-mail, phase 1 by name.
    pub fn of_user(user: &User, phase: u8) -> Self {
        let sort = match phase {
            0 => user.email.as_str().to_owned(),
            _ => keys::user_name_sort(user),
        };
        Self {
            phase,
            sort,
            id: user.id.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Position>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    pub role: Option<Role>,
    /// Lower-cased prefix of the e-mail or the name.
    pub prefix: Option<String>,
}

/// Which posts to list.
/// - `tag`: the tag index, one status, optionally one author;
/// - `author` without tag: the author index, one status or (`None`) all of them;
/// - neither: the status index, one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostQuery {
    pub author: Option<String>,
    pub tag: Option<Tag>,
    pub status: Option<PostStatus>,
}

impl PostQuery {
    /// The public feed and its filters: published posts unless another status is asked for.
    pub fn feed(author: Option<String>, tag: Option<Tag>, status: Option<PostStatus>) -> Self {
        Self {
            author,
            tag,
            status: Some(status.unwrap_or(PostStatus::Published)),
        }
    }

    /// One author's posts in one status, or in every status.
    pub fn by_author(author: &str, status: Option<PostStatus>) -> Self {
        Self {
            author: Some(author.to_owned()),
            tag: None,
            status,
        }
    }

    /// Where a listing stands after `post`: the sort key of the index this query reads (both
    /// stores sort by the same keys).
    pub fn position_after(&self, post: &PostSummary) -> Position {
        let sort = match (&self.tag, &self.author) {
            (None, Some(_)) => keys::summary_author_sort(post),
            _ => keys::summary_feed_sort(post),
        };
        Position {
            phase: 0,
            sort,
            id: post.id.clone(),
        }
    }

    /// Whether `post`, as read now, still belongs in this listing: a post read after its index
    /// entry (its body, with `?include=content`) may have been unpublished or retagged since.
    pub fn admits(&self, post: &crate::domain::Post) -> bool {
        self.status.is_none_or(|status| post.status == status)
            && self
                .author
                .as_ref()
                .is_none_or(|author| post.author_id == *author)
            && self.tag.as_ref().is_none_or(|tag| post.tags.contains(tag))
    }

    /// The status a status- or tag-index query reads (the feed constructor always sets one).
    pub fn listed_status(&self) -> PostStatus {
        self.status.unwrap_or(PostStatus::Published)
    }
}

/// A write that only the actor's role allows (not ownership: an admin changing or deleting
/// someone, staff editing another's post). It commits only while the actor is still active and
/// holds one of `roles`, so a demotion or deletion that commits first stops it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleHeld {
    pub actor_id: String,
    pub roles: &'static [Role],
}

/// What a single-use account token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
    /// Confirms a new address: the token's `email` replaces the user's once it is followed.
    ChangeEmail,
    /// Signs the user in (`EMAIL_LOGIN`): the link, or the code mailed with it.
    EmailLogin,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::ResetPassword => "reset_password",
            TokenPurpose::ChangeEmail => "change_email",
            TokenPurpose::EmailLogin => "email_login",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "verify_email" => Some(TokenPurpose::VerifyEmail),
            "reset_password" => Some(TokenPurpose::ResetPassword),
            "change_email" => Some(TokenPurpose::ChangeEmail),
            "email_login" => Some(TokenPurpose::EmailLogin),
            _ => None,
        }
    }
}

/// A single-use token mailed to a user, as stored: only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountToken {
    pub hash: String,
    pub purpose: TokenPurpose,
    pub user_id: String,
    /// The address the token was sent to; it is only good while that is the user's address.
    pub email: String,
    /// The user's session generation when it was issued: every event that ends sessions
    /// (password reset or change, "log out everywhere", deletion) bumps it, and so ends every
    /// outstanding token too.
    pub generation: u64,
    pub created_at: i64,
    pub expires_at: i64,
    /// A sign-in token's code, mailed beside its link for use on another device.
    pub code: Option<MailedCode>,
}

/// The code mailed with a sign-in link, as stored: its hash keyed by the signing key `kid`
/// (`auth::email_login`), so the table alone cannot be searched for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailedCode {
    pub kid: String,
    pub hash: String,
}

/// A provider's account linked to a user: it signs in as them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub provider: String,
    /// The provider's stable id of the account (`sub`).
    pub subject: String,
    pub user_id: String,
    /// The address the provider gave when it was linked (shown in the list).
    pub email: Option<String>,
    pub created_at: i64,
    /// Linked by a signed-in user whose session the password signed in: a password reset
    /// unlinks it (as `StoredPasskey::added_with_password`).
    pub added_with_password: bool,
}

/// A sign-in under way at a provider, stored by the hash of its `state` until the callback
/// spends it (or it expires).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthState {
    pub hash: String,
    pub provider: String,
    pub nonce: String,
    pub verifier: String,
    /// The hash of the browser's binding cookie: only the browser that started it finishes it.
    pub binding_hash: String,
    /// Where the browser goes when it is done (from the allow-list).
    pub return_to: String,
    /// Linking to a signed-in user's account: the user and the session that asked.
    pub link: Option<(String, String)>,
    pub expires_at: i64,
}

/// A sign-in a provider finished, for the page to exchange for tokens once; or (with
/// `session_id`) a signed-in user's ticket to start linking a provider from a page navigation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInGrant {
    pub hash: String,
    pub user_id: String,
    pub provider: String,
    pub session_id: Option<String>,
    /// The hash of the binding cookie of the browser it belongs to: only that browser spends it.
    pub binding_hash: String,
    /// The user's session generation when it was made: an event that ends sessions ends it.
    pub generation: u64,
    pub expires_at: i64,
}

/// A passkey registered to a user. Its API id is the hash of the credential id (fixed length,
/// whatever the authenticator chose, which may be up to 1,023 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    pub user_id: String,
    pub id: String,
    pub name: String,
    /// The credential as the WebAuthn library keeps it (public key, sign counter, backup
    /// state), JSON; opaque to the store.
    pub credential: String,
    /// The authenticator's sign counter (0 for those that keep none): a use is recorded only
    /// with a greater one, so a cloned authenticator's stale count is refused.
    pub counter: u32,
    /// May be synced to other devices (backup eligible), and is (backed up).
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// Registered from a session its password signed in: a password reset removes it (whoever
    /// knew the old password may not be the mailbox's owner, who is taking the account back).
    pub added_with_password: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    Registration,
    SignIn,
}

impl CeremonyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CeremonyKind::Registration => "registration",
            CeremonyKind::SignIn => "sign_in",
        }
    }
}

/// A passkey ceremony between its options and its verification, by the hash of its id: the
/// WebAuthn library's state (with the challenge), kept server-side and spent once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyCeremony {
    pub hash: String,
    pub kind: CeremonyKind,
    /// A registration: the signed-in user. A sign-in for an address: that account's user.
    pub user_id: Option<String>,
    /// A registration: the session that asked (the same one finishes it).
    pub session_id: Option<String>,
    pub state: String,
    pub expires_at: i64,
}

/// A user's TOTP factor as stored. Its secret is sealed (`auth::mfa`), never kept in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpFactor {
    pub user_id: String,
    /// Which enrolment this is. Enrolling again replaces a pending factor with a new one, and
    /// every later write is conditioned on this id, so a code checked against one enrolment's
    /// secret never activates or spends another's.
    pub enrolment: String,
    pub secret: SealedSecret,
    pub created_at: i64,
    pub state: FactorState,
}

impl TotpFactor {
    pub fn is_active(&self) -> bool {
        matches!(self.state, FactorState::Active { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactorState {
    /// Enrolled, waiting for its first code until `expires_at` (epoch ms).
    Pending { expires_at: i64 },
    Active {
        activated_at: i64,
        /// The time step of the last code accepted: only later ones are taken.
        last_step: i64,
        recovery: RecoveryCodes,
    },
}

/// A sealed secret and the key (`kid`) that sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub kid: String,
    /// Base64 of the nonce, then the ciphertext and its tag.
    pub sealed: String,
}

/// A factor's recovery codes as stored: one keyed hash per code, made with key `kid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryCodes {
    pub kid: String,
    /// One slot per code issued, `None` once that code was used.
    pub slots: Vec<Option<String>>,
}

impl RecoveryCodes {
    pub fn remaining(&self) -> usize {
        self.slots.iter().flatten().count()
    }
}

/// What proved a second factor, as the store spends it: a code's time step (only a later one
/// is taken next), or the slot of a recovery code still holding its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactorProof {
    Step(i64),
    Recovery { slot: usize, hash: String },
}

/// Which factor a removal may take.
#[derive(Debug, Clone, Copy)]
pub enum FactorRemoval<'a> {
    /// The active enrolment `enrolment`, while `proof` is unspent.
    Proven {
        enrolment: &'a str,
        proof: &'a FactorProof,
    },
    /// The enrolment `enrolment` while it is still pending: never one activated meanwhile.
    Pending { enrolment: &'a str },
    /// Whatever there is (an admin's reset).
    Any,
}

/// The second step of a sign-in: the password was right, a code is still owed. Stored by the
/// hash of its opaque token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaChallenge {
    pub hash: String,
    pub user_id: String,
    /// The user's session generation when the password was checked: a password change or
    /// reset, "log out everywhere" or a deletion since then ends the challenge.
    pub generation: u64,
    pub created_at: i64,
    pub expires_at: i64,
    /// Wrong codes sent so far.
    pub failures: u32,
    pub spent_at: Option<i64>,
    /// How the first step was proven (a password, or a mailed link or code).
    pub first: crate::domain::AuthMethod,
}

/// What a write commits atomically with its change: the token it issues, if any, and the jobs
/// it enqueues (kept in the outbox until their queue has them).
#[derive(Debug, Clone, Default)]
pub struct Effects {
    pub token: Option<AccountToken>,
    pub jobs: Vec<Job>,
}

impl Effects {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn jobs(jobs: Vec<Job>) -> Self {
        Self { token: None, jobs }
    }
}

/// A worker's claim on a job id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Nobody ran it yet (or a run died and its lease ran out): run it now.
    Claimed,
    /// It ran to the end before: do not run it again.
    Done,
    /// Another delivery is running it, or was until it died: its lease holds until `until`
    /// (epoch ms).
    Busy { until: i64 },
}

/// One rate-limit counter in one fixed window: `key` names the rule, the subject and the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub key: String,
    pub limit: u32,
    /// When the window ends (epoch ms); the item may be removed after it.
    pub window_end: i64,
}

/// A counter as it stands: `count` taken, `pending` of them by attempts not settled yet
/// (`LimitStore::reserve`), the latest of which may stay pending until `pending_until` (epoch
/// ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterState {
    pub count: u32,
    pub pending: u32,
    pub pending_until: i64,
}

/// The login lock of one account key (an e-mail address, registered or not).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginState {
    /// 0 while no item exists; bumped by every write, which is conditioned on it.
    pub version: u64,
    /// Bumped by an unlock: counters of the account carry it, so an unlock starts them afresh.
    pub epoch: u64,
    /// Epoch ms until which logins are refused; 0 when never locked.
    pub locked_until: i64,
    /// Locks in a row, for the back-off; see `limits::login`.
    pub lockouts: u32,
}

/// Filters of the audit listing; all optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub target: Option<String>,
    pub action: Option<crate::domain::AuditAction>,
    /// Only events at or after this instant (epoch ms).
    pub since: Option<i64>,
}
