#[tokio::main]
async fn main() -> Result<(), shared::BoxError> {
    shared::lambda::run(posts::routes()).await
}
