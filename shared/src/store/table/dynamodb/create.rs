//! Creating the table as `schema` defines it (on an emulator or a scratch account).

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};

use super::retry::request_error;
use crate::store::table::TableError;
use crate::store::table::schema::{
    INDEXES, LISTED_ATTRIBUTES, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, key_attributes,
};

fn key_schema(partition: &str, sort: &str) -> Result<Vec<KeySchemaElement>, TableError> {
    let element = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .map_err(TableError::backend)
    };
    Ok(vec![
        element(partition, KeyType::Hash)?,
        element(sort, KeyType::Range)?,
    ])
}

/// Creates the table, its indexes, its stream (old and new images, which the dashboard's
/// counts and the outbox relay read) and its TTL setting, and waits until it is ready.
pub async fn create_table(client: &Client, table: &str) -> Result<(), TableError> {
    let stream = StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewAndOldImages)
        .build()
        .map_err(TableError::backend)?;
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(stream)
        .set_key_schema(Some(key_schema(PARTITION_KEY, SORT_KEY)?));
    for name in key_attributes() {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(TableError::backend)?,
        );
    }
    for index in INDEXES {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .set_key_schema(Some(key_schema(index.partition_key, index.sort_key)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::Include)
                        .set_non_key_attributes(Some(
                            LISTED_ATTRIBUTES.iter().map(|a| a.to_string()).collect(),
                        ))
                        .build(),
                )
                .build()
                .map_err(TableError::backend)?,
        );
    }
    request.send().await.map_err(request_error)?;
    // AWS answers CreateTable while the table is still CREATING; TTL and first use must wait.
    client
        .wait_until_table_exists()
        .table_name(table)
        .wait(Duration::from_secs(120))
        .await
        .map_err(TableError::backend)?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()
                .map_err(TableError::backend)?,
        )
        .send()
        .await
        .map_err(request_error)?;
    Ok(())
}
