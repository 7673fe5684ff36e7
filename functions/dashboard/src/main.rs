#[tokio::main]
async fn main() -> Result<(), shared::BoxError> {
    shared::lambda::run(dashboard::routes()).await
}
