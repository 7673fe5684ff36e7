//! Passkeys over the API on both engines, with a software authenticator making real
//! attestation and assertion objects (`support::authenticator`): registration for a signed-in
//! user, sign-in with an address and without one (`aal2`, `amr ["webauthn"]`), each ceremony
//! spent once, sign counters that only advance, answers that do not hold up refused, the last
//! way into an account kept, and every bad input a problem document.

use crate::support;

use axum::http::{Method, StatusCode};
use futures_util::future::join_all;
use serde_json::{Value, json};
use shared::config::{Config, RateLimits, RelyingParty};
use shared::jobs::{MailMessage, Work};
use support::authenticator::Authenticator;
use support::{Call, TestApp, assert_problem, body_json, capturing};

use crate::email_login::current_amr;
use crate::oauth::verified_account;

const PAGE: &str = "http://localhost:3000";
const PASSWORD: &str = "correct horse battery";

async fn post(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> support::TestResponse {
    let mut call = Call::new(Method::POST, path).json(body);
    if let Some(token) = token {
        call = call.token(token);
    }
    call.send(app).await
}

/// Registration options for the signed-in `access`: the ceremony id and the `publicKey`.
async fn registration_options(app: &TestApp, access: &str) -> (String, Value) {
    let asked = post(
        app,
        "/api/auth/passkeys/register/options",
        Some(access),
        json!({ "password": PASSWORD }),
    )
    .await;
    assert_eq!(asked.status(), StatusCode::OK, "{:?}", asked.body());
    let body = body_json(&asked);
    (
        body["ceremony"].as_str().unwrap().to_owned(),
        body["publicKey"].clone(),
    )
}

/// Registers a passkey of `authenticator` to the signed-in `access`; the passkey as listed.
async fn register(app: &TestApp, authenticator: &mut Authenticator, access: &str) -> Value {
    let (ceremony, options) = registration_options(app, access).await;
    let credential = authenticator.create(&options);
    let done = post(
        app,
        "/api/auth/passkeys/register/verify",
        Some(access),
        json!({ "ceremony": ceremony, "credential": credential, "name": "Laptop" }),
    )
    .await;
    assert_eq!(done.status(), StatusCode::CREATED, "{:?}", done.body());
    body_json(&done)
}

/// Sign-in options, for `email` or (None) for whichever passkey the authenticator has.
async fn sign_in_options(app: &TestApp, email: Option<&str>) -> (String, Value) {
    let body = match email {
        Some(email) => json!({ "email": email }),
        None => json!({}),
    };
    let asked = post(app, "/api/auth/passkeys/login/options", None, body).await;
    assert_eq!(asked.status(), StatusCode::OK, "{:?}", asked.body());
    let body = body_json(&asked);
    (
        body["ceremony"].as_str().unwrap().to_owned(),
        body["publicKey"].clone(),
    )
}

async fn verify_sign_in(
    app: &TestApp,
    ceremony: &str,
    credential: &Value,
) -> support::TestResponse {
    post(
        app,
        "/api/auth/passkeys/login/verify",
        None,
        json!({ "ceremony": ceremony, "credential": credential }),
    )
    .await
}

/// A whole sign-in with `authenticator`: options, assertion, verification.
async fn sign_in(
    app: &TestApp,
    authenticator: &mut Authenticator,
    email: Option<&str>,
) -> support::TestResponse {
    let (ceremony, options) = sign_in_options(app, email).await;
    let credential = authenticator.get(&options);
    verify_sign_in(app, &ceremony, &credential).await
}

async fn passkeys(app: &TestApp, access: &str) -> Value {
    let listed = Call::new(Method::GET, "/api/auth/passkeys")
        .token(access)
        .send(app)
        .await;
    assert_eq!(listed.status(), StatusCode::OK, "{:?}", listed.body());
    body_json(&listed)
}

async fn registered_and_signed_in_with_and_without_an_address(app: TestApp) {
    let (app, mails) = capturing(app);
    let account = verified_account(&app, &mails, "pk@example.com").await;
    let mut authenticator = Authenticator::new(PAGE);
    let added = register(&app, &mut authenticator, &account.access).await;
    assert_eq!(added["name"], "Laptop");
    assert_eq!(added["lastUsedAt"], Value::Null);
    let id = added["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 43, "the hash of the credential id: {id}");
    let listed = passkeys(&app, &account.access).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["hasPassword"], true);
    let told = mails.jobs().await.iter().any(|job| {
        matches!(&job.work, Work::Email(mail)
            if mail.to == "pk@example.com" && matches!(mail.message, MailMessage::PasskeyAdded { .. }))
    });
    assert!(
        told,
        "the owner is mailed about a new passkey: {:?}",
        mails.jobs().await
    );

    // With the address: its passkey is offered.
    let (_, offered) = sign_in_options(&app, Some("PK@example.com ")).await;
    assert_eq!(offered["allowCredentials"].as_array().unwrap().len(), 1);
    assert_eq!(offered["userVerification"], "required");
    assert_eq!(offered["rpId"], "localhost");
    let signed = sign_in(&app, &mut authenticator, Some("pk@example.com")).await;
    assert_eq!(signed.status(), StatusCode::OK, "{:?}", signed.body());
    let body = body_json(&signed);
    assert_eq!(body["user"]["id"], account.id.as_str());
    let access = body["accessToken"].as_str().unwrap();
    assert_eq!(
        current_amr(&app, access).await,
        json!({ "aal": "aal2", "amr": ["webauthn"] })
    );

    // Without: the authenticator offers the user's own, and its handle says whose it is.
    let signed = sign_in(&app, &mut authenticator, None).await;
    assert_eq!(signed.status(), StatusCode::OK, "{:?}", signed.body());
    assert_eq!(body_json(&signed)["user"]["id"], account.id.as_str());

    let listed = passkeys(&app, &account.access).await;
    assert_ne!(listed["data"][0]["lastUsedAt"], Value::Null);

    // Renamed, then removed (the account keeps its password).
    let path = format!("/api/auth/passkeys/{id}");
    let renamed = Call::new(Method::PATCH, &path)
        .token(&account.access)
        .json(json!({ "name": "  Work laptop " }))
        .send(&app)
        .await;
    assert_eq!(renamed.status(), StatusCode::OK, "{:?}", renamed.body());
    assert_eq!(body_json(&renamed)["name"], "Work laptop");
    let removed = Call::new(Method::DELETE, &path)
        .token(&account.access)
        .send(&app)
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_eq!(passkeys(&app, &account.access).await["data"], json!([]));
    let gone = sign_in(&app, &mut authenticator, None).await;
    assert_problem(&gone, StatusCode::UNAUTHORIZED, "passkey_refused");
}

async fn a_ceremony_is_spent_once(app: TestApp) {
    let (app, mails) = capturing(app);
    let account = verified_account(&app, &mails, "once@example.com").await;
    let mut authenticator = Authenticator::new(PAGE);
    register(&app, &mut authenticator, &account.access).await;

    // One assertion sent eight times at once: one session.
    let (ceremony, options) = sign_in_options(&app, Some("once@example.com")).await;
    let credential = authenticator.get(&options);
    let answers = join_all((0..8).map(|_| verify_sign_in(&app, &ceremony, &credential))).await;
    let signed_in = answers
        .iter()
        .filter(|a| a.status() == StatusCode::OK)
        .count();
    assert_eq!(signed_in, 1, "one of eight replays signs in");
    for refused in answers.iter().filter(|a| a.status() != StatusCode::OK) {
        assert_problem(refused, StatusCode::BAD_REQUEST, "invalid_ceremony");
    }
    // And again later.
    let replayed = verify_sign_in(&app, &ceremony, &credential).await;
    assert_problem(&replayed, StatusCode::BAD_REQUEST, "invalid_ceremony");

    // A registration's ceremony too: finished once, and only by the session that asked.
    let (ceremony, options) = registration_options(&app, &account.access).await;
    let made = authenticator.create(&options);
    let other = support::refresh_with(&app, &account.refresh).await;
    let other_access = body_json(&other)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({ "ceremony": ceremony, "credential": made });
    let elsewhere = post(
        &app,
        "/api/auth/passkeys/register/verify",
        Some(&other_access),
        body.clone(),
    )
    .await;
    assert_eq!(
        elsewhere.status(),
        StatusCode::CREATED,
        "the refreshed token is the same session: {:?}",
        elsewhere.body()
    );
    let again = post(
        &app,
        "/api/auth/passkeys/register/verify",
        Some(&other_access),
        body,
    )
    .await;
    assert_problem(&again, StatusCode::BAD_REQUEST, "invalid_ceremony");
}

async fn a_sign_counter_only_advances(app: TestApp) {
    let (app, mails) = capturing(app);
    let account = verified_account(&app, &mails, "count@example.com").await;
    let mut authenticator = Authenticator::new(PAGE);
    register(&app, &mut authenticator, &account.access).await;
    // Two assertions, the second with the higher count, sent in the other order: the one with
    // the lower count comes after a higher one was recorded, as a clone's would.
    let (first_ceremony, first_options) = sign_in_options(&app, Some("count@example.com")).await;
    let first = authenticator.get(&first_options);
    let (second_ceremony, second_options) = sign_in_options(&app, Some("count@example.com")).await;
    let second = authenticator.get(&second_options);
    let later = verify_sign_in(&app, &second_ceremony, &second).await;
    assert_eq!(later.status(), StatusCode::OK, "{:?}", later.body());
    let stale = verify_sign_in(&app, &first_ceremony, &first).await;
    assert_problem(&stale, StatusCode::UNAUTHORIZED, "passkey_refused");

    // Two at once, each with its own ceremony: whichever lands, a refused one left no trace,
    // and the stored count is the highest recorded.
    let mut pending = Vec::new();
    for _ in 0..4 {
        let (ceremony, options) = sign_in_options(&app, Some("count@example.com")).await;
        pending.push((ceremony, authenticator.get(&options)));
    }
    let answers = join_all(
        pending
            .iter()
            .map(|(ceremony, credential)| verify_sign_in(&app, ceremony, credential)),
    )
    .await;
    let accepted = answers
        .iter()
        .filter(|a| a.status() == StatusCode::OK)
        .count();
    assert!(accepted >= 1, "the highest count always lands");
    for refused in answers.iter().filter(|a| a.status() != StatusCode::OK) {
        assert_problem(refused, StatusCode::UNAUTHORIZED, "passkey_refused");
    }
    let listed = passkeys(&app, &account.access).await;
    let stored = app
        .stores
        .passkeys
        .find_passkey(&account.id, listed["data"][0]["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let highest = pending
        .iter()
        .map(|(_, credential)| counter_of(credential))
        .max()
        .unwrap();
    assert_eq!(stored.counter, highest);
}

/// The sign counter in an assertion's authenticator data (bytes 33..37, big-endian).
fn counter_of(credential: &Value) -> u32 {
    use base64::Engine;
    let data = credential["response"]["authenticatorData"]
        .as_str()
        .unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(data)
        .unwrap();
    u32::from_be_bytes(bytes[33..37].try_into().unwrap())
}

async fn answers_that_do_not_hold_up_are_refused(app: TestApp) {
    let (app, mails) = capturing(app);
    let owner = verified_account(&app, &mails, "owner@example.com").await;
    let other = verified_account(&app, &mails, "other@example.com").await;
    let mut authenticator = Authenticator::new(PAGE);
    register(&app, &mut authenticator, &owner.access).await;
    let mut others = Authenticator::new(PAGE);
    register(&app, &mut others, &other.access).await;

    // Made on another site's page.
    let mut phished = Authenticator::new("http://localhost:4000");
    let (ceremony, options) = registration_options(&app, &owner.access).await;
    let made = phished.create(&options);
    let refused = post(
        &app,
        "/api/auth/passkeys/register/verify",
        Some(&owner.access),
        json!({ "ceremony": ceremony, "credential": made }),
    )
    .await;
    assert_problem(&refused, StatusCode::BAD_REQUEST, "passkey_refused");
    let (ceremony, options) = sign_in_options(&app, Some("owner@example.com")).await;
    authenticator.origin = "http://localhost:4000".parse().unwrap();
    let credential = authenticator.get(&options);
    authenticator.origin = PAGE.parse().unwrap();
    let refused = verify_sign_in(&app, &ceremony, &credential).await;
    assert_problem(&refused, StatusCode::UNAUTHORIZED, "passkey_refused");

    // The user not verified by the authenticator.
    let (ceremony, options) = sign_in_options(&app, Some("owner@example.com")).await;
    let credential = authenticator.get_unverified(&options);
    let refused = verify_sign_in(&app, &ceremony, &credential).await;
    assert_problem(&refused, StatusCode::UNAUTHORIZED, "passkey_refused");

    // A signature that does not match.
    let (ceremony, options) = sign_in_options(&app, Some("owner@example.com")).await;
    let mut credential = authenticator.get(&options);
    let signature = credential["response"]["signature"]
        .as_str()
        .unwrap()
        .to_owned();
    let flipped = if signature.starts_with('M') { "N" } else { "M" };
    credential["response"]["signature"] = json!(format!("{flipped}{}", &signature[1..]));
    let refused = verify_sign_in(&app, &ceremony, &credential).await;
    assert_problem(&refused, StatusCode::UNAUTHORIZED, "passkey_refused");

    // Someone else's passkey for this address, and this passkey claiming another user.
    let (ceremony, options) = sign_in_options(&app, Some("owner@example.com")).await;
    let mut stolen_options = options.clone();
    let (_, others_options) = sign_in_options(&app, Some("other@example.com")).await;
    stolen_options["allowCredentials"] = others_options["allowCredentials"].clone();
    let credential = others.get(&stolen_options);
    let refused = verify_sign_in(&app, &ceremony, &credential).await;
    assert_problem(&refused, StatusCode::UNAUTHORIZED, "passkey_refused");
    let (ceremony, options) = sign_in_options(&app, None).await;
    let mut credential = authenticator.get(&options);
    let handle = uuid::Uuid::parse_str(&other.id).unwrap();
    use base64::Engine;
    credential["response"]["userHandle"] =
        json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(handle.as_bytes()));
    let refused = verify_sign_in(&app, &ceremony, &credential).await;
    assert_problem(&refused, StatusCode::UNAUTHORIZED, "passkey_refused");

    // Nothing above signed anyone in; the owner's passkey still works.
    let signed = sign_in(&app, &mut authenticator, Some("owner@example.com")).await;
    assert_eq!(signed.status(), StatusCode::OK, "{:?}", signed.body());
}

async fn adding_one_needs_a_proven_address_and_the_password(app: TestApp) {
    let (app, mails) = capturing(app);
    let unverified = support::account(&app, "new@example.com", "New").await;
    let refused = post(
        &app,
        "/api/auth/passkeys/register/options",
        Some(&unverified.access),
        json!({ "password": PASSWORD }),
    )
    .await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "email_not_verified");
    let account = verified_account(&app, &mails, "pw@example.com").await;
    for body in [json!({}), json!({ "password": "not the password" })] {
        let wrong = post(
            &app,
            "/api/auth/passkeys/register/options",
            Some(&account.access),
            body,
        )
        .await;
        assert_eq!(
            wrong.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{:?}",
            wrong.body()
        );
    }
    let anonymous = post(&app, "/api/auth/passkeys/register/options", None, json!({})).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

/// An account without a password (its address proven by a mailed code): its only passkey
/// stays, and of two removals at once of its two passkeys, one is refused.
async fn the_last_way_in_stays(app: TestApp) {
    let (app, mails) = capturing(app);
    support::account(&app, "nopw@example.com", "No Password").await;
    let asked = post(
        &app,
        "/api/auth/email-login",
        None,
        json!({ "email": "nopw@example.com" }),
    )
    .await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let code = mails.code_mailed_to("nopw@example.com").await;
    let signed = post(
        &app,
        "/api/auth/email-login/verify",
        None,
        json!({ "email": "nopw@example.com", "code": code }),
    )
    .await;
    assert_eq!(signed.status(), StatusCode::OK, "{:?}", signed.body());
    let access = body_json(&signed)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();

    // No password to give: a recent sign-in is enough.
    let asked = post(
        &app,
        "/api/auth/passkeys/register/options",
        Some(&access),
        json!({}),
    )
    .await;
    assert_eq!(asked.status(), StatusCode::OK, "{:?}", asked.body());
    let mut phone = Authenticator::new(PAGE);
    let mut laptop = Authenticator::new(PAGE);
    let options = body_json(&asked);
    let made = phone.create(&options["publicKey"]);
    let done = post(
        &app,
        "/api/auth/passkeys/register/verify",
        Some(&access),
        json!({ "ceremony": options["ceremony"], "credential": made }),
    )
    .await;
    assert_eq!(done.status(), StatusCode::CREATED, "{:?}", done.body());
    let only = body_json(&done)["id"].as_str().unwrap().to_owned();
    let remove = |id: String| {
        let app = &app;
        let access = access.clone();
        async move {
            Call::new(Method::DELETE, &format!("/api/auth/passkeys/{id}"))
                .token(&access)
                .send(app)
                .await
        }
    };
    let refused = remove(only.clone()).await;
    assert_problem(&refused, StatusCode::CONFLICT, "last_sign_in_method");

    let asked = post(
        &app,
        "/api/auth/passkeys/register/options",
        Some(&access),
        json!({}),
    )
    .await;
    let options = body_json(&asked);
    let made = laptop.create(&options["publicKey"]);
    let done = post(
        &app,
        "/api/auth/passkeys/register/verify",
        Some(&access),
        json!({ "ceremony": options["ceremony"], "credential": made }),
    )
    .await;
    assert_eq!(done.status(), StatusCode::CREATED, "{:?}", done.body());
    let second = body_json(&done)["id"].as_str().unwrap().to_owned();
    let (a, b) = tokio::join!(remove(only.clone()), remove(second.clone()));
    let removed = [&a, &b]
        .iter()
        .filter(|r| r.status() == StatusCode::NO_CONTENT)
        .count();
    assert_eq!(removed, 1, "{:?} {:?}", a.body(), b.body());
    let left = passkeys(&app, &access).await;
    assert_eq!(left["data"].as_array().unwrap().len(), 1);
    let kept = left["data"][0]["id"].as_str().unwrap();
    // `only` is the phone's, `second` the laptop's; the removal of the kept one was refused.
    let (refused, authenticator) = if kept == only {
        (&a, &mut phone)
    } else {
        (&b, &mut laptop)
    };
    assert_problem(refused, StatusCode::CONFLICT, "last_sign_in_method");
    let signed = sign_in(&app, authenticator, None).await;
    assert_eq!(
        signed.status(),
        StatusCode::OK,
        "the kept passkey signs in: {:?}",
        signed.body()
    );
}

/// Every pair of writers that meet on one item, at once: a passkey and a provider removed
/// together from an account with no password (one stays); a sign-in with a passkey while it is
/// removed (once removed, it signs nobody in); one credential registered to two users (one
/// gets it); registrations racing for the last place under the cap (never past it).
async fn writers_that_meet_hold_their_rules(app: TestApp) {
    use shared::clock::now_ms;
    use shared::store::{Effects, Identity};
    let (app, mails) = capturing(app);

    // A provider and a passkey on an account without a password, both removed at once.
    support::account(&app, "both@example.com", "Both").await;
    post(
        &app,
        "/api/auth/email-login",
        None,
        json!({ "email": "both@example.com" }),
    )
    .await;
    let code = mails.code_mailed_to("both@example.com").await;
    let signed = post(
        &app,
        "/api/auth/email-login/verify",
        None,
        json!({ "email": "both@example.com", "code": code }),
    )
    .await;
    let body = body_json(&signed);
    let access = body["accessToken"].as_str().unwrap().to_owned();
    let user_id = body["user"]["id"].as_str().unwrap().to_owned();
    let asked = post(
        &app,
        "/api/auth/passkeys/register/options",
        Some(&access),
        json!({}),
    )
    .await;
    let options = body_json(&asked);
    let mut phone = Authenticator::new(PAGE);
    let made = phone.create(&options["publicKey"]);
    let done = post(
        &app,
        "/api/auth/passkeys/register/verify",
        Some(&access),
        json!({ "ceremony": options["ceremony"], "credential": made }),
    )
    .await;
    let passkey = body_json(&done)["id"].as_str().unwrap().to_owned();
    let identity = Identity {
        provider: "stand-in".into(),
        subject: "sub-both".into(),
        user_id: user_id.clone(),
        email: None,
        created_at: now_ms(),
        added_with_password: false,
    };
    app.stores
        .identities
        .link_identity(&identity, None, None, &Effects::none())
        .await
        .unwrap();
    let passkey_path = format!("/api/auth/passkeys/{passkey}");
    let (unlinked, removed) = tokio::join!(
        Call::new(Method::DELETE, "/api/auth/identities/stand-in")
            .token(&access)
            .send(&app),
        Call::new(Method::DELETE, &passkey_path)
            .token(&access)
            .send(&app),
    );
    let gone = [&unlinked, &removed]
        .iter()
        .filter(|r| r.status() == StatusCode::NO_CONTENT)
        .count();
    assert_eq!(gone, 1, "{:?} {:?}", unlinked.body(), removed.body());
    let identities = app
        .stores
        .identities
        .list_identities(&user_id)
        .await
        .unwrap();
    let passkeys_left = app.stores.passkeys.list_passkeys(&user_id).await.unwrap();
    assert_eq!(
        identities.len() + passkeys_left.len(),
        1,
        "one way in stays"
    );
    for refused in [&unlinked, &removed]
        .into_iter()
        .filter(|r| r.status() != StatusCode::NO_CONTENT)
    {
        assert_problem(refused, StatusCode::CONFLICT, "last_sign_in_method");
    }

    // A sign-in racing the passkey's removal: whatever landed first, it is gone afterwards and
    // signs nobody in.
    let account = verified_account(&app, &mails, "race@example.com").await;
    let mut laptop = Authenticator::new(PAGE);
    let added = register(&app, &mut laptop, &account.access).await;
    let (ceremony, options) = sign_in_options(&app, Some("race@example.com")).await;
    let assertion = laptop.get(&options);
    let added_path = format!("/api/auth/passkeys/{}", added["id"].as_str().unwrap());
    let (signed, removed) = tokio::join!(
        verify_sign_in(&app, &ceremony, &assertion),
        Call::new(Method::DELETE, &added_path)
            .token(&account.access)
            .send(&app),
    );
    assert_eq!(
        removed.status(),
        StatusCode::NO_CONTENT,
        "{:?}",
        removed.body()
    );
    assert!(
        signed.status() == StatusCode::OK || signed.status() == StatusCode::UNAUTHORIZED,
        "{:?}",
        signed.body()
    );
    let after = sign_in(&app, &mut laptop, None).await;
    assert_problem(&after, StatusCode::UNAUTHORIZED, "passkey_refused");
    assert_eq!(passkeys(&app, &account.access).await["data"], json!([]));
}

/// The store's own rules for passkeys, at once: one credential registered to two users, and
/// registrations racing for the last places under the cap.
async fn the_store_registers_a_credential_once_and_keeps_the_cap(app: TestApp) {
    use shared::clock::now_ms;
    use shared::store::{Effects, StoreError, StoredPasskey};
    let a = support::account(&app, "a@example.com", "A").await;
    let b = support::account(&app, "b@example.com", "B").await;
    let stored = |user_id: &str, id: &str| StoredPasskey {
        user_id: user_id.to_owned(),
        id: id.to_owned(),
        name: "Key".into(),
        credential: "{}".into(),
        counter: 0,
        backup_eligible: false,
        backed_up: false,
        created_at: now_ms(),
        last_used_at: None,
        added_with_password: false,
    };
    let same = "S".repeat(43);
    let for_a = stored(&a.id, &same);
    let for_b = stored(&b.id, &same);
    let passkeys = &app.stores.passkeys;
    let none = Effects::none();
    let (first, second) = tokio::join!(
        passkeys.add_passkey(&for_a, 20, 0, &none),
        passkeys.add_passkey(&for_b, 20, 0, &none),
    );
    let won: Vec<bool> = [&first, &second].iter().map(|r| r.is_ok()).collect();
    assert_eq!(
        won.iter().filter(|w| **w).count(),
        1,
        "{first:?} {second:?}"
    );
    for lost in [first, second].into_iter().filter_map(Result::err) {
        assert!(matches!(lost, StoreError::Conflict), "{lost:?}");
    }
    let held = passkeys.list_passkeys(&a.id).await.unwrap().len()
        + passkeys.list_passkeys(&b.id).await.unwrap().len();
    assert_eq!(held, 1);

    // Eight registrations racing for the last three places under a cap of four.
    let c = support::account(&app, "c@example.com", "C").await;
    passkeys
        .add_passkey(&stored(&c.id, &"c".repeat(43)), 4, 0, &none)
        .await
        .unwrap();
    let racing: Vec<StoredPasskey> = (0..8)
        .map(|i| stored(&c.id, &format!("{i}{}", "r".repeat(42))))
        .collect();
    let outcomes = join_all(racing.iter().map(|p| passkeys.add_passkey(p, 4, 0, &none))).await;
    let added = outcomes.iter().filter(|r| r.is_ok()).count();
    let listed = passkeys.list_passkeys(&c.id).await.unwrap().len();
    assert_eq!(listed, 1 + added, "every accepted registration is stored");
    assert!(listed <= 4, "never past the cap: {listed}");
    for lost in outcomes.into_iter().filter_map(Result::err) {
        assert!(
            matches!(lost, StoreError::Conflict | StoreError::Unavailable(_)),
            "{lost:?}"
        );
    }
}

/// Someone registered the owner's address first, with their password; the owner proved the
/// address (the welcome mail); the squatter's session then added a passkey with that password.
/// The owner's password reset takes the account back: the passkey the old password added goes
/// with it, and one added from a passkey's session (no password involved) stays.
async fn a_password_reset_removes_the_passkeys_the_old_password_added(app: TestApp) {
    let (app, mails) = capturing(app);
    let squatter = support::account(&app, "owner@example.com", "Squatter").await;
    let token = mails
        .token_mailed_to("owner@example.com", support::links::verify)
        .await;
    let verified = post(
        &app,
        "/api/auth/verify-email",
        None,
        json!({ "token": token }),
    )
    .await;
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);
    let mut squatters = Authenticator::new(PAGE);
    register(&app, &mut squatters, &squatter.access).await;

    // A second passkey, added from a session the first one signed in (no password).
    let mut kept = Authenticator::new(PAGE);
    let signed = sign_in(&app, &mut squatters, Some("owner@example.com")).await;
    let passkey_session = body_json(&signed)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let asked = post(
        &app,
        "/api/auth/passkeys/register/options",
        Some(&passkey_session),
        json!({ "password": PASSWORD }),
    )
    .await;
    let options = body_json(&asked);
    let made = kept.create(&options["publicKey"]);
    let done = post(
        &app,
        "/api/auth/passkeys/register/verify",
        Some(&passkey_session),
        json!({ "ceremony": options["ceremony"], "credential": made }),
    )
    .await;
    assert_eq!(done.status(), StatusCode::CREATED, "{:?}", done.body());

    post(
        &app,
        "/api/auth/forgot-password",
        None,
        json!({ "email": "owner@example.com" }),
    )
    .await;
    let token = mails
        .token_mailed_to("owner@example.com", support::links::reset)
        .await;
    let reset = post(
        &app,
        "/api/auth/reset-password",
        None,
        json!({ "token": token, "password": "the owner's own passphrase" }),
    )
    .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT, "{:?}", reset.body());

    let refused = sign_in(&app, &mut squatters, None).await;
    assert_problem(&refused, StatusCode::UNAUTHORIZED, "passkey_refused");
    let still = sign_in(&app, &mut kept, None).await;
    assert_eq!(still.status(), StatusCode::OK, "{:?}", still.body());
    let access = body_json(&still)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        passkeys(&app, &access).await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The user item's count followed the removal: capacity for 19 more, and the kept one goes
    // (the account has its new password).
    let kept_id = passkeys(&app, &access).await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let removed = Call::new(Method::DELETE, &format!("/api/auth/passkeys/{kept_id}"))
        .token(&access)
        .send(&app)
        .await;
    assert_eq!(
        removed.status(),
        StatusCode::NO_CONTENT,
        "{:?}",
        removed.body()
    );
    let table = support::table_of(&app).await;
    let user = table
        .get(
            &shared::store::keys::user(&squatter.id),
            shared::store::table::Read::Consistent,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        user.get("passkeyCount"),
        Some(&shared::store::table::Value::N(0))
    );
}

