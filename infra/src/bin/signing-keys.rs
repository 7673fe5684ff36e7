//! `cargo run -p infra --bin signing-keys -- [--secret-id ID] <command>`: the access-token
//! signing keys in the key-set secret (`--secret-id`, or `AUTH_KEYS_SECRET_ID`), through your AWS
//! credentials (or the emulator's `AWS_ENDPOINT_URL`). A rotation is `new`, `activate`, `remove`,
//! each at least the wait README gives after the one before ("Rotating the keys").
//!
//!   list                          every signing key, its algorithm, and which are active
//!   new [--alg EdDSA|ES256]       adds a key, not active yet (published, verifying); prints its id
//!   new --activate [--alg ...]    adds a key and makes it active at once (a new deployment, or
//!                                 the first key of one upgrading from HS256)
//!   activate <kid>                makes that key the one that signs its algorithm's tokens
//!   deactivate <alg>              no key of that algorithm signs (once every instance has
//!                                 moved to another `ACCESS_TOKEN_ALG`)
//!   remove <kid>                  removes a key that is no longer active
//!   print [--alg EdDSA|ES256]     prints a new private JWK and touches no secret

use infra::signing_keys::{Command, parse, print, run};

#[tokio::main]
async fn main() -> Result<(), shared::BoxError> {
    let (command, secret_id) = parse(
        std::env::args().skip(1),
        std::env::var("AUTH_KEYS_SECRET_ID").ok(),
    )?;
    if let Command::Print(alg) = command {
        println!("{}", print(alg));
        return Ok(());
    }
    let secret_id =
        secret_id.ok_or("name the key-set secret: --secret-id ID or AUTH_KEYS_SECRET_ID")?;
    let aws = aws_config::load_from_env().await;
    let client = aws_sdk_secretsmanager::Client::new(&aws);
    let printed = run(&client, &secret_id, command).await?;
    if !printed.is_empty() {
        println!("{printed}");
    }
    Ok(())
}
