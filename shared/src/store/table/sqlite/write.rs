//! The write path: every write, single or in a transaction, as one `BEGIN IMMEDIATE`
//! transaction on the writer connection, with its changes logged in the same transaction.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::super::{Action, Condition, Item, Key, TableError, Update};
use super::validate::{self, Breach};
use super::{changes, codec, eval, schema, sql_error};

/// An action's item before and after it ran (`None`: no item).
pub struct Outcome {
    pub before: Option<Item>,
    pub after: Option<Item>,
}

/// The write path: lock the file for writing, read every item the actions touch, check every
/// condition, work out and check the items the actions leave, and write them only if nothing
/// failed. Which failure a request reports follows DynamoDB (each case checked on DynamoDB
/// Local), in this order:
/// 1. a breach of the whole request (`Breach::Request`: a number added to a non-number, an
///    empty or oversized index key, or one of a type no key takes), or an update of the table
///    key — found only on actions whose own condition holds;
/// 2. the failed conditions, all of them;
/// 3. a breach of one action (`Breach::Action`: an index key that is a number, an updated item
///    grown too large), which a put's own failed condition does not hide.
pub fn commit(conn: &mut Connection, actions: &[Action]) -> Result<Vec<Outcome>, TableError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_error)?;
    let mut failed = Vec::new();
    let (mut request, mut action_breach) = (None, None);
    let mut breach = |b: Breach| {
        let (first, e) = match b {
            Breach::Request(e) => (&mut request, e),
            Breach::Action(e) => (&mut action_breach, e),
        };
        first.get_or_insert(e);
    };
    let mut outcomes = Vec::with_capacity(actions.len());
    for (index, action) in actions.iter().enumerate() {
        let key = action.key()?;
        let before = load(&tx, &key)?;
        let holds = |condition: Option<&Condition>| {
            condition.is_none_or(|c| eval::matches(c, before.as_ref()))
        };
        let after = match action {
            Action::Put(put) => match validate::index_keys(&put.item) {
                Err(b) => {
                    breach(b);
                    before.clone()
                }
                Ok(()) if !holds(put.condition.as_ref()) => {
                    failed.push(index);
                    before.clone()
                }
                Ok(()) => Some(put.item.clone()),
            },
            Action::Update(update) if !holds(update.condition.as_ref()) => {
                failed.push(index);
                before.clone()
            }
            Action::Update(update) => match updated(&key, before.as_ref(), update) {
                Ok(item) => Some(item),
                Err(b) => {
                    breach(b);
                    before.clone()
                }
            },
            Action::Delete(delete) if !holds(delete.condition.as_ref()) => {
                failed.push(index);
                before.clone()
            }
            Action::Delete(_) => None,
            Action::Check(check) => {
                if !holds(Some(&check.condition)) {
                    failed.push(index);
                }
                before.clone()
            }
        };
        outcomes.push(Outcome { before, after });
    }
    if let Some(e) = request {
        return Err(e);
    }
    if !failed.is_empty() {
        return Err(TableError::ConditionFailed(failed));
    }
    if let Some(e) = action_breach {
        return Err(e);
    }
    let at = crate::clock::now_ms();
    for (action, outcome) in actions.iter().zip(&outcomes) {
        match (action, &outcome.after) {
            (Action::Check(_), _) => continue,
            (_, Some(item)) => store(&tx, item)?,
            (_, None) => remove(&tx, &action.key()?)?,
        }
        changes::log(&tx, outcome.before.as_ref(), outcome.after.as_ref(), at)?;
    }
    tx.commit().map_err(sql_error)?;
    Ok(outcomes)
}

/// The item an update whose condition holds leaves, or how it breaks the rules.
fn updated(key: &Key, before: Option<&Item>, update: &Update) -> Result<Item, Breach> {
    validate::key_unchanged(update).map_err(Breach::Request)?;
    let item = eval::apply(key, before, &update.actions).map_err(Breach::Request)?;
    validate::index_keys(&item)?;
    validate::size(&item).map_err(Breach::Action)?;
    Ok(item)
}

/// The stored item with this key.
pub fn load(conn: &Connection, key: &Key) -> Result<Option<Item>, TableError> {
    let text: Option<String> = conn
        .prepare_cached("SELECT item FROM items WHERE pk = ?1 AND sk = ?2")
        .and_then(|mut statement| {
            statement
                .query_row(params![key.pk, key.sk], |row| row.get(0))
                .optional()
        })
        .map_err(sql_error)?;
    text.as_deref().map(codec::decode).transpose()
}

fn store(conn: &Connection, item: &Item) -> Result<(), TableError> {
    let key = Key::of(item)?;
    let [(g1p, g1s), (g2p, g2s), (g3p, g3s)] = schema::index_keys(item);
    conn.prepare_cached(
        "INSERT INTO items (pk, sk, gsi1pk, gsi1sk, gsi2pk, gsi2sk, gsi3pk, gsi3sk, ttl, item)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (pk, sk) DO UPDATE SET
             gsi1pk = excluded.gsi1pk, gsi1sk = excluded.gsi1sk,
             gsi2pk = excluded.gsi2pk, gsi2sk = excluded.gsi2sk,
             gsi3pk = excluded.gsi3pk, gsi3sk = excluded.gsi3sk,
             ttl = excluded.ttl, item = excluded.item",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            key.pk,
            key.sk,
            g1p,
            g1s,
            g2p,
            g2s,
            g3p,
            g3s,
            schema::ttl(item),
            codec::encode(item),
        ])
    })
    .map_err(sql_error)?;
    Ok(())
}

fn remove(conn: &Connection, key: &Key) -> Result<(), TableError> {
    conn.prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2")
        .and_then(|mut statement| statement.execute(params![key.pk, key.sk]))
        .map_err(sql_error)?;
    Ok(())
}
