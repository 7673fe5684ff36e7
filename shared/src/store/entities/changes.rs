//! Reading a stream change as the entity its item stores, with the same item mapping the
//! entity's own module reads it with.

use super::audit::event_from_item;
use super::outbox::outbox_row_from_item;
use super::posts::post_from_item;
use super::users::user_from_item;
use crate::store::keys;
use crate::store::table::schema::{PARTITION_KEY, SORT_KEY};
use crate::store::table::{Change, Item, get_s};
use crate::store::{Changed, StoreError};

fn kind(item: &Item) -> Option<String> {
    get_s(item, "type").ok()
}

/// Both images of `change`, each read with `read`.
type Images<T> = (Option<Box<T>>, Option<Box<T>>);

fn both<T>(
    change: &Change,
    read: fn(&Item) -> Result<T, StoreError>,
) -> Result<Images<T>, StoreError> {
    Ok((
        change.old.as_ref().map(read).transpose()?.map(Box::new),
        change.new.as_ref().map(read).transpose()?.map(Box::new),
    ))
}

/// What `change` means to the stream's consumers.
pub fn read_change(change: &Change) -> Result<Changed, StoreError> {
    let Some(item) = change.item() else {
        return Ok(Changed::Other);
    };
    Ok(match kind(item).as_deref() {
        Some("user") => {
            let (before, after) = both(change, user_from_item)?;
            Changed::User { before, after }
        }
        Some("post") => {
            let (before, after) = both(change, post_from_item)?;
            Changed::Post { before, after }
        }
        Some("audit") if change.old.is_none() => Changed::Audited(Box::new(event_from_item(item)?)),
        Some("outbox") => match &change.new {
            Some(new) => Changed::JobWaiting(Box::new(outbox_row_from_item(new)?)),
            None => Changed::Other,
        },
        _ if change.old.is_none() => {
            match keys::active_marker_day(&get_s(item, PARTITION_KEY)?, &get_s(item, SORT_KEY)?) {
                Some(day) => Changed::BecameActive { day },
                None => Changed::Other,
            }
        }
        _ => Changed::Other,
    })
}
