//! Turns an `OutgoingMail` into an RFC 5322 message.

use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, Message};
use uuid::Uuid;

use super::OutgoingMail;
use crate::notify::DeliveryError;

/// A message ready for any transport, with the id its Message-ID and file name share.
pub struct Built {
    pub message: Message,
    pub id: Uuid,
}

pub fn build(from: &Mailbox, mail: &OutgoingMail) -> Result<Built, DeliveryError> {
    // A bare address, parsed whole: a mailbox parse would ignore anything after the first one.
    let to: Address = mail
        .to
        .parse()
        .map_err(|error| DeliveryError::Permanent(format!("invalid recipient address: {error}")))?;
    let id = Uuid::new_v4();
    let message = Message::builder()
        // Relays and spam filters expect one; the sending domain keeps it globally unique.
        .message_id(Some(format!("<{}@{}>", id.simple(), from.email.domain())))
        .from(from.clone())
        .to(Mailbox::new(None, to))
        .subject(&mail.subject)
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|error| DeliveryError::Permanent(format!("message not built: {error}")))?;
    Ok(Built { message, id })
}
