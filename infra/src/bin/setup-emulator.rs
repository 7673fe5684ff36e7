//! `cargo run -p infra --bin setup-emulator` with `AWS_ENDPOINT_URL` pointing at a moto server.

use infra::{Names, setup};

#[tokio::main]
async fn main() -> Result<(), shared::BoxError> {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        return Err("set AWS_ENDPOINT_URL to the emulator (e.g. http://127.0.0.1:5000)".into());
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
