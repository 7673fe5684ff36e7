//! Emulator set-up: the same table `template.yaml` declares (from the shared schema), the
//! notification queues with their dead-letter queues, and the signing-key secret.
//!
//! `template_events`: template.yaml's API events and the `cargo lambda watch` router, generated
//! from the route list (`sync-routes`).
//!
//! `breached_filter`: the offline set of breached passwords (`breached-filter`).

pub mod breached_filter;
pub mod signing_keys;
pub mod template_events;

use aws_config::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;
use shared::BoxError;
use shared::auth::{KeySet, KeySetDocument, SigningAlg};
use shared::store::table::dynamodb;

pub const QUEUES: &[&str] = &["email-queue", "telegram-queue"];
/// Deliveries before a message goes to the dead-letter queue. The queues are made here for the
/// notification workers to come; `template.yaml` does not declare them yet.
pub const MAX_RECEIVES: u32 = 5;

pub struct Names {
    pub table: String,
    pub secret: String,
}

/// Creates what is missing; safe to run again.
pub async fn setup(aws: &SdkConfig, names: &Names) -> Result<(), BoxError> {
    create_table(aws, &names.table).await?;
    for queue in QUEUES {
        create_queue_with_dlq(aws, queue).await?;
    }
    create_secret(aws, &names.secret).await?;
    Ok(())
}

async fn create_table(aws: &SdkConfig, table: &str) -> Result<(), BoxError> {
    let client = aws_sdk_dynamodb::Client::new(aws);
    let exists = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .is_ok();
    if !exists {
        dynamodb::create_table(&client, table).await?;
    }
    Ok(())
}

/// The queue `name` and its dead-letter queue `<name>-dlq` (after `MAX_RECEIVES` receives).
pub async fn create_queue_with_dlq(aws: &SdkConfig, name: &str) -> Result<(), BoxError> {
    let client = aws_sdk_sqs::Client::new(aws);
    let dlq = client
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await?;
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(dlq.queue_url().unwrap_or_default())
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or("the dead-letter queue has no ARN")?;
    let redrive =
        format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{MAX_RECEIVES}"}}"#);
    client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .attributes(QueueAttributeName::VisibilityTimeout, "60")
        .send()
        .await?;
    Ok(())
}

/// The key-set secret `name`: created with an HMAC key and an active signing key of each
/// algorithm (so `ACCESS_TOKEN_ALG` may be either); an existing one without an active key of an
/// algorithm (a secret from before signing keys) gets one added.
async fn create_secret(aws: &SdkConfig, name: &str) -> Result<(), BoxError> {
    let client = aws_sdk_secretsmanager::Client::new(aws);
    if client
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .is_err()
    {
        let mut document = KeySetDocument::generate(SigningAlg::default());
        activate_missing(&mut document);
        client
            .create_secret()
            .name(name)
            .secret_string(document.to_json())
            .send()
            .await?;
        return Ok(());
    }
    let mut document = read_key_set(&client, name).await?;
    if !activate_missing(&mut document).is_empty() {
        write_key_set(&client, name, &document).await?;
    }
    Ok(())
}

/// Adds and activates a signing key of each algorithm that has no active one; the ids added.
fn activate_missing(document: &mut KeySetDocument) -> Vec<String> {
    let mut added = Vec::new();
    for alg in SigningAlg::ALL {
        if !document.active_signing_keys.contains_key(alg.name()) {
            let kid = document.add_signing_key(alg);
            document.activate(&kid).expect("the key was just added");
            added.push(kid);
        }
    }
    added
}

/// The key-set secret's current value.
pub async fn read_key_set(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<KeySetDocument, BoxError> {
    let text = shared::secrets::secret_string(client, secret_id).await?;
    Ok(KeySetDocument::from_json(&text)?)
}

/// Writes `document` as the secret's new current value, once it loads as a key set for every
/// algorithm it has an active key of (a value the functions would refuse is never written).
pub async fn write_key_set(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
    document: &KeySetDocument,
) -> Result<(), BoxError> {
    for alg in SigningAlg::ALL {
        if document.active_signing_keys.contains_key(alg.name())
            || document.active_signing_keys.is_empty()
        {
            KeySet::from_document(document, alg)?;
        }
    }
    client
        .put_secret_value()
        .secret_id(secret_id)
        .secret_string(document.to_json())
        .send()
        .await?;
    Ok(())
}
