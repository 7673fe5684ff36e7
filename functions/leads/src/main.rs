#[tokio::main]
async fn main() -> Result<(), shared::BoxError> {
    shared::lambda::run(leads::routes()).await
}
