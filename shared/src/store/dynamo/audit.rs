//! The audit log: `AUDIT#<id>` items, listed newest first from three index partitions: every
//! event on GSI1 (spread over `AUDIT_SHARDS` partitions), by actor on GSI2, by target on GSI3.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::DynamoStore;
use super::item::{Item, get_n, get_s, key, n, s, ttl_from_ms};
use super::metrics::counter_updates;
use super::retry::WriteError;
use super::schema::{GSI1, GSI2, GSI3, IndexDef, TTL_ATTRIBUTE};
use crate::domain::{AuditAction, AuditEvent, AuditOutcome, audit_sort_key};
use crate::metrics::counts;
use crate::store::{AuditLog, AuditQuery, Page, Position, StoreError};

/// Partitions every event is spread over. Each takes ~1,000 writes a second, so 8 take ~8,000;
/// a page of the unfiltered listing reads up to `limit` events from each. Raising it later is
/// safe; lowering it hides the dropped shards' events until they expire.
pub const AUDIT_SHARDS: u32 = 8;
/// Items one partition's filtered scan may read per page before it returns what it has.
const FILTERED_READ_CAP: i32 = 1000;

fn event_key(id: &str) -> Item {
    key(format!("AUDIT#{id}"), "AUDIT")
}

fn shard_of(id: &str) -> u32 {
    id.bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % AUDIT_SHARDS
}

fn event_item(event: &AuditEvent, keep_until: i64) -> Item {
    let sort = event.sort_key();
    let mut item = event_key(&event.id);
    item.extend([
        ("type".to_owned(), s("audit")),
        ("id".to_owned(), s(&event.id)),
        ("createdAt".to_owned(), n(event.at)),
        ("action".to_owned(), s(event.action.as_str())),
        ("outcome".to_owned(), s(event.outcome.as_str())),
        (TTL_ATTRIBUTE.to_owned(), ttl_from_ms(keep_until)),
        (
            GSI1.partition_key.to_owned(),
            s(format!("AUDIT#{}", shard_of(&event.id))),
        ),
        (GSI1.sort_key.to_owned(), s(&sort)),
    ]);
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
            item.insert(name.to_owned(), s(value));
        }
    }
    if let Some(actor) = &event.actor {
        item.insert(
            GSI2.partition_key.to_owned(),
            s(format!("AUDIT#ACTOR#{actor}")),
        );
        item.insert(GSI2.sort_key.to_owned(), s(&sort));
    }
    if let Some(target) = &event.target {
        item.insert(
            GSI3.partition_key.to_owned(),
            s(format!("AUDIT#TARGET#{target}")),
        );
        item.insert(GSI3.sort_key.to_owned(), s(&sort));
    }
    item
}

fn event_from_item(item: &Item) -> Result<AuditEvent, StoreError> {
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

impl DynamoStore {
    async fn scan_partition(
        &self,
        scan: &PartitionScan<'_>,
        limit: usize,
    ) -> Result<Scanned, StoreError> {
        let lower = scan.query.since.map(|since| audit_sort_key(since, ""));
        let mut filters = Vec::new();
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(scan.index.name)
            .scan_index_forward(false)
            .expression_attribute_names("#pk", scan.index.partition_key)
            .expression_attribute_values(":pk", s(&scan.partition));
        let key_condition = match (&lower, scan.before) {
            (None, None) => "#pk = :pk",
            (Some(_), None) => "#pk = :pk AND #sk >= :lower",
            (None, Some(_)) => "#pk = :pk AND #sk < :upper",
            // BETWEEN includes `before` itself; it is dropped below.
            (Some(_), Some(_)) => "#pk = :pk AND #sk BETWEEN :lower AND :upper",
        };
        request = request.key_condition_expression(key_condition);
        if lower.is_some() || scan.before.is_some() {
            request = request.expression_attribute_names("#sk", scan.index.sort_key);
        }
        if let Some(lower) = &lower {
            request = request.expression_attribute_values(":lower", s(lower));
        }
        if let Some(before) = scan.before {
            request = request.expression_attribute_values(":upper", s(before));
        }
        if let Some(action) = scan.query.action {
            filters.push("#action = :action");
            request = request
                .expression_attribute_names("#action", "action")
                .expression_attribute_values(":action", s(action.as_str()));
        }
        if let (true, Some(target)) = (scan.filter_target, &scan.query.target) {
            filters.push("#target = :target");
            request = request
                .expression_attribute_names("#target", "target")
                .expression_attribute_values(":target", s(target));
        }
        if !filters.is_empty() {
            request = request.filter_expression(filters.join(" AND "));
        }
        let round = if filters.is_empty() { limit + 1 } else { 250 };
        let request = request.limit(round.min(1000) as i32);

        let mut items: Vec<Item> = Vec::new();
        let mut read = 0;
        let mut start: Option<Item> = None;
        loop {
            let output = request
                .clone()
                .set_exclusive_start_key(start.take())
                .send()
                .await?;
            read += output.scanned_count;
            items.extend(
                output
                    .items()
                    .iter()
                    .filter(|item| {
                        let sort = item.get(scan.index.sort_key);
                        scan.before
                            .is_none_or(|b| sort != Some(&AttributeValue::S(b.to_owned())))
                    })
                    .cloned(),
            );
            if items.len() >= limit {
                items.truncate(limit);
                let floor = get_s(items.last().expect("limit >= 1"), scan.index.sort_key)?;
                return Ok(Scanned {
                    items,
                    floor: Some(floor),
                });
            }
            let Some(last) = output.last_evaluated_key.filter(|key| !key.is_empty()) else {
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
impl AuditLog for DynamoStore {
    /// Failed logins and lockouts are counted for the dashboard in the same transaction, so a
    /// retried write never counts twice (the event's put is conditioned on its id).
    async fn record_event(&self, event: &AuditEvent, keep_until: i64) -> Result<(), StoreError> {
        let deltas = counts::audited(event);
        if deltas.is_empty() {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(event_item(event, keep_until)))
                .send()
                .await?;
            return Ok(());
        }
        let mut items = vec![super::put_if_absent(
            &self.table,
            event_item(event, keep_until),
        )?];
        items.extend(counter_updates(&self.table, self.counter_shards, &deltas)?);
        match self.transact(items).await {
            // Already stored by an earlier attempt whose answer was lost.
            Ok(()) | Err(WriteError::Condition(_)) => Ok(()),
            Err(WriteError::Store(e)) => Err(e),
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
            (Some(actor), _) => vec![scan(GSI2, format!("AUDIT#ACTOR#{actor}"), true)],
            (None, Some(target)) => vec![scan(GSI3, format!("AUDIT#TARGET#{target}"), false)],
            (None, None) => (0..AUDIT_SHARDS)
                .map(|shard| scan(GSI1, format!("AUDIT#{shard}"), false))
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
            let sort = event.sort_key();
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
