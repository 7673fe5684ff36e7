//! Leads: `LEAD#<id>`, listed newest first on GSI1 under `LEADS`.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::DynamoStore;
use super::accounts::effect_items;
use super::item::{Item, get_n, get_s, key, n, s};
use super::query::IndexQuery;
use super::retry::WriteError;
use super::schema::GSI1;
use super::users::role_still_held;
use crate::domain::{Lead, LeadStatus};
use crate::store::{Effects, LeadStore, Page, Position, RoleHeld, StoreError};

const LEADS: &str = "LEADS";

fn lead_key(id: &str) -> Item {
    key(format!("LEAD#{id}"), "LEAD")
}

fn lead_item(lead: &Lead) -> Item {
    let mut item = lead_key(&lead.id);
    item.extend([
        ("type".to_owned(), s("lead")),
        ("id".to_owned(), s(&lead.id)),
        ("phone".to_owned(), s(&lead.phone)),
        ("source".to_owned(), s(&lead.source)),
        ("status".to_owned(), s(lead.status.as_str())),
        ("createdAt".to_owned(), n(lead.created_at)),
        ("updatedAt".to_owned(), n(lead.updated_at)),
        ("version".to_owned(), n(lead.version)),
        (GSI1.partition_key.to_owned(), s(LEADS)),
        (GSI1.sort_key.to_owned(), s(lead.list_key())),
    ]);
    if let Some(name) = &lead.name {
        item.insert("name".to_owned(), s(name));
    }
    if let Some(message) = &lead.message {
        item.insert("message".to_owned(), s(message));
    }
    item
}

fn lead_from_item(item: &Item) -> Result<Lead, StoreError> {
    Ok(Lead {
        id: get_s(item, "id")?,
        phone: get_s(item, "phone")?,
        source: get_s(item, "source")?,
        name: get_s(item, "name").ok(),
        message: get_s(item, "message").ok(),
        status: LeadStatus::parse(get_s(item, "status")?).map_err(super::item::corrupt)?,
        created_at: get_n(item, "createdAt")?,
        updated_at: get_n(item, "updatedAt")?,
        version: get_n(item, "version")?,
    })
}

#[async_trait]
impl LeadStore for DynamoStore {
    async fn create_lead(&self, lead: &Lead, effects: &Effects) -> Result<(), StoreError> {
        let mut items = vec![super::put_if_absent(&self.table, lead_item(lead))?];
        items.extend(effect_items(&self.table, effects)?);
        self.transact(items)
            .await
            .map_err(WriteError::into_store_error)
    }

    async fn get_lead(&self, id: &str) -> Result<Option<Lead>, StoreError> {
        let item = self.get_consistent(lead_key(id)).await?;
        item.as_ref().map(lead_from_item).transpose()
    }

    async fn update_lead(
        &self,
        previous: &Lead,
        next: &Lead,
        held: &RoleHeld,
    ) -> Result<(), StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(lead_item(next)))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":expected", n(previous.version))
            .build()?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        items.extend(role_still_held(&self.table, Some(held))?);
        self.transact(items)
            .await
            .map_err(WriteError::into_store_error)
    }

    async fn list_leads(
        &self,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<Lead>, StoreError> {
        let query = IndexQuery {
            index: GSI1,
            partition: LEADS.to_owned(),
            sort_prefix: None,
            filter: None,
            forward: false,
            table_key: Box::new(lead_key),
        };
        let start = after.map(|p| (p.sort.as_str(), p.id.as_str()));
        let page = self.query_index(&query, start, limit).await?;
        let items = page
            .items
            .iter()
            .map(lead_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = page
            .resume
            .map(|(sort, id)| Position { phase: 0, sort, id });
        Ok(Page { items, next })
    }
}
