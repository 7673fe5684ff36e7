//! Versions as entity tags: `ETag`, `If-Match` (optimistic locking), `If-None-Match` (304).

use http::header::{IF_MATCH, IF_NONE_MATCH};

use super::{ApiError, Request, header};

pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

fn tags(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/").trim_matches('"'))
}

/// The version `If-Match` demands, if the header is present; `*` demands none.
/// A value that is no version of ours can never match, so it fails with 412.
pub fn required_version(req: &Request) -> Result<Option<u64>, ApiError> {
    let Some(value) = header(req, IF_MATCH) else {
        return Ok(None);
    };
    if value.trim() == "*" {
        return Ok(None);
    }
    tags(value)
        .find_map(|tag| tag.parse::<u64>().ok())
        .map(Some)
        .ok_or(ApiError::PreconditionFailed)
}

/// True when `If-None-Match` names the current version (answer 304).
pub fn not_modified(req: &Request, version: u64) -> bool {
    let current = version.to_string();
    header(req, IF_NONE_MATCH)
        .is_some_and(|value| value.trim() == "*" || tags(value).any(|tag| tag == current))
}