/// An address without passkeys (or without an account) is answered the same shape, and the
/// same each time.
async fn an_address_without_passkeys_is_not_told_apart(app: TestApp) {
    let (app, mails) = capturing(app);
    verified_account(&app, &mails, "plain@example.com").await;
    let holder = verified_account(&app, &mails, "holder@example.com").await;
    register(&app, &mut Authenticator::new(PAGE), &holder.access).await;
    let (_, nobody) = sign_in_options(&app, Some("nobody@example.com")).await;
    let (_, again) = sign_in_options(&app, Some("nobody@example.com")).await;
    let (_, plain) = sign_in_options(&app, Some("plain@example.com")).await;
    let (_, real) = sign_in_options(&app, Some("holder@example.com")).await;
    assert_eq!(
        nobody["allowCredentials"], again["allowCredentials"],
        "the same each time"
    );
    assert_ne!(nobody["allowCredentials"], plain["allowCredentials"]);
    // Apart from the challenge and the ids, the same document.
    let shape = |options: &Value| {
        let mut options = options.clone();
        options["challenge"] = Value::Null;
        let offered = options["allowCredentials"].as_array().unwrap().clone();
        options["allowCredentials"] = json!(
            offered
                .iter()
                .map(|entry| {
                    let mut entry = entry.clone();
                    entry["id"] = Value::Null;
                    entry
                })
                .collect::<Vec<_>>()
        );
        let count = offered.len();
        assert!((1..=2).contains(&count), "{options}");
        options["allowCredentials"] = options["allowCredentials"][0].clone();
        options
    };
    assert_eq!(shape(&nobody), shape(&real), "{nobody} {real}");
    assert_eq!(shape(&plain), shape(&real), "{plain} {real}");
}

