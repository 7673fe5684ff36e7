#[tokio::main]
async fn main() -> Result<(), shared::app::BoxError> {
    shared::lambda::run(posts::handle).await
}
