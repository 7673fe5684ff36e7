//! Ids: UUIDs, stored lower-case and hyphenated.

/// `raw` if it is an id exactly as stored: a UUID, lower-case and hyphenated. Upper case,
/// braces, `urn:uuid:` and the 32-digit form name the same UUID, but are not ids here: each
/// would be another URL (another CDN cache entry) for one resource.
pub fn parse_id(raw: &str) -> Option<String> {
    is_stored_id(raw).then(|| raw.to_owned())
}

/// Whether `raw` is an id exactly as stored (what a key may be built from).
pub fn is_stored_id(raw: &str) -> bool {
    raw.len() == 36 && uuid::Uuid::try_parse(raw).is_ok_and(|id| id.hyphenated().to_string() == raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_stored_spelling_is_an_id() {
        let id = "0193a8e2-6c1f-7d4e-9b3a-2f5c8e1d4a7b";
        assert_eq!(parse_id(id).as_deref(), Some(id));
        for other in [
            "0193A8E2-6C1F-7D4E-9B3A-2F5C8E1D4A7B",
            "0193a8e2-6c1f-7d4e-9b3a-2f5c8e1d4a7B",
            "{0193a8e2-6c1f-7d4e-9b3a-2f5c8e1d4a7b}",
            "urn:uuid:0193a8e2-6c1f-7d4e-9b3a-2f5c8e1d4a7b",
            "0193a8e26c1f7d4e9b3a2f5c8e1d4a7b",
            " 0193a8e2-6c1f-7d4e-9b3a-2f5c8e1d4a7b",
            "0193a8e2-6c1f-7d4e-9b3a-2f5c8e1d4a7",
            "0193a8e2+6c1f-7d4e-9b3a-2f5c8e1d4a7b",
            "",
        ] {
            assert_eq!(parse_id(other), None, "{other}");
            assert!(!is_stored_id(other), "{other}");
        }
    }
}
