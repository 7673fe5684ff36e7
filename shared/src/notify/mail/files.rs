//! Delivery into a directory of `.eml` files, for local runs without a relay.

use std::path::Path;

use time::OffsetDateTime;

use super::OutgoingMail;
use super::message::Built;
use crate::notify::DeliveryError;

pub async fn write(dir: &Path, built: Built, mail: &OutgoingMail) -> Result<(), DeliveryError> {
    let path = dir.join(format!(
        "{}-{}.eml",
        utc_stamp(OffsetDateTime::now_utc()),
        built.id.simple()
    ));
    let contents = built.message.formatted();
    let (dir, target) = (dir.to_owned(), path.clone());
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(&target, contents)
    })
    .await
    .map_err(|error| DeliveryError::Transient(format!("writing the mail file: {error}")))?
    .map_err(|error| DeliveryError::Transient(format!("writing {}: {error}", path.display())))?;
    tracing::info!(
        path = %path.display(),
        to = %mail.to,
        subject = %mail.subject,
        "mail written to a file"
    );
    Ok(())
}

/// Sorts by name in time order and has no characters a file system objects to.
fn utc_stamp(now: OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_compact_utc() {
        let instant = OffsetDateTime::from_unix_timestamp(1_767_225_599).unwrap();
        assert_eq!(utc_stamp(instant), "20251231T235959Z");
    }
}
