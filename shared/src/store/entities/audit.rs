//! The audit log: `AUDIT#<id>` items, listed newest first from three index partitions: every
//! event on GSI1 (spread over the store's `audit_shards` partitions, `AUDIT_SHARDS`), by actor
//! on GSI2, by target on GSI3.

use async_trait::async_trait;

use super::TableStore;
use super::paging::{FILTERED_READ_CAP, FILTERED_ROUND, IndexPage, merge_pages, position_of};
use crate::domain::{AuditAction, AuditEvent, AuditOutcome};
use crate::store::keys;
use crate::store::table::schema::{GSI1, GSI2, GSI3, IndexDef, TTL_ATTRIBUTE};
use crate::store::table::{
    Condition, Item, Put, Query, SortRange, TableError, Value, get_n, get_s, item, ttl_from_ms,
};
use crate::store::{AuditLog, AuditQuery, Page, Position, StoreError};

// Partitions every event is spread over: `TableStore::audit_shards` (`AUDIT_SHARDS`, default
// 8). Each takes ~1,000 writes a second, so 8 take ~8,000; a page of the unfiltered listing
// reads up to `limit` events from each. Raising it later is safe (an event's shard is a hash of
// its id modulo the count, and reads cover every shard below the count); lowering it hides the
// dropped shards' events until they expire.
fn shard_of(id: &str, shards: u32) -> u32 {
    keys::shard_of(id, shards)
}

fn event_item(event: &AuditEvent, keep_until: i64, shards: u32) -> Item {
    let sort = keys::audit_sort(event);
    let mut item = item(
        &keys::audit_event(&event.id),
        [
            ("type", "audit".into()),
            ("id", (&event.id).into()),
            ("createdAt", event.at.into()),
            ("action", event.action.as_str().into()),
            ("outcome", event.outcome.as_str().into()),
            (TTL_ATTRIBUTE, ttl_from_ms(keep_until)),
            (
                GSI1.partition_key,
                keys::audit_shard(shard_of(&event.id, shards)).into(),
            ),
            (GSI1.sort_key, (&sort).into()),
        ],
    );
    let optional = [
        ("actor", &event.actor),
        ("target", &event.target),
        ("sourceIp", &event.source_ip),
        ("userAgent", &event.user_agent),
        ("requestId", &event.request_id),
        ("detail", &event.detail),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            item.insert(name.to_owned(), value.into());
        }
    }
    if let Some(actor) = &event.actor {
        item.insert(
            GSI2.partition_key.to_owned(),
            keys::audit_by_actor(actor).into(),
        );
        item.insert(GSI2.sort_key.to_owned(), (&sort).into());
    }
    if let Some(target) = &event.target {
        item.insert(
            GSI3.partition_key.to_owned(),
            keys::audit_about_target(target).into(),
        );
        item.insert(GSI3.sort_key.to_owned(), (&sort).into());
    }
    item
}

pub(super) fn event_from_item(item: &Item) -> Result<AuditEvent, StoreError> {
    let action = get_s(item, "action")?;
    let outcome = get_s(item, "outcome")?;
    Ok(AuditEvent {
        id: get_s(item, "id")?,
        at: get_n(item, "createdAt")?,
        action: AuditAction::parse(&action)
            .ok_or_else(|| StoreError::backend(format!("stored audit action `{action}`")))?,
        outcome: AuditOutcome::parse(&outcome)
            .ok_or_else(|| StoreError::backend(format!("stored audit outcome `{outcome}`")))?,
        actor: get_s(item, "actor").ok(),
        target: get_s(item, "target").ok(),
        source_ip: get_s(item, "sourceIp").ok(),
        user_agent: get_s(item, "userAgent").ok(),
        request_id: get_s(item, "requestId").ok(),
        detail: get_s(item, "detail").ok(),
    })
}

/// One index partition read newest first between `since` and `before`.
struct PartitionScan<'a> {
    index: &'static IndexDef,
    partition: String,
    query: &'a AuditQuery,
    /// Filter the target too (when the partition is an actor's).
    filter_target: bool,
    before: Option<&'a str>,
}

