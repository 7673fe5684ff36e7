//! Opaque, tamper-evident pagination cursors: the position as JSON, HMAC-signed, bound to the
//! listing (route and filters) it came from.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::auth::KeySet;
use crate::store::Position;

/// The cursor's wire format: short keys, since it travels in every next-page URL.
#[derive(Serialize, Deserialize)]
struct Payload {
    #[serde(rename = "l")]
    listing: String,
    #[serde(rename = "p")]
    phase: u8,
    #[serde(rename = "s")]
    sort: String,
    #[serde(rename = "i")]
    id: String,
}

fn invalid() -> ApiError {
    ApiError::bad_request(
        "invalid_cursor",
        "the cursor is not one this listing issued; start again without it",
    )
}

pub fn encode_cursor(keys: &KeySet, listing: &str, position: &Position) -> String {
    let payload = Payload {
        listing: listing.to_owned(),
        phase: position.phase,
        sort: position.sort.clone(),
        id: position.id.clone(),
    };
    let json = serde_json::to_vec(&payload).unwrap_or_default();
    let tag = hmac::sign(&keys.cursor_key(), &json);
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&json),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// The position, if the cursor was signed by one of our keys for this same listing.
pub fn decode_cursor(keys: &KeySet, listing: &str, cursor: &str) -> Result<Position, ApiError> {
    let (json, tag) = cursor.split_once('.').ok_or_else(invalid)?;
    let json = URL_SAFE_NO_PAD.decode(json).map_err(|_| invalid())?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
    if !keys
        .all_cursor_keys()
        .any(|key| hmac::verify(&key, &json, &tag).is_ok())
    {
        return Err(invalid());
    }
    let payload: Payload = serde_json::from_slice(&json).map_err(|_| invalid())?;
    if payload.listing != listing {
        return Err(invalid());
    }
    Ok(Position {
        phase: payload.phase,
        sort: payload.sort,
        id: payload.id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position() -> Position {
        Position {
            phase: 0,
            sort: "0001795543200000#abc".into(),
            id: "abc".into(),
        }
    }

    #[test]
    fn round_trips_and_rejects_tampering() {
        let keys = KeySet::generate();
        let cursor = encode_cursor(&keys, "posts", &position());
        assert_eq!(decode_cursor(&keys, "posts", &cursor).unwrap(), position());

        let forged_json = URL_SAFE_NO_PAD.encode(br#"{"l":"posts","p":0,"s":"9","i":"x"}"#);
        let (_, tag) = cursor.split_once('.').unwrap();
        for bad in [
            format!("{forged_json}.{tag}"),
            "garbage".into(),
            "a.b".into(),
            String::new(),
            cursor.replace('.', ""),
        ] {
            let err = decode_cursor(&keys, "posts", &bad).unwrap_err();
            assert_eq!(err.code(), "invalid_cursor", "{bad}");
        }
        // Another listing, or another deployment's keys: refused.
        assert!(decode_cursor(&keys, "users", &cursor).is_err());
        assert!(decode_cursor(&KeySet::generate(), "posts", &cursor).is_err());
    }
}
