//! The commands of `signing-keys` (the access-token signing keys in the key-set secret), apart
//! from the binary so tests run them against the emulator.

use aws_sdk_secretsmanager::Client;
use shared::BoxError;
use shared::auth::{KeySetDocument, SigningAlg};

use crate::{read_key_set, write_key_set};

pub const USAGE: &str = "usage: signing-keys [--secret-id ID] (list | new [--alg EdDSA|ES256] \
    [--activate] | activate KID | deactivate ALG | remove KID | print [--alg EdDSA|ES256])";

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    List,
    New { alg: SigningAlg, activate: bool },
    Activate(String),
    Deactivate(SigningAlg),
    Remove(String),
    Print(SigningAlg),
}

/// The command and the secret id (`--secret-id`, else `default_secret_id`) of the arguments.
pub fn parse(
    args: impl IntoIterator<Item = String>,
    default_secret_id: Option<String>,
) -> Result<(Command, Option<String>), String> {
    let mut secret_id = default_secret_id;
    let mut alg = SigningAlg::default();
    let mut activate = false;
    let mut words = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--secret-id" => secret_id = Some(args.next().ok_or(USAGE)?),
            "--alg" => alg = parse_alg(&args.next().ok_or(USAGE)?)?,
            "--activate" => activate = true,
            _ => words.push(arg),
        }
    }
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let command = match words.as_slice() {
        ["list"] => Command::List,
        ["new"] => Command::New { alg, activate },
        ["activate", kid] => Command::Activate((*kid).to_owned()),
        ["deactivate", name] => Command::Deactivate(parse_alg(name)?),
        ["remove", kid] => Command::Remove((*kid).to_owned()),
        ["print"] => Command::Print(alg),
        _ => return Err(USAGE.into()),
    };
    Ok((command, secret_id))
}

fn parse_alg(name: &str) -> Result<SigningAlg, String> {
    SigningAlg::parse(name).ok_or_else(|| format!("`{name}` is not EdDSA or ES256"))
}

/// A new private JWK, touching no secret (`print`).
pub fn print(alg: SigningAlg) -> String {
    let mut document = KeySetDocument::generate(alg);
    serde_json::to_string_pretty(&document.signing_keys.remove(0)).unwrap_or_default()
}

/// Runs `command` on the secret; what to print.
pub async fn run(client: &Client, secret_id: &str, command: Command) -> Result<String, BoxError> {
    let mut document = read_key_set(client, secret_id).await?;
    let printed = match command {
        Command::Print(alg) => return Ok(print(alg)),
        Command::List => {
            let lines: Vec<String> = document
                .signing_keys
                .iter()
                .map(|key| {
                    let active = document.active_signing_keys.get(&key.alg) == Some(&key.kid);
                    let state = if active { "active" } else { "verifies only" };
                    format!("{}\t{}\t{state}", key.kid, key.alg)
                })
                .collect();
            return Ok(lines.join("\n"));
        }
        Command::New { alg, activate } => {
            let kid = document.add_signing_key(alg);
            if activate {
                document.activate(&kid)?;
            }
            kid
        }
        Command::Activate(kid) => {
            document.activate(&kid)?;
            String::new()
        }
        Command::Deactivate(alg) => {
            document.deactivate(alg)?;
            String::new()
        }
        Command::Remove(kid) => {
            document.remove(&kid)?;
            String::new()
        }
    };
    write_key_set(client, secret_id, &document).await?;
    Ok(printed)
}
