//! The indexes hold what listings show and nothing secret, read straight from DynamoDB Local
//! (which honours projections): after register, account-token requests, a password change and
//! "log out everywhere", no index entry carries a password hash, a session generation or
//! account-token state; writes of those alone leave a user's index entries as they were, and a
//! password change or "log out everywhere" alters nothing in them but `updatedAt` and `version`.
//! The user listing still shows the whole public view from the entries alone.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::config::Config;
use shared::domain::Role;
use shared::store::keys;
use shared::store::table::schema;
use support::links;
use support::{Call, Captured, TestApp, account, account_with_role, body_json};

type Item = std::collections::HashMap<String, AttributeValue>;

/// What no index entry may hold, whatever the schema says.
const SECRETS: &[&str] = &[
    "passwordHash",
    "sessionGeneration",
    "resetToken",
    "pendingEmailToken",
    "verifySentAt",
    "resetSentAt",
];

/// Every write to a user bumps these; they are projected because listings show them (the
/// user's own and, under the same names, the posts' and leads').
const BUMPED_BY_EVERY_WRITE: &[&str] = &["updatedAt", "version"];

const PASSWORD: &str = "correct horse battery";

fn s(item: &Item, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_else(|| panic!("no string {name} in {item:?}"))
}

/// Every entry of every index: (index, table PK, table SK) → the entry as the index holds it.
async fn all_entries(app: &TestApp) -> BTreeMap<(String, String, String), Item> {
    let client = support::dynamo_client().await;
    let mut entries = BTreeMap::new();
    for index in schema::INDEXES {
        let mut start = None;
        loop {
            let page = client
                .scan()
                .table_name(&app.config.table_name)
                .index_name(index.name)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            for item in page.items() {
                let key = (index.name.to_owned(), s(item, "PK"), s(item, "SK"));
                entries.insert(key, item.clone());
            }
            start = page.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() {
                break;
            }
        }
    }
    entries
}

/// The user's entry in each index, found by the listings' own queries (its partition in each).
async fn user_entries(app: &TestApp, id: &str, role: Role) -> BTreeMap<String, Item> {
    let client = support::dynamo_client().await;
    let shard = keys::ListingShards::new(app.config.listing_shards).of(id);
    let partitions = [
        (schema::GSI1, keys::users(shard)),
        (schema::GSI2, keys::users_with_role(role, shard)),
        (schema::GSI3, keys::users(shard)),
    ];
    let mut entries = BTreeMap::new();
    for (index, partition) in partitions {
        let page = client
            .query()
            .table_name(&app.config.table_name)
            .index_name(index.name)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", index.partition_key)
            .expression_attribute_values(":pk", AttributeValue::S(partition))
            .send()
            .await
            .unwrap();
        let mine: Vec<&Item> = page
            .items()
            .iter()
            .filter(|item| s(item, "PK") == format!("USER#{id}"))
            .collect();
        assert_eq!(mine.len(), 1, "{}: {mine:?}", index.name);
        entries.insert(index.name.to_owned(), mine[0].clone());
    }
    entries
}

