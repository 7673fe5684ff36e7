#[tokio::main]
async fn main() -> Result<(), shared::BoxError> {
    shared::lambda::run(register::routes()).await
}
