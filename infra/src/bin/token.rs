//! `cargo run -p infra --bin token -- <email> <password>`: signs in on the configured store (the
//! emulator, as `cargo lambda watch` uses it) and prints an access token, for the sample events
//! that need one (`{{accessToken}}` in `events/*.json`).

use shared::App;
use shared::auth::start_session;
use shared::domain::Email;

#[tokio::main]
async fn main() -> Result<(), shared::BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [email, password] = args.as_slice() else {
        return Err("usage: token <email> <password>".into());
    };
    let app = App::from_env().await?;
    let email = Email::parse(email).map_err(|e| format!("email {}", e.message))?;
    let user = app
        .stores
        .users
        .find_user_by_email(&email)
        .await?
        .ok_or("no active user has this e-mail: register first")?;
    if !app
        .hasher
        .verify(password, Some(&user.password_hash))
        .await?
    {
        return Err("wrong password".into());
    }
    let tokens = start_session(&app, &user).await?;
    println!("{}", tokens.access_token);
    Ok(())
}
