//! The audit log in the embedded store.

use async_trait::async_trait;
use rusqlite::{Row, params_from_iter};

use super::SqliteStore;
use super::metrics::apply_counts;
use crate::domain::{AuditAction, AuditEvent, AuditOutcome};
use crate::metrics::counts;
use crate::store::{AuditLog, AuditQuery, Page, Position, StoreError};

const COLUMNS: &str =
    "id, at, action, outcome, actor, target, source_ip, user_agent, request_id, detail";

fn corrupt(index: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        index,
        rusqlite::types::Type::Text,
        format!("unknown {what}").into(),
    )
}

fn event_from_row(row: &Row<'_>) -> rusqlite::Result<AuditEvent> {
    let action: String = row.get(2)?;
    let outcome: String = row.get(3)?;
    Ok(AuditEvent {
        id: row.get(0)?,
        at: row.get(1)?,
        action: AuditAction::parse(&action).ok_or_else(|| corrupt(2, "action"))?,
        outcome: AuditOutcome::parse(&outcome).ok_or_else(|| corrupt(3, "outcome"))?,
        actor: row.get(4)?,
        target: row.get(5)?,
        source_ip: row.get(6)?,
        user_agent: row.get(7)?,
        request_id: row.get(8)?,
        detail: row.get(9)?,
    })
}

#[async_trait]
impl AuditLog for SqliteStore {
    async fn record_event(&self, event: &AuditEvent, keep_until: i64) -> Result<(), StoreError> {
        let event = event.clone();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let conn = &tx;
            conn.execute("DELETE FROM audit_events WHERE expires_at < ?1", [event.at])?;
            conn.execute(
                &format!(
                    "INSERT INTO audit_events ({COLUMNS}, sort_key, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
                ),
                rusqlite::params![
                    event.id,
                    event.at,
                    event.action.as_str(),
                    event.outcome.as_str(),
                    event.actor,
                    event.target,
                    event.source_ip,
                    event.user_agent,
                    event.request_id,
                    event.detail,
                    event.sort_key(),
                    keep_until
                ],
            )?;
            apply_counts(conn, &counts::audited(&event))?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn list_events(
        &self,
        query: &AuditQuery,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<AuditEvent>, StoreError> {
        let mut conditions = vec!["1 = 1".to_owned()];
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        let mut filter = |condition: &str, value: rusqlite::types::Value| {
            conditions.push(condition.to_owned());
            values.push(value);
        };
        if let Some(actor) = &query.actor {
            filter("actor = ?", actor.clone().into());
        }
        if let Some(target) = &query.target {
            filter("target = ?", target.clone().into());
        }
        if let Some(action) = query.action {
            filter("action = ?", action.as_str().to_owned().into());
        }
        if let Some(since) = query.since {
            filter("at >= ?", since.into());
        }
        if let Some(after) = after {
            filter("sort_key < ?", after.sort.clone().into());
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_events WHERE {} ORDER BY sort_key DESC LIMIT {}",
            conditions.join(" AND "),
            limit + 1
        );
        let mut events = self
            .run(move |conn| {
                let mut statement = conn.prepare(&sql)?;
                let rows = statement.query_map(params_from_iter(values), event_from_row)?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await?;
        let next = if events.len() > limit {
            events.truncate(limit);
            events.last().map(|last| Position {
                phase: 0,
                sort: last.sort_key(),
                id: last.id.clone(),
            })
        } else {
            None
        };
        Ok(Page {
            items: events,
            next,
        })
    }
}
