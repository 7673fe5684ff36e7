//! A software authenticator as a browser would drive it (`navigator.credentials.create` and
//! `.get` on the API's options): `webauthn-authenticator-rs`'s soft passkey makes real
//! attestation and assertion objects (P-256, a counter that advances), and this keeps what a
//! discoverable authenticator keeps besides: which credential belongs to which user handle, so
//! that it answers a request without an allow-list as a platform authenticator would.

use serde_json::Value;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, PublicKeyCredentialCreationOptions,
    PublicKeyCredentialRequestOptions, RequestChallengeResponse, UserVerificationPolicy,
};

pub use webauthn_authenticator_rs::prelude::Url;

pub struct Authenticator {
    soft: SoftPasskey,
    /// The page's origin the browser reports (what the relying party checks).
    pub origin: Url,
    /// Credential ids and the user handle each was made for, newest last.
    resident: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Authenticator {
    pub fn new(origin: &str) -> Self {
        Self {
            soft: SoftPasskey::new(true),
            origin: Url::parse(origin).unwrap(),
            resident: Vec::new(),
        }
    }

    /// `navigator.credentials.create({publicKey})`: the answer as the page sends it (JSON).
    pub fn create(&mut self, public_key: &Value) -> Value {
        let options: PublicKeyCredentialCreationOptions =
            serde_json::from_value(public_key.clone()).expect("creation options");
        let user = options.user.id.clone();
        let made = self
            .soft
            .do_registration(
                self.origin.clone(),
                CreationChallengeResponse {
                    public_key: options,
                },
            )
            .expect("the authenticator made a credential");
        self.resident.push((made.raw_id.to_vec(), user));
        serde_json::to_value(&made).unwrap()
    }

    /// `navigator.credentials.get({publicKey})`, the user verified: with an allow-list, a
    /// credential it holds from the list; without one, its newest credential, with the user
    /// handle it keeps for it.
    pub fn get(&mut self, public_key: &Value) -> Value {
        self.sign(public_key, UserVerificationPolicy::Required)
    }

    /// As `get`, by an authenticator that only checks the user is present (no PIN or
    /// biometric): the answer says the user was not verified.
    pub fn get_unverified(&mut self, public_key: &Value) -> Value {
        self.sign(public_key, UserVerificationPolicy::Discouraged_DO_NOT_USE)
    }

    fn sign(&mut self, public_key: &Value, verification: UserVerificationPolicy) -> Value {
        let mut options: PublicKeyCredentialRequestOptions =
            serde_json::from_value(public_key.clone()).expect("request options");
        options.user_verification = verification;
        let discoverable = options.allow_credentials.is_empty();
        let (credential, handle) = if discoverable {
            self.resident
                .last()
                .cloned()
                .expect("a resident credential")
        } else {
            self.resident
                .iter()
                .rev()
                .find(|(id, _)| options.allow_credentials.iter().any(|a| a.id == *id))
                .cloned()
                .expect("one of the offered credentials")
        };
        options.allow_credentials = vec![AllowCredentials {
            type_: "public-key".into(),
            id: credential,
            transports: None,
        }];
        let mut answer = self
            .soft
            .do_authentication(
                self.origin.clone(),
                RequestChallengeResponse {
                    public_key: options,
                    mediation: None,
                },
            )
            .expect("the authenticator signed");
        if discoverable {
            answer.response.user_handle = Some(handle);
        }
        serde_json::to_value(&answer).unwrap()
    }
}
