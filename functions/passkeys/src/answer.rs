//! What the library leaves to us about an authenticator's answer, checked before it parses (or
//! logs) anything: sizes, the credential id's length (WebAuthn allows at most 1,023 bytes),
//! `type`, `id` matching `rawId`, and that no other origin framed the page (`crossOrigin`,
//! which the library checks at registration only).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

const MAX_CREDENTIAL_ID_BYTES: usize = 1023;
const MAX_CLIENT_DATA_BYTES: usize = 4 * 1024;
/// A sign-in's authenticator data: 37 bytes and its extensions.
const MAX_AUTHENTICATOR_DATA_BYTES: usize = 2 * 1024;
const MAX_SIGNATURE_BYTES: usize = 1024;
/// A registration's attestation object (no attestation is asked for, but some send it).
const MAX_ATTESTATION_BYTES: usize = 16 * 1024;
const MAX_USER_HANDLE_BYTES: usize = 64;

/// Why an answer is refused before the library sees it.
pub type Refusal = &'static str;

pub fn check_registration(answer: &RegisterPublicKeyCredential) -> Result<(), Refusal> {
    common(&answer.id, &answer.raw_id, &answer.type_)?;
    let response = &answer.response;
    if response.attestation_object.len() > MAX_ATTESTATION_BYTES {
        return Err("the attestation object is too large");
    }
    client_data(&response.client_data_json)
}

pub fn check_assertion(answer: &PublicKeyCredential) -> Result<(), Refusal> {
    common(&answer.id, &answer.raw_id, &answer.type_)?;
    let response = &answer.response;
    if response.authenticator_data.len() > MAX_AUTHENTICATOR_DATA_BYTES
        || response.signature.len() > MAX_SIGNATURE_BYTES
        || response
            .user_handle
            .as_ref()
            .is_some_and(|handle| handle.len() > MAX_USER_HANDLE_BYTES)
    {
        return Err("a part of the answer is too large");
    }
    client_data(&response.client_data_json)
}

fn common(id: &str, raw_id: &[u8], kind: &str) -> Result<(), Refusal> {
    if raw_id.is_empty() || raw_id.len() > MAX_CREDENTIAL_ID_BYTES {
        return Err("the credential id must be 1 to 1,023 bytes");
    }
    if kind != "public-key" {
        return Err("the credential's type must be public-key");
    }
    if id != URL_SAFE_NO_PAD.encode(raw_id) {
        return Err("the credential's id and rawId differ");
    }
    Ok(())
}

fn client_data(raw: &[u8]) -> Result<(), Refusal> {
    if raw.len() > MAX_CLIENT_DATA_BYTES {
        return Err("the client data is too large");
    }
    let Ok(data) = serde_json::from_slice::<serde_json::Value>(raw) else {
        return Err("the client data is not JSON");
    };
    if data["crossOrigin"] == true || !data["topOrigin"].is_null() {
        return Err("the page was framed by another origin");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn assertion(raw_id: &[u8], id: &str, client_data: serde_json::Value) -> PublicKeyCredential {
        serde_json::from_value(json!({
            "id": id,
            "rawId": b64(raw_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&[0; 37]),
                "clientDataJSON": b64(client_data.to_string().as_bytes()),
                "signature": b64(&[1; 70]),
                "userHandle": null
            }
        }))
        .unwrap()
    }

    fn client_data() -> serde_json::Value {
        json!({ "type": "webauthn.get", "challenge": "abc", "origin": "http://localhost:3000" })
    }

    #[test]
    fn a_plain_answer_passes() {
        let id = [7u8; 32];
        assert_eq!(
            check_assertion(&assertion(&id, &b64(&id), client_data())),
            Ok(())
        );
    }

    #[test]
    fn a_framed_page_is_refused_at_sign_in_too() {
        let id = [7u8; 32];
        let mut framed = client_data();
        framed["crossOrigin"] = json!(true);
        assert!(check_assertion(&assertion(&id, &b64(&id), framed)).is_err());
        let mut topped = client_data();
        topped["topOrigin"] = json!("http://evil.example");
        assert!(check_assertion(&assertion(&id, &b64(&id), topped)).is_err());
        let mut same = client_data();
        same["crossOrigin"] = json!(false);
        assert_eq!(check_assertion(&assertion(&id, &b64(&id), same)), Ok(()));
    }

    #[test]
    fn credential_ids_are_bounded_and_agree() {
        let long = vec![7u8; 1024];
        assert!(check_assertion(&assertion(&long, &b64(&long), client_data())).is_err());
        assert!(check_assertion(&assertion(&[], "", client_data())).is_err());
        let id = [7u8; 16];
        assert!(check_assertion(&assertion(&id, "another", client_data())).is_err());
        let mut wrong_type = assertion(&id, &b64(&id), client_data());
        wrong_type.type_ = "x".into();
        assert!(check_assertion(&wrong_type).is_err());
    }

    #[test]
    fn oversized_parts_are_refused_before_the_library_reads_them() {
        let id = [7u8; 16];
        let mut big = assertion(&id, &b64(&id), client_data());
        big.response.authenticator_data = vec![0; 234 * 1024];
        assert!(check_assertion(&big).is_err());
        let mut padded = client_data();
        padded["pad"] = json!("x".repeat(5000));
        assert!(check_assertion(&assertion(&id, &b64(&id), padded)).is_err());
    }
}
