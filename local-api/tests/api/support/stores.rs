//! `local-api` on either store: the embedded one, or DynamoDB Local and moto (a fresh table,
//! key secret and queues each time), with the same flows expected of both.

use std::path::Path;

use super::Server;

#[derive(Clone, Copy, Debug)]
pub enum Store {
    Sqlite,
    DynamoDb,
}

async fn queue_url(aws: &aws_config::SdkConfig, name: &str) -> String {
    infra::create_queue_with_dlq(aws, name).await.unwrap();
    aws_sdk_sqs::Client::new(aws)
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

/// The variables that put `local-api` on a table, key secret and queues of its own in the
/// emulators (created here).
pub async fn emulated_env() -> Vec<(String, String)> {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run scripts/test, which starts DynamoDB Local"
    );
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let names = infra::Names {
        table: format!("emulated-{suffix}"),
        secret: format!("emulated-keys-{suffix}"),
    };
    let aws = aws_config::load_from_env().await;
    infra::setup(&aws, &names).await.unwrap();
    let email = queue_url(&aws, &format!("email-{suffix}")).await;
    let telegram = queue_url(&aws, &format!("telegram-{suffix}")).await;
    [
        ("STORE", "dynamodb"),
        ("TABLE_NAME", &names.table),
        ("AUTH_KEYS_SECRET_ID", &names.secret),
        ("EMAIL_QUEUE_URL", &email),
        ("TELEGRAM_QUEUE_URL", &telegram),
        ("LOCAL_METRICS", "off"),
    ]
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .to_vec()
}

/// `local-api` on `store` with `data` as its `DATA_DIR`, on a free port of `localhost` that
/// `APP_BASE_URL` names, so the links it mails open its pages as they are.
pub async fn serve_on(store: Store, data: &Path, extra: &[(&str, &str)]) -> Server {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port().to_string()
    };
    let app_base_url = format!("http://localhost:{port}");
    let mut env = match store {
        Store::Sqlite => Vec::new(),
        Store::DynamoDb => emulated_env().await,
    };
    env.extend([
        ("PORT".to_owned(), port),
        ("APP_BASE_URL".to_owned(), app_base_url),
    ]);
    env.extend(
        extra
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    Server::start(data, &env)
}

/// Each test case `name(store)` runs twice: on the embedded store and on the emulators.
#[macro_export]
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case($crate::support::stores::Store::Sqlite).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case($crate::support::stores::Store::DynamoDb).await;
                }
            )*
        }
    };
}
