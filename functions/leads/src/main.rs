#[tokio::main]
async fn main() -> Result<(), shared::BoxError> {
    // Phone-number metadata takes tens of milliseconds to load: it loads while init waits on
    // the network, not in the first request.
    std::thread::spawn(leads::load_phone_metadata);
    shared::app::serve_lambda(leads::routes()).await
}
