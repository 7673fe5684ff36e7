use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::SqliteStore;
use crate::domain::{DisplayName, Email, Role, User};
use crate::store::{Page, Position, StoreError, UserQuery, UserStore};

const USER_COLUMNS: &str = "id, email, name, role, password_hash, created_at, updated_at, version, sessions_valid_after, deleted_at";

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
        sessions_valid_after: row.get(8)?,
        deleted_at: row.get(9)?,
    })
}

fn insert_user(conn: &Connection, user: &User) -> rusqlite::Result<usize> {
    conn.execute(
        &format!("INSERT INTO users ({USER_COLUMNS}, name_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
        params![
            user.id,
            user.email.as_str(),
            user.name.as_str(),
            user.role.as_str(),
            user.password_hash,
            user.created_at,
            user.updated_at,
            user.version as i64,
            user.sessions_valid_after,
            user.deleted_at,
            user.name_key()
        ],
    )
}

fn select_user(conn: &Connection, clause: &str, arg: &str) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE {clause}");
    Ok(conn.query_row(&sql, [arg], user_from_row).optional()?)
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let user = user.clone();
        self.run(move |conn| match insert_user(conn, &user) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(StoreError::EmailTaken)
            }
            other => Ok(other.map(|_| ())?),
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

    async fn set_role(&self, id: &str, role: Role, now: i64) -> Result<User, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            let changed = conn.execute(
                "UPDATE users SET role = ?1, updated_at = ?2, version = version + 1
                 WHERE id = ?3 AND deleted_at IS NULL",
                params![role.as_str(), now, id],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            select_user(conn, "id = ?1", &id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn invalidate_sessions(&self, id: &str, at: i64) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            let changed = conn.execute(
                "UPDATE users SET sessions_valid_after = MAX(sessions_valid_after, ?1) WHERE id = ?2",
                params![at, id],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
        .await
    }

    async fn update_user(&self, previous: &User, next: &User) -> Result<(), StoreError> {
        let (expected, next) = (previous.version as i64, next.clone());
        self.run(move |conn| {
            let changed = conn.execute(
                "UPDATE users SET email = ?1, name = ?2, role = ?3, password_hash = ?4,
                 updated_at = ?5, version = ?6, sessions_valid_after = ?7, name_key = ?8
                 WHERE id = ?9 AND version = ?10 AND deleted_at IS NULL",
                params![
                    next.email.as_str(),
                    next.name.as_str(),
                    next.role.as_str(),
                    next.password_hash,
                    next.updated_at,
                    next.version as i64,
                    next.sessions_valid_after,
                    next.name_key(),
                    next.id,
                    expected
                ],
            );
            match changed {
                Ok(0) => Err(StoreError::Conflict),
                Ok(_) => Ok(()),
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    Err(StoreError::EmailTaken)
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    async fn delete_user(&self, user: &User, at: i64) -> Result<User, StoreError> {
        let id = user.id.clone();
        let version = user.version as i64;
        self.run(move |conn| {
            let changed = conn.execute(
                "UPDATE users SET deleted_at = ?1, sessions_valid_after = ?1, updated_at = ?1,
                 version = version + 1 WHERE id = ?2 AND version = ?3 AND deleted_at IS NULL",
                params![at, id, version],
            )?;
            if changed == 0 {
                return Err(StoreError::Conflict);
            }
            select_user(conn, "id = ?1", &id)?.ok_or(StoreError::NotFound)
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
