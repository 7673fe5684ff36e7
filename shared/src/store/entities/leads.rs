//! Leads: `LEAD#<id>`, listed newest first on GSI1 under `LEADS`.

use async_trait::async_trait;

use super::TableStore;
use super::effects::effect_actions;
use super::paging::IndexQuery;
use super::role_held::role_still_held;
use crate::domain::{Lead, LeadStatus};
use crate::store::keys;
use crate::store::table::schema::GSI1;
use crate::store::table::{Condition, Item, Put, get_n, get_s, item};
use crate::store::{Effects, LeadStore, Page, Position, RoleHeld, StoreError};

fn lead_item(lead: &Lead) -> Item {
    let mut item = item(
        &keys::lead(&lead.id),
        [
            ("type", "lead".into()),
            ("id", (&lead.id).into()),
            ("phone", (&lead.phone).into()),
            ("source", (&lead.source).into()),
            ("status", lead.status.as_str().into()),
            ("createdAt", lead.created_at.into()),
            ("updatedAt", lead.updated_at.into()),
            ("version", lead.version.into()),
            (GSI1.partition_key, keys::LEADS.into()),
            (GSI1.sort_key, keys::lead_list_sort(lead).into()),
        ],
    );
    if let Some(name) = &lead.name {
        item.insert("name".to_owned(), name.into());
    }
    if let Some(message) = &lead.message {
        item.insert("message".to_owned(), message.into());
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
        status: LeadStatus::parse(get_s(item, "status")?).map_err(super::corrupt)?,
        created_at: get_n(item, "createdAt")?,
        updated_at: get_n(item, "updatedAt")?,
        version: get_n(item, "version")?,
    })
}

#[async_trait]
impl LeadStore for TableStore {
    async fn create_lead(&self, lead: &Lead, effects: &Effects) -> Result<(), StoreError> {
        let mut actions = vec![Put::if_absent(lead_item(lead)).into()];
        actions.extend(effect_actions(effects));
        Ok(self.table.transact(actions).await?)
    }

    async fn get_lead(&self, id: &str) -> Result<Option<Lead>, StoreError> {
        let item = self.get_consistent(&keys::lead(id)).await?;
        item.as_ref().map(lead_from_item).transpose()
    }

    async fn update_lead(
        &self,
        previous: &Lead,
        next: &Lead,
        held: &RoleHeld,
    ) -> Result<(), StoreError> {
        let put = Put::new(lead_item(next)).when(Condition::eq("version", previous.version));
        let mut actions = vec![put.into()];
        actions.extend(role_still_held(Some(held)));
        Ok(self.table.transact(actions).await?)
    }

    async fn list_leads(
        &self,
        after: Option<&Position>,
        limit: usize,
    ) -> Result<Page<Lead>, StoreError> {
        let query = IndexQuery {
            index: GSI1,
            partition: keys::LEADS.to_owned(),
            sort_prefix: None,
            filter: None,
            forward: false,
            table_key: Box::new(keys::lead),
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
