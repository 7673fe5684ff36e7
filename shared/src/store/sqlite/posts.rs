use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::SqliteStore;
use super::metrics::apply_counts;
use super::users::check_role_held;
use crate::domain::{Post, PostContent, PostStatus, PostSummary, PostTitle, Tag};
use crate::metrics::counts;
use crate::store::{Page, Position, PostQuery, PostStore, RoleHeld, StoreError};

/// A post's columns; `author_deleted` is also true once the author is deleted, before the
/// clean-up job has hidden the post.
const POST_COLUMNS: &str = "p.id, p.author_id, p.title, p.content, p.status, p.tags, p.published_at, p.created_at, p.updated_at, p.version, \
     (p.author_deleted OR EXISTS (SELECT 1 FROM users u WHERE u.id = p.author_id AND u.deleted_at IS NOT NULL))";

/// The post's author is deleted (whether or not the clean-up job has hidden the post yet).
const AUTHOR_DELETED: &str =
    "EXISTS (SELECT 1 FROM users u WHERE u.id = p.author_id AND u.deleted_at IS NOT NULL)";

fn post_from_row(row: &Row<'_>) -> rusqlite::Result<Post> {
    let invalid = |i: usize, message: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, message.into())
    };
    let tags: Vec<String> =
        serde_json::from_str(&row.get::<_, String>(5)?).map_err(|e| invalid(5, e.to_string()))?;
    Ok(Post {
        id: row.get(0)?,
        author_id: row.get(1)?,
        title: PostTitle::parse(row.get::<_, String>(2)?).map_err(|e| invalid(2, e.message))?,
        content: PostContent::parse(row.get(3)?).map_err(|e| invalid(3, e.message))?,
        status: PostStatus::parse(row.get::<_, String>(4)?).map_err(|e| invalid(4, e.message))?,
        tags: Tag::parse_list(tags).map_err(|e| invalid(5, e.message))?,
        published_at: row.get(6)?,
        created_at: row.get(7)?,
        updated_at: row.get(8)?,
        version: row.get::<_, i64>(9)? as u64,
        author_deleted: row.get(10)?,
    })
}

fn write_post(conn: &Connection, post: &Post) -> Result<(), StoreError> {
    let tags: Vec<&str> = post.tags.iter().map(Tag::as_str).collect();
    conn.execute(
        "INSERT OR REPLACE INTO posts (id, author_id, title, content, status, tags, published_at,
         created_at, updated_at, version, author_deleted, feed_key, author_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            post.id,
            post.author_id,
            post.title.as_str(),
            post.content.as_str(),
            post.status.as_str(),
            serde_json::to_string(&tags).map_err(StoreError::backend)?,
            post.published_at,
            post.created_at,
            post.updated_at,
            post.version as i64,
            post.author_deleted,
            post.feed_key(),
            post.author_key()
        ],
    )?;
    conn.execute("DELETE FROM post_tags WHERE post_id = ?1", [&post.id])?;
    for tag in &post.tags {
        conn.execute(
            "INSERT INTO post_tags (tag, post_id) VALUES (?1, ?2)",
            params![tag.as_str(), post.id],
        )?;
    }
    Ok(())
}

fn list_posts(
    conn: &Connection,
    query: &PostQuery,
    after: Option<Position>,
    limit: usize,
) -> Result<Page<PostSummary>, StoreError> {
    let (join, sort_column) = match (&query.tag, &query.author) {
        (Some(_), _) => (
            "JOIN post_tags t ON t.post_id = p.id AND t.tag = ?1",
            "p.feed_key",
        ),
        (None, Some(_)) => ("", "p.author_key"),
        (None, None) => ("", "p.feed_key"),
    };
    let sql = format!(
        "SELECT {POST_COLUMNS}, {sort_column} FROM posts p {join}
         WHERE p.author_deleted = 0 AND NOT {AUTHOR_DELETED} AND (?2 IS NULL OR p.author_id = ?2)
           AND (?3 IS NULL OR p.status = ?3) AND (?4 IS NULL OR {sort_column} < ?4)
         ORDER BY {sort_column} DESC LIMIT ?5"
    );
    let mut statement = conn.prepare(&sql)?;
    let rows = statement.query_map(
        params![
            query.tag.as_ref().map(Tag::as_str),
            query.author,
            query.status.map(PostStatus::as_str),
            after.map(|p| p.sort),
            limit as i64 + 1
        ],
        |row| Ok((post_from_row(row)?, row.get::<_, String>(11)?)),
    )?;
    let mut found: Vec<(Post, String)> = rows.collect::<Result<_, _>>()?;
    let more = found.len() > limit;
    found.truncate(limit);
    let next = found.last().filter(|_| more).map(|(post, sort)| Position {
        phase: 0,
        sort: sort.clone(),
        id: post.id.clone(),
    });
    Ok(Page {
        items: found.iter().map(|(post, _)| post.summary()).collect(),
        next,
    })
}

