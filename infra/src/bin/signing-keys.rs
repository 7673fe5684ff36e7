//! `cargo run -p infra --bin signing-keys -- <command>`: the access-token signing keys in the
//! key-set secret (`--secret-id ID`, or `AUTH_KEYS_SECRET_ID`), through your AWS credentials (or
//! the emulator's `AWS_ENDPOINT_URL`). A rotation, each step at least the wait README gives
//! after the one before: `new`, `activate`, `remove` (see README, "Rotating the signing keys").
//!
//!   list                          every signing key, its algorithm, and which are active
//!   new [--alg EdDSA|ES256]       adds a key, not active yet (published, verifying); prints its id
//!   new --activate [--alg ...]    adds a key and makes it active at once (a new deployment, or
//!                                 the first key of one upgrading from HS256)
//!   activate <kid>                makes that key the one that signs its algorithm's tokens
//!   remove <kid>                  removes a key that is no longer active
//!   print [--alg EdDSA|ES256]     prints a new private JWK and touches no secret

use infra::{read_key_set, write_key_set};
use shared::auth::{KeySetDocument, SigningAlg};

const USAGE: &str = "usage: signing-keys [--secret-id ID] \
    (list | new [--alg EdDSA|ES256] [--activate] | activate KID | remove KID | print [--alg EdDSA|ES256])";

struct Args {
    secret_id: Option<String>,
    alg: SigningAlg,
    activate: bool,
    rest: Vec<String>,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        secret_id: std::env::var("AUTH_KEYS_SECRET_ID").ok(),
        alg: SigningAlg::default(),
        activate: false,
        rest: Vec::new(),
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--secret-id" => parsed.secret_id = Some(args.next().ok_or(USAGE)?),
            "--alg" => {
                let name = args.next().ok_or(USAGE)?;
                parsed.alg = SigningAlg::parse(&name).ok_or("--alg must be EdDSA or ES256")?;
            }
            "--activate" => parsed.activate = true,
            _ => parsed.rest.push(arg),
        }
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> Result<(), shared::BoxError> {
    let args = parse(std::env::args().skip(1))?;
    let command: Vec<&str> = args.rest.iter().map(String::as_str).collect();
    if command == ["print"] {
        let mut document = KeySetDocument::generate(args.alg);
        println!(
            "{}",
            serde_json::to_string_pretty(&document.signing_keys.remove(0))?
        );
        return Ok(());
    }
    let secret_id = args
        .secret_id
        .ok_or("name the key-set secret: --secret-id ID or AUTH_KEYS_SECRET_ID")?;
    let aws = aws_config::load_from_env().await;
    let client = aws_sdk_secretsmanager::Client::new(&aws);
    let mut document = read_key_set(&client, &secret_id).await?;
    match command.as_slice() {
        ["list"] => {
            for key in &document.signing_keys {
                let active = document.active_signing_keys.get(&key.alg) == Some(&key.kid);
                let state = if active { "active" } else { "verifies only" };
                println!("{}\t{}\t{state}", key.kid, key.alg);
            }
            return Ok(());
        }
        ["new"] => {
            let kid = document.add_signing_key(args.alg);
            if args.activate {
                document.activate(&kid)?;
            }
            write_key_set(&client, &secret_id, &document).await?;
            println!("{kid}");
        }
        ["activate", kid] => {
            document.activate(kid)?;
            write_key_set(&client, &secret_id, &document).await?;
        }
        ["remove", kid] => {
            document.remove(kid)?;
            write_key_set(&client, &secret_id, &document).await?;
        }
        _ => return Err(USAGE.into()),
    }
    Ok(())
}
