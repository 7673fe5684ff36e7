use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::SqliteStore;
use super::accounts::write_effects;
use super::metrics::apply_counts;
use crate::domain::{DisplayName, Email, Role, User};
use crate::metrics::counts;
use crate::store::{
    Effects, Page, Position, RoleHeld, StoreError, TokenPurpose, UserQuery, UserStore,
};

/// Inside a write's transaction: `Conflict` unless `held`'s actor is still active with one of
/// its roles.
pub(super) fn check_role_held(
    conn: &Connection,
    held: Option<&RoleHeld>,
) -> Result<(), StoreError> {
    let Some(held) = held else {
        return Ok(());
    };
    let role: Option<String> = conn
        .query_row(
            "SELECT role FROM users WHERE id = ?1 AND deleted_at IS NULL",
            [&held.actor_id],
            |row| row.get(0),
        )
        .optional()?;
    match role.and_then(|role| Role::parse(&role).ok()) {
        Some(role) if held.roles.contains(&role) => Ok(()),
        _ => Err(StoreError::Conflict),
    }
}

const USER_COLUMNS: &str = "id, email, name, role, password_hash, created_at, updated_at, version, session_generation, deleted_at, email_verified";

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let text_error = |i: usize, e: crate::domain::Invalid| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.message.into())
    };
    Ok(User {
        id: row.get(0)?,
        email: Email::parse(row.get::<_, String>(1)?).map_err(|e| text_error(1, e))?,
        name: DisplayName::parse(row.get::<_, String>(2)?).map_err(|e| text_error(2, e))?,
        role: Role::parse(row.get::<_, String>(3)?).map_err(|e| text_error(3, e))?,
        password_hash: row.get(4)?,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
        version: row.get::<_, i64>(7)? as u64,
        session_generation: row.get::<_, i64>(8)? as u64,
        deleted_at: row.get(9)?,
        email_verified: row.get(10)?,
    })
}

fn insert_user(
    conn: &Connection,
    user: &User,
    verify_sent_at: Option<i64>,
) -> rusqlite::Result<usize> {
    conn.execute(
        &format!("INSERT INTO users ({USER_COLUMNS}, name_key, verify_sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
        params![
            user.id,
            user.email.as_str(),
            user.name.as_str(),
            user.role.as_str(),
            user.password_hash,
            user.created_at,
            user.updated_at,
            user.version as i64,
            user.session_generation as i64,
            user.deleted_at,
            user.email_verified,
            user.name_key(),
            verify_sent_at
        ],
    )
}

fn is_constraint_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::ConstraintViolation)
}

