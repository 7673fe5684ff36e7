//! `cargo run -p infra --bin setup-emulator` with `AWS_ENDPOINT_URL_DYNAMODB` pointing at
//! DynamoDB Local and `AWS_ENDPOINT_URL` at moto (SQS, Secrets Manager).

use infra::{Names, setup};

#[tokio::main]
async fn main() -> Result<(), shared::BoxError> {
    for (variable, example) in [
        (
            "AWS_ENDPOINT_URL_DYNAMODB",
            "DynamoDB Local, e.g. http://127.0.0.1:8000",
        ),
        ("AWS_ENDPOINT_URL", "moto, e.g. http://127.0.0.1:5055"),
    ] {
        if std::env::var_os(variable).is_none() {
            return Err(format!("set {variable} to the emulator ({example})").into());
        }
    }
    let names = Names {
        table: std::env::var("TABLE_NAME").unwrap_or_else(|_| "app-main".into()),
        secret: std::env::var("AUTH_KEYS_SECRET_ID").unwrap_or_else(|_| "app-auth-keys".into()),
    };
    let aws = aws_config::load_from_env().await;
    setup(&aws, &names).await?;
    println!(
        "ready: table {}, queues {:?} (+ DLQs), secret {}",
        names.table,
        infra::QUEUES,
        names.secret
    );
    Ok(())
}
