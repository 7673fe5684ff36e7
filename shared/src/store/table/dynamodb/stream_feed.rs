//! A table's DynamoDB stream read the way an event source mapping reads it, for local runs
//! against DynamoDB Local: every shard from its start, in order, resuming after the last
//! acknowledged record. On AWS, Lambda does this and hands the consumers their batches.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use tokio::sync::Mutex;

use super::convert::item_of;
use crate::store::table::{Change, ChangeFeed, Item, TableError, Value};

pub struct StreamFeed {
    client: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Per shard, the last acknowledged sequence number.
    acknowledged: HashMap<String, String>,
    /// The shard of each change handed out and not yet acknowledged, by sequence number.
    handed_out: HashMap<String, String>,
}

impl StreamFeed {
    /// The stream of `table` (which must have one).
    pub async fn of_table(sdk: &aws_types::SdkConfig, table: &str) -> Result<Self, TableError> {
        let tables = aws_sdk_dynamodb::Client::new(sdk);
        let described = tables
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(TableError::backend)?;
        let stream_arn = described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .ok_or_else(|| TableError::backend(format!("table {table} has no stream")))?
            .to_owned();
        // DynamoDB Local serves its streams on its own endpoint, which the SDK would otherwise
        // take from `AWS_ENDPOINT_URL` (the emulator of the other services).
        let mut config = aws_sdk_dynamodbstreams::config::Builder::from(sdk);
        if let Some(url) = [
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
            "AWS_ENDPOINT_URL_DYNAMODB",
        ]
        .iter()
        .find_map(|name| std::env::var(name).ok())
        {
            config = config.endpoint_url(url);
        }
        Ok(Self {
            client: aws_sdk_dynamodbstreams::Client::from_conf(config.build()),
            stream_arn,
            state: Mutex::new(State::default()),
        })
    }

    async fn shards(&self) -> Result<Vec<String>, TableError> {
        let mut shards = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(start.take())
                .send()
                .await
                .map_err(TableError::backend)?;
            let Some(description) = page.stream_description else {
                return Ok(shards);
            };
            shards.extend(
                description
                    .shards
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|shard| shard.shard_id),
            );
            match description.last_evaluated_shard_id {
                Some(last) => start = Some(last),
                None => return Ok(shards),
            }
        }
    }

    async fn read_shard(
        &self,
        shard: &str,
        after: Option<&String>,
        max: usize,
    ) -> Result<Vec<Change>, TableError> {
        let request = self
            .client
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard);
        let request = match after {
            Some(sequence) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(sequence),
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let iterator = request.send().await.map_err(TableError::backend)?;
        let Some(iterator) = iterator.shard_iterator else {
            return Ok(Vec::new());
        };
        let page = self
            .client
            .get_records()
            .shard_iterator(iterator)
            .limit(max.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(TableError::backend)?;
        page.records
            .unwrap_or_default()
            .into_iter()
            .map(|record| {
                let stream = record
                    .dynamodb
                    .ok_or_else(|| TableError::backend("a stream record without its change"))?;
                Ok(Change {
                    id: record.event_id.unwrap_or_default(),
                    sequence: stream.sequence_number.unwrap_or_default(),
                    old: stream.old_image.map(image).transpose()?,
                    new: stream.new_image.map(image).transpose()?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl ChangeFeed for StreamFeed {
    async fn pending(&self, max: usize) -> Result<Vec<Change>, TableError> {
        let mut state = self.state.lock().await;
        for shard in self.shards().await? {
            let changes = self
                .read_shard(&shard, state.acknowledged.get(&shard), max)
                .await?;
            if !changes.is_empty() {
                for change in &changes {
                    state
                        .handed_out
                        .insert(change.sequence.clone(), shard.clone());
                }
                return Ok(changes);
            }
        }
        Ok(Vec::new())
    }

    async fn acknowledge(&self, through: &Change) -> Result<(), TableError> {
        let mut state = self.state.lock().await;
        let shard = state
            .handed_out
            .get(&through.sequence)
            .cloned()
            .ok_or_else(|| TableError::backend("not a change this feed handed out"))?;
        state.handed_out.retain(|_, s| *s != shard);
        state.acknowledged.insert(shard, through.sequence.clone());
        Ok(())
    }
}

fn image(attributes: HashMap<String, AttributeValue>) -> Result<Item, TableError> {
    item_of(attributes, attribute)
}

fn attribute(name: &str, value: AttributeValue) -> Result<Value, TableError> {
    Ok(match value {
        AttributeValue::S(s) => Value::S(s),
        AttributeValue::N(n) => Value::N(
            n.parse()
                .map_err(|_| TableError::backend(format!("`{name}` holds {n}")))?,
        ),
        AttributeValue::Bool(b) => Value::Bool(b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(values) => Value::L(
            values
                .into_iter()
                .map(|v| attribute(name, v))
                .collect::<Result<_, _>>()?,
        ),
        other => {
            return Err(TableError::backend(format!(
                "`{name}` holds an unsupported type: {other:?}"
            )));
        }
    })
}
