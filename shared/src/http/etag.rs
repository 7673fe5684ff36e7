//! Versions as entity tags: `ETag`, `If-Match` (optimistic locking), `If-None-Match` (304),
//! compared as RFC 9110 says.

use http::HeaderMap;
use http::header::{IF_MATCH, IF_NONE_MATCH};

use super::ApiError;

pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// The tags of a list header, each with whether it is weak (`W/"3"`).
fn tags(value: &str) -> impl Iterator<Item = (bool, &str)> {
    value
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|tag| match tag.strip_prefix("W/") {
            Some(weak) => (true, weak.trim_matches('"')),
            None => (false, tag.trim_matches('"')),
        })
}

/// `If-Match` against the current version: `Ok(None)` when absent or `*` (any version will
/// do), `Ok(Some(current))` when one of its tags names the current version by strong
/// comparison (the write must then be conditional on it), 412 otherwise. A weak tag never
/// matches.
pub fn if_match(headers: &HeaderMap, current: u64) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(IF_MATCH) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ApiError::PreconditionFailed)?;
    if value.trim() == "*" {
        return Ok(None);
    }
    let current_tag = current.to_string();
    if tags(value).any(|(weak, tag)| !weak && tag == current_tag) {
        Ok(Some(current))
    } else {
        Err(ApiError::PreconditionFailed)
    }
}

/// True when `If-None-Match` names the current version (answer 304). Weak comparison, as
/// RFC 9110 says for this header.
pub fn not_modified(headers: &HeaderMap, version: u64) -> bool {
    let current = version.to_string();
    headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|value| value.trim() == "*" || tags(value).any(|(_, tag)| tag == current))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: http::header::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, value.parse().unwrap());
        headers
    }

    #[test]
    fn if_match_uses_strong_comparison_over_a_list() {
        assert_eq!(if_match(&HeaderMap::new(), 3).unwrap(), None);
        assert_eq!(if_match(&headers(IF_MATCH, "*"), 3).unwrap(), None);
        assert_eq!(if_match(&headers(IF_MATCH, "\"3\""), 3).unwrap(), Some(3));
        assert_eq!(
            if_match(&headers(IF_MATCH, "\"1\", \"3\""), 3).unwrap(),
            Some(3)
        );
        for stale in ["\"2\"", "W/\"3\"", "\"2\", W/\"3\"", "garbage", ""] {
            assert!(if_match(&headers(IF_MATCH, stale), 3).is_err(), "{stale:?}");
        }
    }

    #[test]
    fn if_none_match_uses_weak_comparison() {
        assert!(not_modified(&headers(IF_NONE_MATCH, "W/\"3\""), 3));
        assert!(not_modified(&headers(IF_NONE_MATCH, "\"1\", \"3\""), 3));
        assert!(not_modified(&headers(IF_NONE_MATCH, "*"), 3));
        assert!(!not_modified(&headers(IF_NONE_MATCH, "\"2\""), 3));
    }
}
