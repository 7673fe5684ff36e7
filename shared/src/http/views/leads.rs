use serde::Serialize;

use crate::clock::rfc3339;
use crate::domain::Lead;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeadView {
    pub id: String,
    pub phone: String,
    pub source: String,
    pub name: Option<String>,
    pub message: Option<String>,
    pub status: &'static str,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

impl From<&Lead> for LeadView {
    fn from(lead: &Lead) -> Self {
        Self {
            id: lead.id.clone(),
            phone: lead.phone.clone(),
            source: lead.source.clone(),
            name: lead.name.clone(),
            message: lead.message.clone(),
            status: lead.status.as_str(),
            created_at: rfc3339(lead.created_at),
            updated_at: rfc3339(lead.updated_at),
            version: lead.version,
        }
    }
}