#[async_trait]
impl PostStore for SqliteStore {
    async fn create_post(&self, post: &Post) -> Result<(), StoreError> {
        let post = post.clone();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let exists: Option<String> = tx
                .query_row("SELECT id FROM posts WHERE id = ?1", [&post.id], |r| {
                    r.get(0)
                })
                .optional()?;
            if exists.is_some() {
                return Err(StoreError::Conflict);
            }
            // Same transaction as the insert: no post appears after its author's deletion.
            let author_active: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM users WHERE id = ?1 AND deleted_at IS NULL",
                    [&post.author_id],
                    |r| r.get(0),
                )
                .optional()?;
            if author_active.is_none() {
                return Err(StoreError::NotFound);
            }
            write_post(&tx, &post)?;
            apply_counts(&tx, &counts::post_created(&post))?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn get_post(&self, id: &str) -> Result<Option<Post>, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            let sql = format!("SELECT {POST_COLUMNS} FROM posts p WHERE p.id = ?1");
            Ok(conn.query_row(&sql, [&id], post_from_row).optional()?)
        })
        .await
    }

    async fn get_posts(&self, ids: &[String]) -> Result<Vec<Post>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = ids.to_vec();
        self.run(move |conn| {
            let placeholders = vec!["?"; ids.len()].join(", ");
            let sql = format!(
                "SELECT {POST_COLUMNS} FROM posts p
                 WHERE p.author_deleted = 0 AND NOT {AUTHOR_DELETED} AND p.id IN ({placeholders})"
            );
            let mut statement = conn.prepare(&sql)?;
            let rows = statement.query_map(rusqlite::params_from_iter(&ids), post_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn update_post(
        &self,
        previous: &Post,
        next: &Post,
        held: Option<&RoleHeld>,
    ) -> Result<(), StoreError> {
        let (expected, next, held) = (previous.version as i64, next.clone(), held.cloned());
        // The write is conditioned on `previous.version`: `previous` is what it replaces.
        let deltas = counts::post_changed(previous, &next);
        self.run(move |conn| {
            let tx = conn.transaction()?;
            check_role_held(&tx, held.as_ref())?;
            let current: Option<i64> = tx
                .query_row(
                    "SELECT version FROM posts WHERE id = ?1 AND author_deleted = 0",
                    [&next.id],
                    |r| r.get(0),
                )
                .optional()?;
            if current != Some(expected) {
                return Err(StoreError::Conflict);
            }
            write_post(&tx, &next)?;
            apply_counts(&tx, &deltas)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn delete_post(&self, post: &Post, held: Option<&RoleHeld>) -> Result<(), StoreError> {
        let (id, expected, held) = (post.id.clone(), post.version as i64, held.cloned());
        let deltas = counts::post_deleted(post);
        self.run(move |conn| {
            let tx = conn.transaction()?;
            check_role_held(&tx, held.as_ref())?;
            let deleted = tx.execute(
                "DELETE FROM posts WHERE id = ?1 AND version = ?2",
                params![id, expected],
            )?;
            if deleted == 0 {
                return Err(StoreError::Conflict);
            }
            tx.execute("DELETE FROM post_tags WHERE post_id = ?1", [&id])?;
            apply_counts(&tx, &deltas)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn list_posts(
        &self,
        query: &PostQuery,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<PostSummary>, StoreError> {
        let (query, after) = (query.clone(), after.cloned());
        self.run(move |conn| list_posts(conn, &query, after, limit))
            .await
    }

    async fn hide_author_posts_page(
        &self,
        author_id: &str,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Option<Position>, StoreError> {
        let (author_id, after) = (author_id.to_owned(), after.map(|p| p.sort.clone()));
        let limit = limit.max(1);
        self.run(move |conn| {
            let tx = conn.transaction()?;
            // The author index's next page of posts not hidden yet, as the DynamoDB store
            // pages `AUTHOR#<id>`.
            let mut page: Vec<(Post, String)> = {
                let sql = format!(
                    "SELECT {POST_COLUMNS}, p.author_key FROM posts p
                     WHERE p.author_id = ?1 AND p.author_deleted = 0
                       AND (?2 IS NULL OR p.author_key < ?2)
                     ORDER BY p.author_key DESC LIMIT ?3"
                );
                let mut statement = tx.prepare(&sql)?;
                let rows = statement
                    .query_map(params![author_id, after, limit as i64 + 1], |row| {
                        Ok((post_from_row(row)?, row.get::<_, String>(11)?))
                    })?;
                rows.collect::<Result<_, _>>()?
            };
            let more = page.len() > limit;
            page.truncate(limit);
            for (post, _) in &page {
                // Conditioned on the post not being hidden yet: a concurrent run hides and
                // uncounts it once.
                let hidden = tx.execute(
                    "UPDATE posts SET author_deleted = 1, version = version + 1
                     WHERE id = ?1 AND author_deleted = 0",
                    [&post.id],
                )?;
                if hidden == 1 {
                    // A hidden post leaves the dashboard's totals, in the same transaction.
                    apply_counts(&tx, &counts::post_deleted(post))?;
                }
            }
            tx.commit()?;
            Ok(page.last().filter(|_| more).map(|(post, sort)| Position {
                phase: 0,
                sort: sort.clone(),
                id: post.id.clone(),
            }))
        })
        .await
    }
}