impl PartitionScan<'_> {
    /// The first request of the scan (later ones resume after the last key read).
    fn request(&self, limit: usize) -> Query {
        let lower = self.query.since.map(keys::audit_sort_from);
        let sort = match (lower, self.before) {
            (None, None) => SortRange::All,
            (Some(lower), None) => SortRange::Ge(lower),
            (None, Some(before)) => SortRange::Lt(before.to_owned()),
            // Both ends included: `before` itself is dropped from what the scan returns.
            (Some(lower), Some(before)) => SortRange::Between(lower, before.to_owned()),
        };
        let action = self
            .query
            .action
            .map(|action| Condition::eq("action", action.as_str()));
        let target = match (self.filter_target, &self.query.target) {
            (true, Some(target)) => Some(Condition::eq("target", target)),
            _ => None,
        };
        let filter = Condition::all(action.into_iter().chain(target));
        let round = match filter {
            None => limit + 1,
            Some(_) => FILTERED_ROUND as usize,
        };
        Query::on(self.index.index, &self.partition)
            .sort(sort)
            .filter(filter)
            .backward()
            .limit(round.min(1000) as u32)
    }
}

impl TableStore {
    /// The event's item, on this store's shards.
    fn event_item(&self, event: &AuditEvent, keep_until: i64) -> Item {
        event_item(event, keep_until, self.audit_shards)
    }

    /// Up to `limit` matching events of the partition, newest first, and where it stopped if
    /// it may hold more (a filtered scan stops after `FILTERED_READ_CAP` items read).
    async fn scan_partition(
        &self,
        scan: &PartitionScan<'_>,
        limit: usize,
    ) -> Result<IndexPage, StoreError> {
        let request = scan.request(limit);
        let before = scan.before.map(Value::from);
        let mut items: Vec<Item> = Vec::new();
        let mut read = 0;
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .table
                .query(&request.clone().start(start.take()))
                .await?;
            read += page.scanned;
            items.extend(page.items.into_iter().filter(|item| {
                let sort = item.get(scan.index.sort_key);
                before.as_ref().is_none_or(|b| sort != Some(b))
            }));
            if items.len() > limit {
                items.truncate(limit);
                let last = items.last().expect("limit >= 1");
                let resume = position_of(last, scan.index.sort_key)?;
                return Ok(IndexPage {
                    items,
                    resume: Some(resume),
                });
            }
            let Some(last) = page.last_key else {
                return Ok(IndexPage {
                    items,
                    resume: None,
                });
            };
            if read >= FILTERED_READ_CAP {
                let resume = position_of(&last, scan.index.sort_key)?;
                return Ok(IndexPage {
                    items,
                    resume: Some(resume),
                });
            }
            start = Some(last);
        }
    }
}

#[async_trait]
impl AuditLog for TableStore {
    /// Written only if absent, so a retried write leaves one event (and the stream one change,
    /// which the dashboard counts failed logins and lockouts from).
    async fn record_event(&self, event: &AuditEvent, keep_until: i64) -> Result<(), StoreError> {
        let put = Put::if_absent(self.event_item(event, keep_until));
        match self.table.put(put).await {
            // Already stored by an earlier attempt whose answer was lost.
            Ok(()) | Err(TableError::ConditionFailed(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn list_events(
        &self,
        query: &AuditQuery,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<AuditEvent>, StoreError> {
        let before = after.map(|p| p.sort.as_str());
        let scan = |index, partition, filter_target| PartitionScan {
            index,
            partition,
            query,
            filter_target,
            before,
        };
        let scans = match (&query.actor, &query.target) {
            (Some(actor), _) => vec![scan(GSI2, keys::audit_by_actor(actor), true)],
            (None, Some(target)) => vec![scan(GSI3, keys::audit_about_target(target), false)],
            (None, None) => (0..self.audit_shards)
                .map(|shard| scan(GSI1, keys::audit_shard(shard), false))
                .collect(),
        };
        let pages = futures_util::future::try_join_all(
            scans.iter().map(|scan| self.scan_partition(scan, limit)),
        )
        .await?;
        let sort_key = scans[0].index.sort_key;
        let page = merge_pages(pages, sort_key, false, limit)?;
        Ok(Page {
            items: page
                .items
                .iter()
                .map(event_from_item)
                .collect::<Result<_, _>>()?,
            next: page
                .resume
                .map(|(sort, id)| Position { phase: 0, sort, id }),
        })
    }
}
