use serde::Serialize;

use crate::clock::rfc3339;
use crate::domain::{Post, PostSummary, Tag};

/// A post with its body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostView {
    pub id: String,
    pub author_id: String,
    pub title: String,
    pub content: String,
    pub status: &'static str,
    pub tags: Vec<String>,
    pub published_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

/// A post as listings show it: an excerpt in place of the body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostSummaryView {
    pub id: String,
    pub author_id: String,
    pub title: String,
    pub excerpt: String,
    pub status: &'static str,
    pub tags: Vec<String>,
    pub published_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

fn tag_names(tags: &[Tag]) -> Vec<String> {
    tags.iter().map(|t| t.as_str().to_owned()).collect()
}

impl From<&Post> for PostView {
    fn from(post: &Post) -> Self {
        Self {
            id: post.id.clone(),
            author_id: post.author_id.clone(),
            title: post.title.as_str().to_owned(),
            content: post.content.as_str().to_owned(),
            status: post.status.as_str(),
            tags: tag_names(&post.tags),
            published_at: post.published_at.map(rfc3339),
            created_at: rfc3339(post.created_at),
            updated_at: rfc3339(post.updated_at),
            version: post.version,
        }
    }
}

impl From<&PostSummary> for PostSummaryView {
    fn from(summary: &PostSummary) -> Self {
        Self {
            id: summary.id.clone(),
            author_id: summary.author_id.clone(),
            title: summary.title.as_str().to_owned(),
            excerpt: summary.excerpt.clone(),
            status: summary.status.as_str(),
            tags: tag_names(&summary.tags),
            published_at: summary.published_at.map(rfc3339),
            created_at: rfc3339(summary.created_at),
            updated_at: rfc3339(summary.updated_at),
            version: summary.version,
        }
    }
}
