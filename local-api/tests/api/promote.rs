//! `local-api promote <email> <role>` bootstraps an admin on whichever store is configured.

use crate::support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use support::Server;

fn promote(data_dir: &Path, env: &[(&str, &str)], email: &str, role: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_local-api"))
        .args(["promote", email, role])
        .env("DATA_DIR", data_dir)
        .env_remove("STORE")
        .envs(env.iter().copied())
        .output()
        .expect("local-api runs")
}

async fn role_of(server: &Server, access_token: &str) -> String {
    let me: Value = server
        .get_authed("/api/users/me", access_token)
        .await
        .json()
        .await
        .unwrap();
    me["role"].as_str().unwrap().to_owned()
}

async fn promotes_on(env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), env);
    let body = server
        .register("root@example.com", "correct horse battery")
        .await;
    let access = body["accessToken"].as_str().unwrap();
    assert_eq!(role_of(&server, access).await, "user");

    let output = promote(dir.path(), env, "ROOT@example.com", "admin");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("is now admin"));
    // Takes effect on the next request, with the same access token.
    assert_eq!(role_of(&server, access).await, "admin");

    let unknown = promote(dir.path(), env, "nobody@example.com", "admin");
    assert!(!unknown.status.success());
    let bad_role = promote(dir.path(), env, "root@example.com", "superuser");
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("must be one of"));
}

#[tokio::test]
async fn promotes_on_the_embedded_store() {
    promotes_on(&[]).await;
}

#[tokio::test]
async fn promotes_on_dynamodb() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run scripts/test, which starts DynamoDB Local"
    );
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let names = infra::Names {
        table: format!("promote-{suffix}"),
        secret: format!("promote-keys-{suffix}"),
    };
    infra::setup(&aws_config::load_from_env().await, &names)
        .await
        .unwrap();
    promotes_on(&[
        ("STORE", "dynamodb"),
        ("TABLE_NAME", &names.table),
        ("AUTH_KEYS_SECRET_ID", &names.secret),
    ])
    .await;
}