/// `SET <assignments>, version = version + 1` on the active user `?1`; the user as written, or
/// `NotFound` when there is no active user.
fn update_active_user(
    conn: &Connection,
    id: &str,
    assignments: &str,
    params: impl rusqlite::Params,
) -> Result<User, StoreError> {
    let changed = conn.execute(
        &format!(
            "UPDATE users SET {assignments}, version = version + 1
             WHERE id = ?1 AND deleted_at IS NULL"
        ),
        params,
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    select_user(conn, "id = ?1", id)?.ok_or(StoreError::NotFound)
}

fn select_user(conn: &Connection, clause: &str, arg: &str) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE {clause}");
    Ok(conn.query_row(&sql, [arg], user_from_row).optional()?)
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: &User, effects: &Effects) -> Result<(), StoreError> {
        let (user, effects) = (user.clone(), effects.clone());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let verify_sent_at = effects
                .token
                .as_ref()
                .filter(|t| t.purpose == TokenPurpose::VerifyEmail)
                .map(|t| t.created_at);
            match insert_user(&tx, &user, verify_sent_at) {
                Err(e) if is_constraint_violation(&e) => return Err(StoreError::EmailTaken),
                other => other?,
            };
            write_effects(&tx, &effects)?;
            apply_counts(&tx, &counts::user_created(&user))?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| select_user(conn, "id = ?1", &id))
            .await
    }

    async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let email = email.as_str().to_owned();
        self.run(move |conn| select_user(conn, "email = ?1 AND deleted_at IS NULL", &email))
            .await
    }

    async fn update_profile(
        &self,
        previous: &User,
        next: &User,
        held: Option<&RoleHeld>,
        effects: &Effects,
    ) -> Result<(), StoreError> {
        let (expected, next, held, effects) = (
            previous.version as i64,
            next.clone(),
            held.cloned(),
            effects.clone(),
        );
        self.run(move |conn| {
            let tx = conn.transaction()?;
            check_role_held(&tx, held.as_ref())?;
            // A new address cancels links mailed for the old one (the right-hand sides read
            // the row as it was).
            let changed = tx.execute(
                "UPDATE users SET email = ?1, name = ?2, role = ?3, updated_at = ?4, version = ?5,
                 name_key = ?6, email_verified = ?9,
                 pending_email_token = CASE WHEN email = ?1 THEN pending_email_token END,
                 reset_token = CASE WHEN email = ?1 THEN reset_token END
                 WHERE id = ?7 AND version = ?8 AND deleted_at IS NULL",
                params![
                    next.email.as_str(),
                    next.name.as_str(),
                    next.role.as_str(),
                    next.updated_at,
                    next.version as i64,
                    next.name_key(),
                    next.id,
                    expected,
                    next.email_verified
                ],
            );
            match changed {
                Ok(0) => return Err(StoreError::Conflict),
                Ok(_) => {}
                Err(e) if is_constraint_violation(&e) => return Err(StoreError::EmailTaken),
                Err(e) => return Err(e.into()),
            }
            write_effects(&tx, &effects)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn set_role(&self, id: &str, role: Role, now: i64) -> Result<User, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            update_active_user(
                conn,
                &id,
                "role = ?2, updated_at = ?3",
                params![id, role.as_str(), now],
            )
        })
        .await
    }

    async fn end_all_sessions(&self, id: &str, now: i64) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            update_active_user(
                conn,
                &id,
                "session_generation = session_generation + 1, updated_at = ?2",
                params![id, now],
            )
            .map(|_| ())
        })
        .await
    }

    async fn change_password(
        &self,
        user: &User,
        new_hash: &str,
        now: i64,
        effects: &Effects,
    ) -> Result<User, StoreError> {
        let (id, verified, new_hash, generation, effects) = (
            user.id.clone(),
            user.password_hash.clone(),
            new_hash.to_owned(),
            user.session_generation,
            effects.clone(),
        );
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let changed = tx.execute(
                "UPDATE users SET password_hash = ?1, updated_at = ?2,
                 session_generation = session_generation + 1, version = version + 1
                 WHERE id = ?3 AND password_hash = ?4 AND session_generation = ?5
                 AND deleted_at IS NULL",
                params![new_hash, now, id, verified, generation as i64],
            )?;
            if changed == 0 {
                return Err(StoreError::Conflict);
            }
            write_effects(&tx, &effects)?;
            let user = select_user(&tx, "id = ?1", &id)?.ok_or(StoreError::NotFound)?;
            tx.commit()?;
            Ok(user)
        })
        .await
    }

    async fn delete_user(
        &self,
        user: &User,
        expected_version: Option<u64>,
        at: i64,
        effects: &Effects,
        held: Option<&RoleHeld>,
    ) -> Result<User, StoreError> {
        let (id, effects, held) = (user.id.clone(), effects.clone(), held.cloned());
        let expected = expected_version.map(|v| v as i64);
        self.run(move |conn| {
            let tx = conn.transaction()?;
            check_role_held(&tx, held.as_ref())?;
            let changed = tx.execute(
                "UPDATE users SET deleted_at = ?1, updated_at = ?1,
                 session_generation = session_generation + 1, version = version + 1
                 WHERE id = ?2 AND deleted_at IS NULL AND (?3 IS NULL OR version = ?3)",
                params![at, id, expected],
            )?;
            if changed == 0 {
                return Err(StoreError::Conflict);
            }
            write_effects(&tx, &effects)?;
            apply_counts(&tx, &counts::user_deleted())?;
            let user = select_user(&tx, "id = ?1", &id)?.ok_or(StoreError::NotFound)?;
            tx.commit()?;
            Ok(user)
        })
        .await
    }

    async fn list_users(
        &self,
        query: &UserQuery,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<User>, StoreError> {
        let (query, after) = (query.clone(), after.cloned());
        self.run(move |conn| list_users(conn, &query, after, limit))
            .await
    }
}

/// Phase 0 orders by e-mail (all users, or those whose e-mail has the prefix); phase 1 orders
/// by name those whose name has the prefix and whose e-mail does not.
fn list_users(
    conn: &Connection,
    query: &UserQuery,
    mut after: Option<Position>,
    limit: usize,
) -> Result<Page<User>, StoreError> {
    let role = query.role.map(|r| r.as_str().to_owned());
    let prefix = query.prefix.clone().unwrap_or_default();
    let mut items = Vec::new();
    let first_phase = after.as_ref().map_or(0, |p| p.phase);
    let last_phase = if query.prefix.is_some() { 1 } else { 0 };
    for phase in first_phase..=last_phase {
        let (sort_column, matches) = match phase {
            0 => ("email", "substr(email, 1, length(?2)) = ?2"),
            _ => (
                "name_key",
                "substr(name_key, 1, length(?2)) = ?2 AND substr(email, 1, length(?2)) <> ?2",
            ),
        };
        let start = after
            .take()
            .filter(|p| p.phase == phase)
            .map(|p| p.sort)
            .unwrap_or_default();
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users
             WHERE deleted_at IS NULL AND (?1 IS NULL OR role = ?1) AND {matches} AND {sort_column} > ?3
             ORDER BY {sort_column} LIMIT ?4"
        );
        let wanted = limit - items.len();
        let mut statement = conn.prepare(&sql)?;
        let rows = statement.query_map(
            params![role, prefix, start, wanted as i64 + 1],
            user_from_row,
        )?;
        let mut found: Vec<User> = rows.collect::<Result<_, _>>()?;
        let more_here = found.len() > wanted;
        found.truncate(wanted);
        items.extend(found);
        if items.len() == limit {
            let more = more_here || phase < last_phase;
            let next = items
                .last()
                .filter(|_| more)
                .map(|user| Position::of_user(user, phase));
            return Ok(Page { items, next });
        }
    }
    Ok(Page { items, next: None })
}
