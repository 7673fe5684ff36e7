//! The emulator set-up creates what the deployed stack has, and a function configured the way
//! `template.yaml` configures it (DynamoDB + Secrets Manager) then serves requests.

use crate::support;

use aws_sdk_dynamodb::types::{KeyType, TimeToLiveStatus};
use axum::http::{Method, StatusCode};
use infra::{Names, QUEUES, setup};
use shared::App;
use shared::config::{Config, StoreKind};
use shared::secrets::KeyProvider;
use shared::store::Stores;
use shared::store::table::schema;

#[tokio::test]
async fn creates_table_queues_and_secret_idempotently() {
    support::emulator_endpoint();
    let aws = aws_config::load_from_env().await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let names = Names {
        table: format!("setup-{suffix}"),
        secret: format!("keys-{suffix}"),
    };
    setup(&aws, &names).await.unwrap();
    setup(&aws, &names).await.expect("a second run is a no-op");

    let dynamo = aws_sdk_dynamodb::Client::new(&aws);
    let table = dynamo
        .describe_table()
        .table_name(&names.table)
        .send()
        .await
        .unwrap();
    let table = table.table().unwrap();
    let keys: Vec<(&str, &KeyType)> = table
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type()))
        .collect();
    assert_eq!(
        keys,
        [
            (schema::PARTITION_KEY, &KeyType::Hash),
            (schema::SORT_KEY, &KeyType::Range)
        ]
    );
    // DynamoDB describes the indexes in no particular order.
    let mut indexes: Vec<&str> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name())
        .collect();
    indexes.sort_unstable();
    let mut declared: Vec<&str> = schema::INDEXES.iter().map(|i| i.name).collect();
    declared.sort_unstable();
    assert_eq!(indexes, declared);
    let ttl = dynamo
        .describe_time_to_live()
        .table_name(&names.table)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some(schema::TTL_ATTRIBUTE));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));

    let sqs = aws_sdk_sqs::Client::new(&aws);
    for queue in QUEUES {
        for name in [queue.to_string(), format!("{queue}-dlq")] {
            sqs.get_queue_url()
                .queue_name(&name)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    // A function wired like the deployed one: keys from Secrets Manager, data in DynamoDB.
    let config = Config {
        store: StoreKind::DynamoDb,
        table_name: names.table.clone(),
        auth_keys_secret_id: Some(names.secret.clone()),
        ..Config::for_tests()
    };
    let keys = KeyProvider::secrets_manager(
        aws_sdk_secretsmanager::Client::new(&aws),
        names.secret.clone(),
        config.secrets_cache_ttl,
        config.access_token_alg,
    )
    .await
    .unwrap();
    let store = support::dynamo_store(dynamo, &names.table);
    let app = support::TestApp::new(App::new(config, Stores::from_adapter(store), keys), None);
    let body = support::register_user(&app, "deployed@example.com", "correct horse battery").await;
    let me = support::Call::new(Method::GET, "/api/users/me")
        .token(body["accessToken"].as_str().unwrap())
        .send(&app)
        .await;
    assert_eq!(me.status(), StatusCode::OK);
}