/// The user's item in the table itself, where its credentials do live.
async fn profile(app: &TestApp, id: &str) -> Item {
    support::dynamo_client()
        .await
        .get_item()
        .table_name(&app.config.table_name)
        .key("PK", AttributeValue::S(format!("USER#{id}")))
        .key("SK", AttributeValue::S("PROFILE".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the profile")
}

/// No entry of any index holds a secret, or anything the schema does not project.
async fn assert_no_secret_projected(app: &TestApp, after: &str) {
    let mut allowed: BTreeSet<&str> = schema::LISTED_ATTRIBUTES.iter().copied().collect();
    allowed.extend(schema::key_attributes());
    let entries = all_entries(app).await;
    assert!(
        entries.keys().any(|(_, pk, _)| pk.starts_with("USER#")),
        "users are indexed"
    );
    for ((index, pk, sk), item) in &entries {
        for name in item.keys() {
            assert!(
                !SECRETS.contains(&name.as_str()),
                "after {after}: {index} entry of {pk}/{sk} carries {name}"
            );
            assert!(
                allowed.contains(name.as_str()),
                "after {after}: {index} entry of {pk}/{sk} carries unlisted {name}"
            );
        }
    }
}

/// The entries without the attributes every write bumps.
fn without_bumped(entries: &BTreeMap<String, Item>) -> BTreeMap<String, Item> {
    entries
        .iter()
        .map(|(index, item)| {
            let mut item = item.clone();
            item.retain(|name, _| !BUMPED_BY_EVERY_WRITE.contains(&name.as_str()));
            (index.clone(), item)
        })
        .collect()
}

fn token_of(body: &Value, name: &str) -> String {
    body[name].as_str().expect(name).to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_index_entry_carries_a_secret_and_credential_writes_leave_entries_alone() {
    let mails = Arc::new(Captured::default());
    let app = support::with_captured(
        support::dynamo_app_with(Config::for_tests()).await,
        mails.clone(),
    );
    let ada = account(&app, "ada@example.com", "Ada").await;
    assert!(profile(&app, &ada.id).await.contains_key("passwordHash"));
    assert_no_secret_projected(&app, "register").await;
    let registered = user_entries(&app, &ada.id, Role::User).await;

    // Token requests write only unprojected attributes: no index entry is touched.
    let forgot = Call::new(Method::POST, "/api/auth/forgot-password")
        .json(json!({ "email": ada.email }))
        .send(&app)
        .await;
    assert_eq!(forgot.status(), StatusCode::ACCEPTED);
    let change = Call::new(Method::POST, "/api/users/me/email")
        .token(&ada.access)
        .json(json!({ "email": "ada.new@example.com", "password": PASSWORD }))
        .send(&app)
        .await;
    assert_eq!(change.status(), StatusCode::ACCEPTED, "{:?}", change.body());
    let stored = profile(&app, &ada.id).await;
    for name in [
        "resetToken",
        "resetSentAt",
        "pendingEmailToken",
        "verifySentAt",
    ] {
        assert!(stored.contains_key(name), "{name} was written");
    }
    assert_no_secret_projected(&app, "token requests").await;
    assert_eq!(
        user_entries(&app, &ada.id, Role::User).await,
        registered,
        "token requests left the index entries as they were"
    );

    // A password change: the hash and the generation stay out of the entries.
    let hash_before = s(&profile(&app, &ada.id).await, "passwordHash");
    let changed = Call::new(Method::POST, "/api/auth/password")
        .token(&ada.access)
        .json(json!({ "currentPassword": PASSWORD, "newPassword": "another good passphrase" }))
        .send(&app)
        .await;
    assert_eq!(changed.status(), StatusCode::OK, "{:?}", changed.body());
    assert_ne!(
        s(&profile(&app, &ada.id).await, "passwordHash"),
        hash_before
    );
    assert_no_secret_projected(&app, "password change").await;
    let after_change = user_entries(&app, &ada.id, Role::User).await;
    assert_eq!(
        without_bumped(&after_change),
        without_bumped(&registered),
        "a password change alters only updatedAt and version in the index entries"
    );

    // "Log out everywhere": likewise.
    let access = token_of(&body_json(&changed), "accessToken");
    let logout = Call::new(Method::POST, "/api/auth/logout?scope=all")
        .token(&access)
        .json(json!({}))
        .send(&app)
        .await;
    assert_eq!(
        logout.status(),
        StatusCode::NO_CONTENT,
        "{:?}",
        logout.body()
    );
    assert_no_secret_projected(&app, "logout everywhere").await;
    assert_eq!(
        without_bumped(&user_entries(&app, &ada.id, Role::User).await),
        without_bumped(&registered),
        "log out everywhere alters only updatedAt and version in the index entries"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_user_listing_shows_the_public_view_from_the_index_alone() {
    let mails = Arc::new(Captured::default());
    let app = support::with_captured(
        support::dynamo_app_with(Config::for_tests()).await,
        mails.clone(),
    );
    let admin = account_with_role(&app, "root@example.com", Role::Admin).await;
    let ada = account(&app, "ada@example.com", "Ada Lovelace").await;
    let bob = account(&app, "bob@example.com", "Bob").await;
    let token = mails
        .token_mailed_to("ada@example.com", links::verify)
        .await;
    let verified = Call::new(Method::POST, "/api/auth/verify-email")
        .json(json!({ "token": token }))
        .send(&app)
        .await;
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);

    for path in ["/api/users", "/api/users?q=ada", "/api/users?role=user"] {
        let listed = Call::new(Method::GET, path)
            .token(&admin.access)
            .send(&app)
            .await;
        assert_eq!(listed.status(), StatusCode::OK, "{path}");
        let listed = body_json(&listed)["data"].as_array().unwrap().clone();
        assert!(!listed.is_empty(), "{path}");
        for entry in &listed {
            let id = entry["id"].as_str().unwrap();
            let one = Call::new(Method::GET, &format!("/api/users/{id}"))
                .token(&admin.access)
                .send(&app)
                .await;
            assert_eq!(&body_json(&one), entry, "{path}: as GET /api/users/{id}");
            assert!(entry.get("passwordHash").is_none());
        }
        let ids: Vec<&str> = listed.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert!(ids.contains(&ada.id.as_str()), "{path}");
        if path != "/api/users?q=ada" {
            assert!(ids.contains(&bob.id.as_str()), "{path}");
        }
        let listed_ada = listed.iter().find(|e| e["id"] == ada.id.as_str()).unwrap();
        assert_eq!(listed_ada["emailVerified"], true, "{path}");
    }
}
