//! `cargo run -p infra --bin token -- <email> <password>`: signs in on the configured store (the
//! emulator, as `cargo lambda watch` uses it) and prints an access token, for the sample events
//! that need one (`{{accessToken}}` in `events/*.json`). DynamoDB unless `STORE` says otherwise,
//! like the functions under `cargo lambda watch`.

use shared::App;
use shared::config::{Config, StoreKind};
use shared::domain::{Authentication, Email, EnteredPassword};
use shared::store::SessionOrigin;

#[tokio::main]
async fn main() -> Result<(), shared::BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [email, password] = args.as_slice() else {
        return Err("usage: token <email> <password>".into());
    };
    let mut config = Config::from_env()?;
    if std::env::var_os("STORE").is_none() {
        config.store = StoreKind::DynamoDb;
    }
    let app = App::from_config(config).await?;
    let email = Email::parse(email).map_err(|e| format!("email {}", e.message))?;
    let user = app
        .stores
        .users
        .find_user_by_email(&email)
        .await?
        .ok_or("no active user has this e-mail: register first")?;
    if !app
        .hasher
        .verify(&EnteredPassword::new(password), Some(&user.password_hash))
        .await?
    {
        return Err("wrong password".into());
    }
    let tokens = app
        .sessions()
        .start(&user, Authentication::password(), SessionOrigin::default())
        .await?;
    println!("{}", tokens.access_token);
    Ok(())
}
