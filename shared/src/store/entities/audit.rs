//! The audit log: `AUDIT#<id>` items, listed newest first from three index partitions: every
//! event on GSI1 (spread over the store's `audit_shards` partitions, `AUDIT_SHARDS`), by actor
//! on GSI2, by target on GSI3.

use async_trait::async_trait;

use super::TableStore;
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
/// Items one partition's filtered scan may read per page before it returns what it has.
const FILTERED_READ_CAP: u32 = 1000;
/// Items one round of a filtered scan reads.
const FILTERED_ROUND: usize = 250;

fn shard_of(id: &str, shards: u32) -> u32 {
    id.bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % shards.max(1)
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

/// What a partition gave: its matching events, and `floor`, the sort key down to which it was
/// read (`None`: read to the end).
struct Scanned {
    items: Vec<Item>,
    floor: Option<String>,
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
            Some(_) => FILTERED_ROUND,
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

    async fn scan_partition(
        &self,
        scan: &PartitionScan<'_>,
        limit: usize,
    ) -> Result<Scanned, StoreError> {
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
            if items.len() >= limit {
                items.truncate(limit);
                let floor = get_s(items.last().expect("limit >= 1"), scan.index.sort_key)?;
                return Ok(Scanned {
                    items,
                    floor: Some(floor),
                });
            }
            let Some(last) = page.last_key else {
                return Ok(Scanned { items, floor: None });
            };
            if read >= FILTERED_READ_CAP {
                let floor = get_s(&last, scan.index.sort_key)?;
                return Ok(Scanned {
                    items,
                    floor: Some(floor),
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
        let scanned = futures_util::future::try_join_all(
            scans.iter().map(|scan| self.scan_partition(scan, limit)),
        )
        .await?;

        // Events at or above the highest floor are complete across every partition.
        let boundary = scanned.iter().filter_map(|s| s.floor.clone()).max();
        let mut events = Vec::new();
        for item in scanned.iter().flat_map(|s| &s.items) {
            let event = event_from_item(item)?;
            let sort = keys::audit_sort(&event);
            if boundary.as_ref().is_none_or(|b| &sort >= b) {
                events.push((sort, event));
            }
        }
        events.sort_by(|a, b| b.0.cmp(&a.0));
        let last = |events: &[(String, AuditEvent)]| events.last().map(|(sort, _)| sort.clone());
        let next = if events.len() > limit {
            events.truncate(limit);
            last(&events)
        } else if events.len() == limit && boundary.is_some() {
            last(&events)
        } else {
            // Short: either everything was read, or a partition stopped at the boundary.
            boundary
        };
        Ok(Page {
            items: events.into_iter().map(|(_, event)| event).collect(),
            next: next.map(|sort| Position {
                phase: 0,
                id: sort
                    .split_once('#')
                    .map(|(_, id)| id.to_owned())
                    .unwrap_or_default(),
                sort,
            }),
        })
    }
}
