#[tokio::main]
async fn main() -> Result<(), shared::BoxError> {
    shared::app::serve_lambda(passkeys::routes()).await
}