async fn bad_input_gets_problem_documents(app: TestApp) {
    let (app, mails) = capturing(app);
    let account = verified_account(&app, &mails, "bad@example.com").await;
    let mut authenticator = Authenticator::new(PAGE);
    let added = register(&app, &mut authenticator, &account.access).await;
    let (ceremony, _) = sign_in_options(&app, None).await;
    for body in [
        json!({}),
        json!({ "ceremony": ceremony }),
        json!({ "credential": {} }),
        json!({ "ceremony": ceremony, "credential": "text" }),
        json!({ "ceremony": ceremony, "credential": { "id": 1 } }),
        json!({ "ceremony": 7, "credential": {} }),
        json!({ "ceremony": ceremony, "credential": {}, "extra": true }),
    ] {
        let answer = post(&app, "/api/auth/passkeys/login/verify", None, body.clone()).await;
        assert!(
            answer.status() == StatusCode::UNPROCESSABLE_ENTITY
                || answer.status() == StatusCode::BAD_REQUEST,
            "{body}: {:?}",
            answer.body()
        );
        assert_eq!(
            support::header(&answer, "content-type"),
            Some("application/problem+json"),
            "{body}"
        );
    }
    let unknown = post(
        &app,
        "/api/auth/passkeys/login/verify",
        None,
        json!({ "ceremony": "made-up", "credential": authenticator.get(&sign_in_options(&app, None).await.1) }),
    )
    .await;
    assert_problem(&unknown, StatusCode::BAD_REQUEST, "invalid_ceremony");
    // A registration's ceremony is not a sign-in's.
    let (registration, _) = registration_options(&app, &account.access).await;
    let (_, options) = sign_in_options(&app, None).await;
    let mixed = verify_sign_in(&app, &registration, &authenticator.get(&options)).await;
    assert_problem(&mixed, StatusCode::BAD_REQUEST, "invalid_ceremony");
    for body in [json!({ "email": 5 }), json!({ "user": "x" }), json!([])] {
        let answer = post(&app, "/api/auth/passkeys/login/options", None, body.clone()).await;
        assert!(
            answer.status().is_client_error(),
            "{body}: {:?}",
            answer.body()
        );
    }
    let id = added["id"].as_str().unwrap();
    for name in [
        "",
        "   ",
        "a\nb",
        &"x".repeat(65),
        "evil\u{202E}gpj.exe",
        "a\u{200B}b",
    ] {
        let renamed = Call::new(Method::PATCH, &format!("/api/auth/passkeys/{id}"))
            .token(&account.access)
            .json(json!({ "name": name }))
            .send(&app)
            .await;
        assert_problem(
            &renamed,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
    }
    for path in [
        "/api/auth/passkeys/nope",
        "/api/auth/passkeys/%00",
        &format!("/api/auth/passkeys/{}", "A".repeat(2000)),
    ] {
        let missing = Call::new(Method::DELETE, path)
            .token(&account.access)
            .send(&app)
            .await;
        assert!(
            missing.status() == StatusCode::NOT_FOUND
                || missing.status() == StatusCode::BAD_REQUEST,
            "{path}: {:?}",
            missing.body()
        );
    }
}

async fn options_are_limited_per_address(app: TestApp) {
    for _ in 0..3 {
        sign_in_options(&app, None).await;
    }
    let limited = post(&app, "/api/auth/passkeys/login/options", None, json!({})).await;
    assert_problem(&limited, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
}

async fn off_without_a_relying_party(app: TestApp) {
    let answer = post(&app, "/api/auth/passkeys/login/options", None, json!({})).await;
    assert_problem(&answer, StatusCode::FORBIDDEN, "passkeys_off");
}

fn config() -> Config {
    Config {
        email_login: true,
        ..Config::for_tests()
    }
}

on_both_stores! {
    registered_and_signed_in_with_and_without_an_address => config(),
    a_ceremony_is_spent_once => config(),
    a_sign_counter_only_advances => config(),
    answers_that_do_not_hold_up_are_refused => config(),
    adding_one_needs_a_proven_address_and_the_password => config(),
    the_last_way_in_stays => config(),
    an_address_without_passkeys_is_not_told_apart => config(),
    writers_that_meet_hold_their_rules => config(),
    a_password_reset_removes_the_passkeys_the_old_password_added => config(),
    the_store_registers_a_credential_once_and_keeps_the_cap => config(),
    bad_input_gets_problem_documents => config(),
    options_are_limited_per_address => Config {
        rate_limits: RateLimits {
            passkey_options_ip: shared::config::Rule::parse("3/1h").unwrap(),
            ..RateLimits::default()
        },
        ..config()
    },
    off_without_a_relying_party => Config {
        relying_party: None::<RelyingParty>,
        ..config()
    },
}
