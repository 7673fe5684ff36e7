//! Storage ports: one narrow trait per capability, all implemented once (`entities`) over the
//! single table's typed interface (`table`), whichever engine serves it.
//!
//! Every write to a user or post bumps its `version`, whichever path makes it, and writes only
//! the attributes that path owns; whole-item writes are conditioned on the version read. So no
//! write can carry a stale value of another path's attribute back.

mod changed;
pub mod entities;
pub mod keys;
mod records;
pub mod table;

use std::sync::Arc;

use async_trait::async_trait;

use crate::BoxError;
use crate::domain::{AuditEvent, Email, Lead, Post, PostSummary, Role, User};
pub use changed::Changed;
pub use records::{
    AccountToken, AuditQuery, Claim, Counter, CounterState, Effects, FactorProof, FactorRemoval,
    FactorState, Identity, LoginState, MailedCode, MfaChallenge, OAuthState, Page, Position,
    PostQuery, RecoveryCodes, RefreshRecord, RoleHeld, SealedSecret, Session, SessionOrigin,
    SignInGrant, Successor, TokenPurpose, TotpFactor, UserQuery,
};
pub use records::{CeremonyKind, PasskeyCeremony, StoredPasskey};

use crate::jobs::Job;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the e-mail address is already registered")]
    EmailTaken,
    /// A conditional write lost: the item changed (or vanished) since it was read.
    #[error("the item changed concurrently")]
    Conflict,
    #[error("no such item")]
    NotFound,
    /// The store did not answer in time, or throttled us: worth retrying a little later.
    #[error("the store is unavailable")]
    Unavailable(#[source] BoxError),
    #[error("storage backend error")]
    Backend(#[source] BoxError),
}

impl StoreError {
    pub fn backend(cause: impl Into<BoxError>) -> Self {
        Self::Backend(cause.into())
    }
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates the user and claims its e-mail atomically, with `effects`; `EmailTaken` if an
    /// active user has the address.
    async fn create_user(&self, user: &User, effects: &Effects) -> Result<(), StoreError>;
    /// The user as stored, deleted or not.
    async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError>;
    /// The active user holding this e-mail address.
    async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;
    /// Writes `next`'s name, e-mail and role if the stored version is still `previous.version`
    /// (`Conflict` otherwise), with `effects`. An e-mail change releases the old address and
    /// claims the new one in the same transaction (`EmailTaken` if someone holds it), and
    /// cancels the user's pending address change and reset link. With `held`, the write also
    /// requires its actor to still hold the role when it commits (`Conflict` otherwise), so an
    /// admin demoted meanwhile cannot still change someone else.
    async fn update_profile(
        &self,
        previous: &User,
        next: &User,
        held: Option<&RoleHeld>,
        effects: &Effects,
    ) -> Result<(), StoreError>;
    /// Sets the role whatever the version (the command-line `promote`).
    async fn set_role(&self, id: &str, role: Role, now: i64) -> Result<User, StoreError>;
    /// "Log out everywhere": bumps the session generation. `NotFound` for a deleted user.
    async fn end_all_sessions(&self, id: &str, now: i64) -> Result<(), StoreError>;
    /// Replaces the password hash if it is still `user.password_hash` (the one just verified)
    /// and no session ending came between (same session generation), ending every session;
    /// `Conflict` if another password change or "log out everywhere" came first.
    async fn change_password(
        &self,
        user: &User,
        new_hash: &str,
        now: i64,
        effects: &Effects,
    ) -> Result<User, StoreError>;
    /// Soft delete: sets `deleted_at`, ends every session, frees the e-mail, leaves listings,
    /// with `effects`. With `expected_version`, only if the stored version is that one; with
    /// `held`, only while its actor holds the role (`Conflict` otherwise).
    async fn delete_user(
        &self,
        user: &User,
        expected_version: Option<u64>,
        at: i64,
        effects: &Effects,
        held: Option<&RoleHeld>,
    ) -> Result<User, StoreError>;
    /// Active users ordered by e-mail; with a prefix, those whose e-mail starts with it, then
    /// those whose name does (ordered by name). `Position::phase` says which part a cursor is in.
    async fn list_users(
        &self,
        query: &UserQuery,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<User>, StoreError>;
}

#[async_trait]
pub trait PostStore: Send + Sync {
    /// Creates the post if its author is still active (`NotFound` otherwise), atomically with
    /// that check, so no post can appear after its author's deletion.
    async fn create_post(&self, post: &Post) -> Result<(), StoreError>;
    /// The post, with `author_deleted` set once its author is deleted, even before the
    /// clean-up job has hidden it.
    async fn get_post(&self, id: &str) -> Result<Option<Post>, StoreError>;
    /// Replaces `previous` with `next` if the stored version is still `previous.version`, the
    /// post is not hidden and, with `held`, its actor holds the role (`Conflict` otherwise).
    async fn update_post(
        &self,
        previous: &Post,
        next: &Post,
        held: Option<&RoleHeld>,
    ) -> Result<(), StoreError>;
    /// Deletes the post if the stored version is still `post.version` and, with `held`, its
    /// actor holds the role (`Conflict` otherwise).
    async fn delete_post(&self, post: &Post, held: Option<&RoleHeld>) -> Result<(), StoreError>;
    /// The posts with these ids that exist, are not hidden and whose author is not deleted,
    /// in no particular order.
    async fn get_posts(&self, ids: &[String]) -> Result<Vec<Post>, StoreError>;
    /// Newest first, as summaries (no body); see `PostQuery` for which index serves which
    /// filter. A page may hold fewer than `limit` posts with more to follow (its `next` says).
    /// A deleted author's posts are never listed, hidden yet or not.
    async fn list_posts(
        &self,
        query: &PostQuery,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<PostSummary>, StoreError>;
    /// One page of a deleted author's clean-up: hides the author's posts among the next `limit`
    /// entries of the author index after `after` (from the top without it), bumping each
    /// version, each in a transaction with its leaving the dashboard's totals. Returns where
    /// the next page starts, `None` once the index has no more.
    ///
    /// Resumable and safe to run concurrently: hidden posts leave the author index, so a run
    /// started again from the top skips what an earlier run hid, and each hide is conditioned
    /// on the post not being hidden yet, so two runs hide (and uncount) a post once. Reads stop
    /// showing the posts as soon as the author is deleted; hiding drops their index keys.
    async fn hide_author_posts_page(
        &self,
        author_id: &str,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Option<Position>, StoreError>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Starts a session (a refresh-token family) with its first refresh token.
    async fn create_session(
        &self,
        session: &Session,
        token: &RefreshRecord,
    ) -> Result<(), StoreError>;
    /// The session, unless it has expired.
    async fn get_session(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Result<Option<Session>, StoreError>;
    /// `get_user` and `get_session` at once, read together: what every authenticated request
    /// checks.
    async fn get_user_and_session(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Result<(Option<User>, Option<Session>), StoreError>;
    /// The refresh token with this hash, unless it has expired.
    async fn find_refresh_token(&self, hash: &str) -> Result<Option<RefreshRecord>, StoreError>;
    /// Atomically marks `spent_hash` spent for `next` (derived with the key `kid`), stores
    /// `next`, and extends the session to `next.expires_at`. `Conflict` if the token was already
    /// spent or the session revoked.
    async fn rotate_refresh_token(
        &self,
        spent_hash: &str,
        spent_at: i64,
        next: &RefreshRecord,
        kid: &str,
    ) -> Result<(), StoreError>;
    /// Marks the session revoked (if it is still there), whoever it belonged to and however
    /// it ended before: what a reused refresh token or a logout by refresh token does.
    async fn revoke_session(
        &self,
        user_id: &str,
        session_id: &str,
        at: i64,
    ) -> Result<(), StoreError>;
    /// Records that the session's holder proved more (a second factor): its authentication is
    /// now `authentication`. `Conflict` if the session is gone or revoked.
    async fn raise_session(
        &self,
        user_id: &str,
        session_id: &str,
        authentication: &crate::domain::Authentication,
    ) -> Result<(), StoreError>;
    /// The sessions of `user` that are live at `now` (not ended, started in its current
    /// session generation, not expired), newest first. A page may hold fewer than `limit`
    /// sessions with more to follow (its `next` says).
    async fn list_sessions(
        &self,
        user: &User,
        after: Option<&Position>,
        limit: usize,
        now: i64,
    ) -> Result<Page<Session>, StoreError>;
    /// Records that `session` was used at `now` if the stored last use is before
    /// `stale_before`: one conditional write, only while the session is there and live, so it
    /// never brings back an ended or expired session, and of requests at once one writes.
    /// False when nothing was written.
    async fn touch_session(
        &self,
        session: &Session,
        now: i64,
        stale_before: i64,
    ) -> Result<bool, StoreError>;
    /// Ends one live session of `user`: `NotFound` if the id names none (unknown, another
    /// user's, or ended already: of two endings at once, one ends it). With `held`, only while
    /// its actor holds the role (`Conflict` otherwise).
    async fn end_session(
        &self,
        user: &User,
        session_id: &str,
        at: i64,
        held: Option<&RoleHeld>,
    ) -> Result<(), StoreError>;
    /// Ends every session of `user` but `keep`, in one transaction: bumps the session
    /// generation (as "log out everywhere" does, which also ends outstanding account tokens)
    /// and moves `keep` into the new one. `Conflict` if the generation moved since `user` was
    /// read, or `keep` is no longer live.
    async fn end_other_sessions(&self, user: &User, keep: &str, now: i64)
    -> Result<(), StoreError>;
}

/// E-mail verification and password reset: single-use tokens, stored hashed.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// The unexpired token with this hash.
    async fn find_token(&self, hash: &str) -> Result<Option<AccountToken>, StoreError>;
    /// Stores `effects.token` for its user with `effects.jobs`, if the user is active and still
    /// has the token's address (for an address change: is active). A reset or address-change
    /// token replaces the user's previous one of its kind, which stops working. A verification or
    /// reset token is refused (`Conflict`) within `min_gap_ms` of the last one of its kind, and a
    /// verification token once the address is verified.
    async fn issue_token(
        &self,
        effects: &Effects,
        min_gap_ms: i64,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Spends a verification token and marks the address verified if it is still the user's.
    /// `NotFound` if the token was spent, expired or is for an address the user no longer has.
    async fn verify_email(&self, token: &AccountToken, now: i64) -> Result<(), StoreError>;
    /// Spends an address-change token: `previous` becomes `next` (its new, verified address),
    /// with `effects`. `NotFound` if the token was spent, expired or superseded; `Conflict` if
    /// the user changed since `previous` was read; `EmailTaken` if the address was claimed.
    async fn change_email(
        &self,
        token: &AccountToken,
        previous: &User,
        next: &User,
        effects: &Effects,
    ) -> Result<(), StoreError>;
    /// The user's newest sign-in token, if it is unexpired and not spent or superseded.
    async fn find_email_login(&self, user_id: &str) -> Result<Option<AccountToken>, StoreError>;
    /// Counts a code sent for a sign-in token before it is checked; `Conflict` once
    /// `max_tries` were counted (or the token is spent or expired at `now`).
    async fn count_code_try(
        &self,
        token: &AccountToken,
        max_tries: u32,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Spends a sign-in token, with `effects`. With `proves_address`, the address becomes
    /// verified, every other session ends, and the password and any second factor are removed
    /// (`NO_PASSWORD`): whoever registered the address, and set them, may not be its owner. `NotFound` if the token was spent, expired, superseded or ended by
    /// an event that ends sessions.
    async fn sign_in_by_email(
        &self,
        token: &AccountToken,
        proves_address: bool,
        now: i64,
        effects: &Effects,
    ) -> Result<(), StoreError>;
    /// Spends a reset token: sets the password, ends every session and removes the passkeys
    /// registered with the old password (`StoredPasskey::added_with_password`), with
    /// `effects`. `NotFound` if the token was spent, expired or superseded by a newer one.
    async fn reset_password(
        &self,
        token: &AccountToken,
        new_hash: &str,
        now: i64,
        effects: &Effects,
    ) -> Result<(), StoreError>;
}

/// Social sign-in: the identities that sign in as a user, the sign-ins under way at a provider,
/// and the finished ones waiting to be exchanged. Every spend is a conditional delete: of two
/// requests with one state or grant, one gets it.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    async fn find_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<Identity>, StoreError>;
    async fn list_identities(&self, user_id: &str) -> Result<Vec<Identity>, StoreError>;
    /// Links `identity` to its active user, with `effects`; `replacing` is a deleted user it may
    /// be taken from; `generation`, for a link a signed-in user asked for, the generation their
    /// sessions must still be of (a reset or "log out everywhere" since refuses it). `Conflict`
    /// if another user holds it (or the user is gone, or their sessions ended).
    async fn link_identity(
        &self,
        identity: &Identity,
        replacing: Option<&str>,
        generation: Option<u64>,
        effects: &Effects,
    ) -> Result<(), StoreError>;
    /// Unlinks it, unless it is the user's last way in (no password and no other identity):
    /// `Conflict` then; `NotFound` if it is not linked to them.
    async fn unlink_identity(&self, identity: &Identity) -> Result<(), StoreError>;
    async fn create_oauth_state(&self, state: &OAuthState) -> Result<(), StoreError>;
    /// Spends the state with this hash if it is unexpired and bound to `binding_hash`.
    async fn take_oauth_state(
        &self,
        hash: &str,
        binding_hash: &str,
        now: i64,
    ) -> Result<Option<OAuthState>, StoreError>;
    async fn create_grant(&self, grant: &SignInGrant) -> Result<(), StoreError>;
    /// Spends the unexpired grant with this hash, if it belongs to the browser bound by
    /// `binding_hash`.
    async fn take_grant(
        &self,
        hash: &str,
        binding_hash: &str,
        now: i64,
    ) -> Result<Option<SignInGrant>, StoreError>;
}

/// Second factors (a TOTP factor and its recovery codes, one per user) and the sign-in
/// challenges that wait for them. Every write that spends a code is conditional, so of two
/// requests racing with one code, one wins.
#[async_trait]
pub trait MfaStore: Send + Sync {
    /// The user's factor: active, or pending and not expired at `now`.
    async fn get_totp(&self, user_id: &str, now: i64) -> Result<Option<TotpFactor>, StoreError>;
    /// Stores a pending factor, replacing a pending one (expired or not); `Conflict` if the
    /// user has an active one.
    async fn enrol_totp(&self, factor: &TotpFactor) -> Result<(), StoreError>;
    /// Activates the pending enrolment `enrolment` with the step of its first code and its
    /// recovery codes, with `effects`; `Conflict` if it is no longer pending (activated,
    /// replaced, removed or expired at `now`).
    async fn activate_totp(
        &self,
        user_id: &str,
        enrolment: &str,
        step: i64,
        recovery: &RecoveryCodes,
        now: i64,
        effects: &Effects,
    ) -> Result<(), StoreError>;
    /// Spends `proof` on the active enrolment `enrolment` (a step later than the last one
    /// taken, or a recovery slot still holding its hash) and, with `challenge`, spends that
    /// sign-in challenge (by its hash) if it is unspent (its try already counted,
    /// `count_challenge_try`), all with `effects`, or none of it: `Conflict`.
    async fn spend_proof(
        &self,
        user_id: &str,
        enrolment: &str,
        proof: &FactorProof,
        challenge: Option<&str>,
        now: i64,
        effects: &Effects,
    ) -> Result<(), StoreError>;
    /// Replaces the recovery codes of the active enrolment `enrolment`, with `effects`;
    /// `Conflict` otherwise.
    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        enrolment: &str,
        recovery: &RecoveryCodes,
        effects: &Effects,
    ) -> Result<(), StoreError>;
    /// Removes the user's factor as `removal` allows, with `effects`: `Conflict` when the
    /// factor is no longer what it names, `NotFound` when there is none to remove (`Any`). With
    /// `held`, only while its actor holds the role (`Conflict`).
    async fn remove_totp(
        &self,
        user_id: &str,
        removal: FactorRemoval<'_>,
        held: Option<&RoleHeld>,
        effects: &Effects,
    ) -> Result<(), StoreError>;
    async fn create_challenge(&self, challenge: &MfaChallenge) -> Result<(), StoreError>;
    /// The challenge with this hash, spent, failed out or expired alike.
    async fn find_challenge(&self, hash: &str) -> Result<Option<MfaChallenge>, StoreError>;
    /// Counts an answer as a failure before its code is checked (so answers sent at once
    /// cannot pass the limit), if the challenge is unspent and below `max_failures`; `Conflict`
    /// otherwise (spent, failed out or gone).
    async fn count_challenge_try(&self, hash: &str, max_failures: u32) -> Result<(), StoreError>;
}

/// Leads from the public form.
#[async_trait]
pub trait LeadStore: Send + Sync {
    /// Stores the lead with `effects` (the notices about it).
    async fn create_lead(&self, lead: &Lead, effects: &Effects) -> Result<(), StoreError>;
    async fn get_lead(&self, id: &str) -> Result<Option<Lead>, StoreError>;
    /// Writes `next` if the stored version is still `previous.version` and `held`'s actor still
    /// holds the role (`Conflict` otherwise).
    async fn update_lead(
        &self,
        previous: &Lead,
        next: &Lead,
        held: &RoleHeld,
    ) -> Result<(), StoreError>;
    /// Newest first.
    async fn list_leads(
        &self,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<Lead>, StoreError>;
}

/// One outbox row as listed: its key, when it was written, and its job, or why the stored
/// text does not read as one (a row from a newer or broken writer).
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    /// The job id the row is stored under.
    pub id: String,
    /// Epoch ms; with `id`, the listing order.
    pub created_at: i64,
    pub job: Result<Job, UnreadableJob>,
}

/// The stored text of an outbox row that does not read as a job, and the error.
#[derive(Debug, Clone, PartialEq)]
pub struct UnreadableJob {
    pub raw: String,
    pub error: String,
}

/// An outbox row moved out of the way (`OUTBOX_DEAD#<id>` / table `outbox_dead`), kept for an
/// operator with its text and why it could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadOutboxRow {
    pub id: String,
    pub created_at: i64,
    pub raw: String,
    pub error: String,
    /// Epoch ms.
    pub dead_at: i64,
}

/// Jobs written with the change they report, waiting until their queue has them.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Rows of index shard `shard` written before `before` (epoch ms) and still in the
    /// outbox, oldest first (by `created_at`, then `id`), starting after the row at `after`
    /// (`created_at`, `id`). One unreadable row is listed as such; it never fails the listing.
    async fn outbox_rows(
        &self,
        shard: u32,
        before: i64,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, StoreError>;
    /// The readable jobs among the first `limit` rows of each shard written before `before`,
    /// oldest first (for tools and tests: reads every shard).
    async fn outbox_due(&self, before: i64, limit: usize) -> Result<Vec<Job>, StoreError> {
        let mut jobs = Vec::new();
        for shard in 0..keys::OUTBOX_SHARDS {
            let rows = self.outbox_rows(shard, before, None, limit).await?;
            jobs.extend(rows.into_iter().filter_map(|row| row.job.ok()));
        }
        jobs.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        jobs.truncate(limit);
        Ok(jobs)
    }
    /// Rewrites the row unchanged but for a `touchedAt`, so the stream carries it again (an
    /// unfinished clean-up handed back). Nothing if the row is gone.
    async fn touch_outbox(&self, job_id: &str, now: i64) -> Result<(), StoreError>;
    async fn remove_from_outbox(&self, job_id: &str) -> Result<(), StoreError>;
    /// Moves a row out of the outbox into the dead letters, in one write.
    async fn dead_letter_outbox(&self, dead: &DeadOutboxRow) -> Result<(), StoreError>;
    /// Dead-lettered rows, oldest first.
    async fn outbox_dead_letters(&self, limit: usize) -> Result<Vec<DeadOutboxRow>, StoreError>;
    /// Puts jobs in the outbox on their own, for a change that was not a store write (a
    /// detected attack).
    async fn add_to_outbox(&self, jobs: &[Job]) -> Result<(), StoreError>;
}

/// Which jobs ran: a worker claims a job id before running it, so a redelivered message never
/// runs twice.
#[async_trait]
pub trait JobRecords: Send + Sync {
    /// Claims the job for `lease_ms`; a claim whose lease ran out (a run that died) can be
    /// taken again.
    async fn claim_job(&self, job_id: &str, now: i64, lease_ms: i64) -> Result<Claim, StoreError>;
    /// Marks the job done (kept for a week, longer than any redelivery).
    async fn finish_job(&self, job_id: &str, now: i64) -> Result<(), StoreError>;
    /// Gives the claim up after a failed run, so the next delivery runs it.
    async fn release_job(&self, job_id: &str) -> Result<(), StoreError>;
}

/// Rate-limit counters and login locks. Every write is conditional, so the limits hold across
/// every instance that shares the store.
#[async_trait]
pub trait LimitStore: Send + Sync {
    /// Adds one to the counter unless it already holds `limit`: the count after adding, or
    /// `None` when it was full.
    async fn take(&self, counter: &Counter, now: i64) -> Result<Option<u32>, StoreError>;
    /// Gives back one taken from `counter` (an attempt that turned out not to count).
    async fn give_back(&self, counter: &Counter) -> Result<(), StoreError>;
    /// Takes one, as `take` does, for an attempt whose outcome decides whether it counts: it is
    /// pending until `settle`d, or until `pending_until` (epoch ms), when no attempt can still be
    /// running. The count after adding, or `None` when the counter was full.
    async fn reserve(
        &self,
        counter: &Counter,
        pending_until: i64,
    ) -> Result<Option<u32>, StoreError>;
    /// Settles one pending: it stays taken when it `counts`, otherwise it is given back. The
    /// counter after, or `None` when it held nothing pending (its window's item is gone).
    async fn settle(
        &self,
        counter: &Counter,
        counts: bool,
    ) -> Result<Option<CounterState>, StoreError>;
    /// The counter as it stands, read consistently (`None` when nothing was taken in its window).
    async fn counter_state(&self, counter: &Counter) -> Result<Option<CounterState>, StoreError>;
    /// The account's login state (the default when it has none).
    async fn login_state(&self, account: &str) -> Result<LoginState, StoreError>;
    /// Locks the account until `until` with `lockouts` locks in a row, if its state is still
    /// `seen` (by version). False when another request changed it first, so one run of failures
    /// locks once.
    async fn lock_login(
        &self,
        account: &str,
        seen: &LoginState,
        until: i64,
        lockouts: u32,
        keep_until: i64,
    ) -> Result<bool, StoreError>;
    /// Ends any lock, forgets the back-off and starts the account's counters afresh (new
    /// epoch). Returns the state it replaced.
    async fn unlock_login(&self, account: &str, keep_until: i64) -> Result<LoginState, StoreError>;
}

/// The audit log of security events.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Stores the event; it may be removed after `keep_until` (epoch ms).
    async fn record_event(&self, event: &AuditEvent, keep_until: i64) -> Result<(), StoreError>;
    /// Newest first, after `after` (a position from an earlier page). A page may hold fewer
    /// than `limit` events with more to follow (its `next` says).
    async fn list_events(
        &self,
        query: &AuditQuery,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<AuditEvent>, StoreError>;
}

/// One change's counter deltas, to be added once: `change_id` is the stream record's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub change_id: String,
    pub deltas: Vec<crate::metrics::counts::Delta>,
}

/// The dashboard's counters (kept by the `counts` stream consumer, see `metrics::counts`) and
/// the snapshots the metrics job makes of them.
#[async_trait]
pub trait MetricsStore: Send + Sync {
    /// Marks the user active on the day of `at` (the stream then counts the marker once): true
    /// for the first call of a day.
    async fn mark_active(&self, user_id: &str, at: i64) -> Result<bool, StoreError>;
    /// Adds each change's deltas to the counters, once per `change_id` however often it is
    /// given (for 48 hours, longer than a stream keeps a change). On failure, the index of the
    /// first change that may not be counted: every change before it is.
    async fn add_counts(&self, changes: &[Counted], now: i64) -> Result<(), (usize, StoreError)>;
    /// The summed value of every counter named in `names`, keyed by (name, bucket), for the
    /// buckets in `buckets` (dates and `total`).
    async fn read_counters(
        &self,
        names: &[String],
        buckets: &[String],
    ) -> Result<std::collections::HashMap<(String, String), i64>, StoreError>;
    /// Stores `body` as the snapshot of `bucket` (epoch ms), its counts read at `taken_at`
    /// (epoch ms), unless the bucket already holds one taken at or after `taken_at`: false
    /// then, and nothing changes. A bucket's snapshot only gets fresher: a later run in the same
    /// bucket replaces it, a retried or late run carrying an older `taken_at` never does, and
    /// of concurrent writers the one with the latest `taken_at` stays, whatever order they land
    /// in (one conditional write: `PutItem` on DynamoDB, an upsert on SQLite). A snapshot stored
    /// without a `taken_at` (before there was one) counts as taken at the epoch.
    async fn put_snapshot(
        &self,
        bucket: i64,
        taken_at: i64,
        body: &str,
    ) -> Result<bool, StoreError>;
    /// The newest snapshot: its bucket and body.
    async fn latest_snapshot(&self) -> Result<Option<(i64, String)>, StoreError>;
}

/// Passkeys: the credentials registered to a user (each credential id belongs to one), and the
/// ceremonies between options and verification, each spent once (a conditional delete).
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    async fn find_passkey(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<Option<StoredPasskey>, StoreError>;
    async fn list_passkeys(&self, user_id: &str) -> Result<Vec<StoredPasskey>, StoreError>;
    /// Registers it to its active user, who then has at most `max`, while the user's sessions
    /// are still of `generation` (a reset or "log out everywhere" since refuses it), with
    /// `effects`. `Conflict` if the credential is registered already (to anyone), the user has
    /// `max`, is gone, or their sessions ended.
    async fn add_passkey(
        &self,
        passkey: &StoredPasskey,
        max: u32,
        generation: u64,
        effects: &Effects,
    ) -> Result<(), StoreError>;
    /// Records a sign-in with it: the credential as updated, at `at`. `Conflict` if it was
    /// removed meanwhile, or (for an authenticator that counts) another use recorded a count
    /// as high.
    async fn record_passkey_use(&self, used: &StoredPasskey, at: i64) -> Result<(), StoreError>;
    /// `NotFound` if the user has no such passkey.
    async fn rename_passkey(&self, user_id: &str, id: &str, name: &str) -> Result<(), StoreError>;
    /// Removes it, unless it is the user's last way in (no password, no provider, no other
    /// passkey): `Conflict` then; `NotFound` if the user has no such passkey.
    async fn remove_passkey(
        &self,
        user_id: &str,
        id: &str,
        effects: &Effects,
    ) -> Result<(), StoreError>;
    async fn create_ceremony(&self, ceremony: &PasskeyCeremony) -> Result<(), StoreError>;
    /// Spends the unexpired ceremony with this hash: of two spending one, one gets it.
    async fn take_ceremony(
        &self,
        hash: &str,
        now: i64,
    ) -> Result<Option<PasskeyCeremony>, StoreError>;
}

/// The ports a handler can reach, all served by one adapter.
#[derive(Clone)]
pub struct Stores {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub posts: Arc<dyn PostStore>,
    pub accounts: Arc<dyn AccountStore>,
    pub mfa: Arc<dyn MfaStore>,
    pub identities: Arc<dyn IdentityStore>,
    pub passkeys: Arc<dyn PasskeyStore>,
    pub leads: Arc<dyn LeadStore>,
    pub outbox: Arc<dyn OutboxStore>,
    pub job_records: Arc<dyn JobRecords>,
    pub limits: Arc<dyn LimitStore>,
    pub audit: Arc<dyn AuditLog>,
    pub metrics: Arc<dyn MetricsStore>,
}

impl Stores {
    pub fn from_adapter<A>(adapter: Arc<A>) -> Self
    where
        A: UserStore
            + SessionStore
            + PostStore
            + AccountStore
            + MfaStore
            + IdentityStore
            + PasskeyStore
            + LeadStore
            + OutboxStore
            + JobRecords
            + LimitStore
            + AuditLog
            + MetricsStore
            + 'static,
    {
        Self {
            users: adapter.clone(),
            sessions: adapter.clone(),
            posts: adapter.clone(),
            accounts: adapter.clone(),
            mfa: adapter.clone(),
            identities: adapter.clone(),
            passkeys: adapter.clone(),
            leads: adapter.clone(),
            outbox: adapter.clone(),
            job_records: adapter.clone(),
            limits: adapter.clone(),
            audit: adapter.clone(),
            metrics: adapter,
        }
    }
}
