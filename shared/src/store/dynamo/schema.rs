//! The single table's definition. `template.yaml` declares the same table (a test compares them)
//! and `infra` creates it on an emulator from here.
//!
//! Key shapes:
//! | item            | PK                | SK                |
//! |-----------------|-------------------|-------------------|
//! | user            | `USER#<id>`       | `PROFILE`         |
//! | e-mail marker   | `EMAIL#<email>`   | `EMAIL`           |
//! | session         | `USER#<id>`       | `SESSION#<sid>`   |
//! | refresh token   | `REFRESH#<hash>`  | `REFRESH`         |
//! | post            | `POST#<id>`       | `POST`            |
//! | post tag entry  | `POST#<id>`       | `TAG#<tag>`       |
//! | account token   | `TOKEN#<hash>`    | `TOKEN`           |
//! | outbox job      | `OUTBOX#<job id>` | `OUTBOX`          |
//! | unreadable job  | `OUTBOX_DEAD#<id>`| `OUTBOX_DEAD`     |
//! | job record      | `JOB#<job id>`    | `JOB`             |
//! | lead            | `LEAD#<id>`       | `LEAD`            |
//! | limit counter   | `LIMIT#<key>`     | `LIMIT`           |
//! | login lock      | `LOGIN#<account>` | `LOCK`            |
//! | audit event     | `AUDIT#<id>`      | `AUDIT`           |
//!
//! Index entries (sparse: only active users and visible posts carry them). What a listing
//! filters on is in the index partition, so a query reads only what it returns:
//! | item       | GSI1 (PK / SK)                       | GSI2 (PK / SK)                                    | GSI3 (PK / SK)                           |
//! |------------|--------------------------------------|---------------------------------------------------|------------------------------------------|
//! | user       | `USERS` / email                      | `USERS#<role>` / email                            | `USERS` / name#id                        |
//! | post       | `STATUS#<status>` / feed time#id     | `AUTHOR#<author>` / created#id                    | `AUTHOR#<author>#<status>` / created#id  |
//! | outbox job | `OUTBOX` / created#id                | –                                                 | –                                        |
//! | unreadable | `OUTBOX_DEAD` / dead at#id           | –                                                 | –                                        |
//! | lead       | `LEADS` / created#id                 | –                                                 | –                                        |
//! | audit event| `AUDIT#<shard>` / at#id              | `AUDIT#ACTOR#<actor>` / at#id                     | `AUDIT#TARGET#<target>` / at#id          |
//! | tag entry  | `TAG#<tag>#<status>` / feed time#id  | `TAG#<tag>#<status>#AUTHOR#<author>` / feed time#id | –                                      |
//!
//! Audit events spread over `AUDIT_SHARDS` partitions of GSI1 (by id), so no one partition
//! takes every event; the newest-first listing merges the shards.
//!
//! A post's tag entries and its index entries hold the listing fields only (`LISTED_ATTRIBUTES`),
//! never the body: an edit writes the body once, and a page of listings stays small.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

use crate::store::StoreError;

pub const PARTITION_KEY: &str = "PK";
pub const SORT_KEY: &str = "SK";
/// Epoch seconds after which DynamoDB may delete the item. Reads never trust it alone.
pub const TTL_ATTRIBUTE: &str = "ttl";

pub struct IndexDef {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: &'static str,
}

/// Overloaded indexes for listings; each access pattern documents its own key shape.
pub const INDEXES: &[IndexDef] = &[
    IndexDef {
        name: "GSI1",
        partition_key: "GSI1PK",
        sort_key: "GSI1SK",
    },
    IndexDef {
        name: "GSI2",
        partition_key: "GSI2PK",
        sort_key: "GSI2SK",
    },
    IndexDef {
        name: "GSI3",
        partition_key: "GSI3PK",
        sort_key: "GSI3SK",
    },
];

/// The attributes every index projects besides keys: what a listing shows of a user or a post.
/// A new listed attribute must be added here and in template.yaml (an index's projection cannot
/// change in place: the index is rebuilt).
pub const LISTED_ATTRIBUTES: &[&str] = &[
    "type",
    "id",
    // users
    "email",
    "name",
    "role",
    "passwordHash",
    "sessionGeneration",
    "deletedAt",
    // posts
    "authorId",
    "title",
    "excerpt",
    "status",
    "tags",
    "publishedAt",
    "authorDeleted",
    // leads
    "phone",
    "source",
    "message",
    // outbox
    "job",
    // audit events
    "action",
    "outcome",
    "actor",
    "target",
    "sourceIp",
    "userAgent",
    "requestId",
    "detail",
    // all
    "createdAt",
    "updatedAt",
    "version",
];

pub const GSI1: &IndexDef = &INDEXES[0];
pub const GSI2: &IndexDef = &INDEXES[1];
pub const GSI3: &IndexDef = &INDEXES[2];

/// Every key attribute of the table and its indexes; all are strings.
pub fn key_attributes() -> Vec<&'static str> {
    let mut names = vec![PARTITION_KEY, SORT_KEY];
    for index in INDEXES {
        names.extend([index.partition_key, index.sort_key]);
    }
    names
}

fn key_schema(partition: &str, sort: &str) -> Result<Vec<KeySchemaElement>, StoreError> {
    let element = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .map_err(StoreError::from)
    };
    Ok(vec![
        element(partition, KeyType::Hash)?,
        element(sort, KeyType::Range)?,
    ])
}

/// Creates the table, its indexes and its TTL setting (on an emulator or a scratch account).
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(PARTITION_KEY, SORT_KEY)?));
    for name in key_attributes() {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()?,
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
                .build()?,
        );
    }
    request.send().await?;
    // AWS answers CreateTable while the table is still CREATING; TTL and first use must wait.
    client
        .wait_until_table_exists()
        .table_name(table)
        .wait(Duration::from_secs(120))
        .await
        .map_err(StoreError::backend)?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()?,
        )
        .send()
        .await?;
    Ok(())
}
