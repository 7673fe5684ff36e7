//! Leads in the embedded store.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};

use super::SqliteStore;
use super::accounts::write_effects;
use super::users::check_role_held;
use crate::domain::{Lead, LeadStatus};
use crate::store::{Effects, LeadStore, Page, Position, RoleHeld, StoreError};

const LEAD_COLUMNS: &str =
    "id, phone, source, name, message, status, created_at, updated_at, version";

fn lead_from_row(row: &Row<'_>) -> rusqlite::Result<Lead> {
    let status: String = row.get(5)?;
    Ok(Lead {
        id: row.get(0)?,
        phone: row.get(1)?,
        source: row.get(2)?,
        name: row.get(3)?,
        message: row.get(4)?,
        status: LeadStatus::parse(&status).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(
                5,
                rusqlite::types::Type::Text,
                e.message.into(),
            )
        })?,
        created_at: row.get(6)?,
        updated_at: row.get(7)?,
        version: row.get::<_, i64>(8)? as u64,
    })
}

#[async_trait]
impl LeadStore for SqliteStore {
    async fn create_lead(&self, lead: &Lead, effects: &Effects) -> Result<(), StoreError> {
        let (lead, effects) = (lead.clone(), effects.clone());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                &format!(
                    "INSERT INTO leads ({LEAD_COLUMNS}, list_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                ),
                params![
                    lead.id,
                    lead.phone,
                    lead.source,
                    lead.name,
                    lead.message,
                    lead.status.as_str(),
                    lead.created_at,
                    lead.updated_at,
                    lead.version as i64,
                    lead.list_key()
                ],
            )?;
            write_effects(&tx, &effects)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn get_lead(&self, id: &str) -> Result<Option<Lead>, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT {LEAD_COLUMNS} FROM leads WHERE id = ?1"),
                    [&id],
                    lead_from_row,
                )
                .optional()?)
        })
        .await
    }

    async fn update_lead(
        &self,
        previous: &Lead,
        next: &Lead,
        held: &RoleHeld,
    ) -> Result<(), StoreError> {
        let (expected, next, held) = (previous.version as i64, next.clone(), held.clone());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            check_role_held(&tx, Some(&held))?;
            let changed = tx.execute(
                "UPDATE leads SET status = ?1, updated_at = ?2, version = ?3
                 WHERE id = ?4 AND version = ?5",
                params![
                    next.status.as_str(),
                    next.updated_at,
                    next.version as i64,
                    next.id,
                    expected
                ],
            )?;
            if changed == 0 {
                return Err(StoreError::Conflict);
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn list_leads(
        &self,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<Lead>, StoreError> {
        let after = after.map(|p| p.sort.clone());
        self.run(move |conn| {
            let mut statement = conn.prepare(&format!(
                "SELECT {LEAD_COLUMNS} FROM leads WHERE (?1 IS NULL OR list_key < ?1)
                 ORDER BY list_key DESC LIMIT ?2"
            ))?;
            let rows = statement.query_map(params![after, limit as i64 + 1], lead_from_row)?;
            let mut leads: Vec<Lead> = rows.collect::<Result<_, _>>()?;
            let more = leads.len() > limit;
            leads.truncate(limit);
            let next = leads.last().filter(|_| more).map(|lead| Position {
                phase: 0,
                sort: lead.list_key(),
                id: lead.id.clone(),
            });
            Ok(Page { items: leads, next })
        })
        .await
    }
}
