//! Entity tags: versions (`ETag`, `If-Match` for optimistic locking, `If-None-Match` → 304)
//! and digests of a response body, compared as RFC 9110 says.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use http::header::{IF_MATCH, IF_NONE_MATCH};

use super::ApiError;

pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// A strong tag for exactly these bytes: the first 128 bits of their SHA-256, so two bodies
/// share a tag only if they are the same body.
pub fn body_etag(body: &[u8]) -> String {
    let digest = digest::digest(&digest::SHA256, body);
    format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16]))
}

/// The tags of a list header (`"a", W/"b"`), each with whether it is weak, without quotes.
/// A quoted tag may hold commas (RFC 9110's `etagc`), so the list is read tag by tag, not
/// split on commas; an unquoted token (not valid, but sent by some clients) runs to the next
/// comma.
fn tags(value: &str) -> impl Iterator<Item = (bool, &str)> {
    let mut rest = value;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        if rest.is_empty() {
            return None;
        }
        let weak = rest.starts_with("W/");
        if weak {
            rest = &rest[2..];
        }
        let tag = match rest.strip_prefix('"') {
            Some(quoted) => {
                // An unterminated tag runs to the end of the header.
                let end = quoted.find('"').unwrap_or(quoted.len());
                rest = quoted.get(end + 1..).unwrap_or("");
                &quoted[..end]
            }
            None => {
                let end = rest.find(',').unwrap_or(rest.len());
                let token = rest[..end].trim().trim_matches('"');
                rest = &rest[end..];
                token
            }
        };
        Some((weak, tag))
    })
}

/// True when `If-None-Match` is `*` or names `tag` (a whole tag as sent in `ETag`, quotes
/// included) by weak comparison, as RFC 9110 says for this header: a weak `W/"x"` matches a
/// strong `"x"`. The answer is then 304 Not Modified.
pub fn none_match(headers: &HeaderMap, tag: &str) -> bool {
    let Some(value) = combined(headers, &IF_NONE_MATCH) else {
        return false;
    };
    let opaque = tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"');
    value.split(',').any(|part| part.trim() == "*")
        || tags(&value).any(|(_, candidate)| candidate == opaque)
}

/// Every line of a list header as one list (RFC 9110: several lines are one comma-separated
/// list); `None` when absent or not text.
fn combined(headers: &HeaderMap, name: &http::header::HeaderName) -> Option<String> {
    let mut lines = headers.get_all(name).iter().peekable();
    lines.peek()?;
    let lines: Option<Vec<&str>> = lines.map(|v| v.to_str().ok()).collect();
    Some(lines?.join(", "))
}

/// `If-Match` against the current version: `Ok(None)` when absent or `*` (any version will
/// do), `Ok(Some(current))` when one of its tags names the current version by strong
/// comparison (the write must then be conditional on it), 412 otherwise. A weak tag never
/// matches.
pub fn if_match(headers: &HeaderMap, current: u64) -> Result<Option<u64>, ApiError> {
    if headers.get(IF_MATCH).is_none() {
        return Ok(None);
    }
    let value = combined(headers, &IF_MATCH).ok_or(ApiError::PreconditionFailed)?;
    if value.split(',').any(|part| part.trim() == "*") {
        return Ok(None);
    }
    let current_tag = current.to_string();
    if tags(&value).any(|(weak, tag)| !weak && tag == current_tag) {
        Ok(Some(current))
    } else {
        Err(ApiError::PreconditionFailed)
    }
}

/// True when `If-None-Match` names the current version (answer 304). Weak comparison, as
/// RFC 9110 says for this header.
pub fn not_modified(headers: &HeaderMap, version: u64) -> bool {
    none_match(headers, &etag(version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_header_lines_are_one_list() {
        let mut headers = HeaderMap::new();
        headers.append(IF_NONE_MATCH, "\"x\"".parse().unwrap());
        headers.append(IF_NONE_MATCH, etag(7).parse().unwrap());
        assert!(not_modified(&headers, 7));
        let mut star = HeaderMap::new();
        star.append(IF_NONE_MATCH, "\"x\"".parse().unwrap());
        star.append(IF_NONE_MATCH, "*".parse().unwrap());
        assert!(not_modified(&star, 1));
        let mut matching = HeaderMap::new();
        matching.append(IF_MATCH, "\"1\"".parse().unwrap());
        matching.append(IF_MATCH, "\"3\"".parse().unwrap());
        assert_eq!(if_match(&matching, 3).unwrap(), Some(3));
    }

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

    #[test]
    fn list_headers_are_read_tag_by_tag() {
        fn read(value: &str) -> Vec<(bool, &str)> {
            tags(value).collect()
        }
        assert_eq!(
            read(r#""a", W/"b","c""#),
            [(false, "a"), (true, "b"), (false, "c")]
        );
        // A comma inside a quoted tag belongs to the tag.
        assert_eq!(read(r#""x,y", "z""#), [(false, "x,y"), (false, "z")]);
        assert_eq!(read(r#" , "a" ,, "#), [(false, "a")]);
        assert_eq!(read("3, W/4"), [(false, "3"), (true, "4")]);
        assert_eq!(read(r#""open"#), [(false, "open")]);
        assert!(read("").is_empty());
    }

    #[test]
    fn body_tags_are_strong_and_compared_weakly() {
        let tag = body_etag(b"{\"data\":[]}");
        assert!(
            tag.starts_with('"') && tag.ends_with('"') && tag.len() == 24,
            "{tag}"
        );
        assert_eq!(tag, body_etag(b"{\"data\":[]}"));
        assert_ne!(tag, body_etag(b"{\"data\":[1]}"));

        let inner = tag.trim_matches('"');
        for matching in [
            tag.clone(),
            format!("W/{tag}"),
            format!("\"other\", {tag}"),
            format!("W/\"other\",W/{tag}"),
            "*".to_owned(),
            " * ".to_owned(),
        ] {
            assert!(
                none_match(&headers(IF_NONE_MATCH, &matching), &tag),
                "{matching}"
            );
        }
        for other in [
            "\"other\"".to_owned(),
            format!("\"{inner}x\""),
            format!("\"x,{inner}\""),
            format!("\"{inner},x\""),
            "".to_owned(),
        ] {
            assert!(
                !none_match(&headers(IF_NONE_MATCH, &other), &tag),
                "{other}"
            );
        }
        assert!(!none_match(&HeaderMap::new(), &tag));
    }
}
