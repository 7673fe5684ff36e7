#[tokio::main]
async fn main() -> Result<(), shared::BoxError> {
    shared::app::serve_lambda(leads::routes()).await
}
