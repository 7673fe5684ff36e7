//! Ids: UUIDs, stored lower-case and hyphenated.

/// An id in its stored form (lower-case, hyphenated UUID), if `raw` is one.
pub fn parse_id(raw: &str) -> Option<String> {
    if raw.len() > 45 {
        return None;
    }
    uuid::Uuid::try_parse(raw).ok().map(|id| id.to_string())
}

/// Whether `raw` is an id exactly as stored (what a key may be built from).
pub fn is_stored_id(raw: &str) -> bool {
    parse_id(raw).is_some_and(|id| id == raw)
}
