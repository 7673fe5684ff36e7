//! `?limit=` and `?cursor=`, and the `{data, nextCursor}` page shape.

use serde::Serialize;

use super::cursor::{decode_cursor, encode_cursor};
use super::{ApiError, Params};
use crate::auth::KeySet;
use crate::store::{Page, Position};

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

pub struct PageRequest {
    pub limit: usize,
    pub after: Option<Position>,
}

/// Reads `limit` (1..=100, default 20) and `cursor` (signed for `listing`).
pub fn page_request(
    params: &Params,
    keys: &KeySet,
    listing: &str,
) -> Result<PageRequest, ApiError> {
    let limit = match params.get("limit")? {
        None => DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request("invalid_limit", format!("limit must be 1..={MAX_LIMIT}"))
            })?,
    };
    let after = params
        .get("cursor")?
        .map(|cursor| decode_cursor(keys, listing, cursor))
        .transpose()?;
    Ok(PageRequest { limit, after })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageBody<V> {
    pub data: Vec<V>,
    pub next_cursor: Option<String>,
}

pub fn page_body<T, V>(
    page: Page<T>,
    keys: &KeySet,
    listing: &str,
    view: impl Fn(&T) -> V,
) -> PageBody<V> {
    PageBody {
        data: page.items.iter().map(view).collect(),
        next_cursor: page.next.map(|p| encode_cursor(keys, listing, &p)),
    }
}
