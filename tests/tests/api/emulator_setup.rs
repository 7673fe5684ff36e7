//! The emulator set-up creates what the deployed stack has, and a function configured the way
//! `template.yaml` configures it (DynamoDB + Secrets Manager) then serves requests.

use crate::support;

use aws_sdk_dynamodb::types::{KeyType, TimeToLiveStatus};
use axum::http::{Method, StatusCode};
use infra::{Names, QUEUES, setup};
use shared::App;
use shared::auth::{KeySet, SigningAlg, verify_access_token};
use shared::config::{Config, StoreKind};
use shared::domain::Role;
use shared::secrets::KeyProvider;
use shared::store::Stores;
use shared::store::table::schema;

#[tokio::test]
async fn creates_table_queues_and_secret_idempotently() {
    support::emulator_endpoint();
    let aws = aws_config::load_from_env().await;
    let names = fresh_names();
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

/// Lambda binaries configure the SDK from the environment alone (no aws-config chain): the
/// endpoints, region and credentials it names reach every service a function calls.
#[tokio::test]
async fn the_environment_only_configuration_reaches_every_service() {
    support::emulator_endpoint();
    let aws = shared::app::aws_sdk_config_from_environment(|name| std::env::var(name).ok())
        .expect("the test environment names a region and credentials");
    aws_sdk_dynamodb::Client::new(&aws)
        .list_tables()
        .send()
        .await
        .expect("DynamoDB on AWS_ENDPOINT_URL_DYNAMODB");
    aws_sdk_sqs::Client::new(&aws)
        .list_queues()
        .send()
        .await
        .expect("SQS on AWS_ENDPOINT_URL");
    aws_sdk_secretsmanager::Client::new(&aws)
        .list_secrets()
        .send()
        .await
        .expect("Secrets Manager on AWS_ENDPOINT_URL");
}

/// A secret from before signing keys (HMAC only) gets an active key of each algorithm, and keeps
/// its HMAC key (refresh successors derived with it stay valid).
#[tokio::test]
async fn an_hmac_only_secret_gets_signing_keys() {
    support::emulator_endpoint();
    let aws = aws_config::load_from_env().await;
    let names = fresh_names();
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let old = r#"{"activeKid":"k1","k1":"0123456789abcdef0123456789abcdef-old"}"#;
    secrets
        .create_secret()
        .name(&names.secret)
        .secret_string(old)
        .send()
        .await
        .unwrap();
    setup(&aws, &names).await.unwrap();
    let document = infra::read_key_set(&secrets, &names.secret).await.unwrap();
    assert_eq!(
        document.hmac_keys["k1"],
        "0123456789abcdef0123456789abcdef-old"
    );
    for alg in SigningAlg::ALL {
        let keys = KeySet::from_document(&document, alg).unwrap();
        assert!(!keys.signs_hs256());
    }
    setup(&aws, &names).await.unwrap();
    let again = infra::read_key_set(&secrets, &names.secret).await.unwrap();
    assert_eq!(
        again.to_json(),
        document.to_json(),
        "a second run changes nothing"
    );
}

/// `signing-keys` through a rotation on the emulator's secret: each step leaves a set the
/// functions load, and the tokens of each step verify where they should.
#[tokio::test]
async fn the_signing_keys_command_walks_a_rotation() {
    use infra::signing_keys::{Command, parse, run};

    support::emulator_endpoint();
    let aws = aws_config::load_from_env().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let secret = format!("rotate-{}", uuid::Uuid::new_v4().simple());
    let names = Names {
        table: format!("setup-{secret}"),
        secret: secret.clone(),
    };
    setup(&aws, &names).await.unwrap();
    let step = async |args: &[&str]| {
        let args = args.iter().map(|arg| arg.to_string());
        let (command, secret_id) = parse(args, Some(secret.clone())).unwrap();
        run(&secrets, &secret_id.unwrap(), command).await
    };
    let load = async || {
        let document = infra::read_key_set(&secrets, &secret).await.unwrap();
        KeySet::from_document(&document, SigningAlg::EdDSA).unwrap()
    };
    let config = Config::for_tests();
    let token = |keys: &KeySet| {
        shared::auth::issue_access_token(
            keys,
            &config,
            "u1",
            Role::User,
            "s1",
            &shared::domain::Authentication::password(),
            now_secs(),
        )
        .unwrap()
    };
    let before = load().await;
    let old_token = token(&before);

    let new = step(&["new"]).await.unwrap();
    let standby = load().await;
    assert_eq!(
        standby.public_keys().count(),
        3,
        "published before it signs"
    );
    // Still signed with the old key: instances that have not seen the new one verify it.
    assert!(verify_access_token(&before, &config, &token(&standby)).is_ok());
    assert!(verify_access_token(&standby, &config, &old_token).is_ok());

    step(&["activate", &new]).await.unwrap();
    let rotated = load().await;
    let new_token = token(&rotated);
    assert!(verify_access_token(&rotated, &config, &old_token).is_ok());
    assert!(verify_access_token(&before, &config, &new_token).is_err());
    let listed = step(&["list"]).await.unwrap();
    assert!(
        listed.contains(&format!("{new}\tEdDSA\tactive")),
        "{listed}"
    );

    let old_kid = before
        .public_keys()
        .find(|key| key.alg == "EdDSA")
        .unwrap()
        .kid
        .clone();
    assert!(
        step(&["remove", &new]).await.is_err(),
        "the active key stays"
    );
    step(&["remove", &old_kid]).await.unwrap();
    let retired = load().await;
    assert!(verify_access_token(&retired, &config, &old_token).is_err());
    assert!(verify_access_token(&retired, &config, &new_token).is_ok());

    step(&["deactivate", "ES256"]).await.unwrap();
    assert!(
        step(&["deactivate", "EdDSA"]).await.is_err(),
        "never back to HS256"
    );
    assert!(step(&["activate", "no-such-key"]).await.is_err());
    assert_eq!(
        parse(["print".to_owned()], None).unwrap().0,
        Command::Print(SigningAlg::EdDSA)
    );
}

fn now_secs() -> i64 {
    shared::clock::now_ms() / 1000
}

/// A table and secret of this test's own, so runs never share them.
fn fresh_names() -> Names {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    Names {
        table: format!("setup-{suffix}"),
        secret: format!("keys-{suffix}"),
    }
}
