//! Pagination cursors (`shared::http::{encode_cursor, decode_cursor}`): signing the next page's
//! position into a listing's answer, and checking the one a client sends back. Decoding tries
//! the set's keys in kid order until one matches, so it is measured with one key and after a
//! rotation: the old key `k1` still in the set, the cursor signed with the active `k2`, both
//! tried.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use shared::auth::KeySet;
use shared::http::{decode_cursor, encode_cursor};
use shared::store::Position;

const AUTHOR: &str = "01964a52-7c3e-7d8a-9b1f-2c4d6e8fa0b1";

fn key_set(active: &str, kids: &[&str]) -> KeySet {
    let keys = kids
        .iter()
        .map(|kid| {
            (
                kid.to_string(),
                format!("{kid}-secret-0123456789abcdef0123456789abcdef").into_bytes(),
            )
        })
        .collect::<BTreeMap<_, _>>();
    KeySet::new(active.to_owned(), keys).expect("a valid key set")
}

fn cursor(c: &mut Criterion) {
    // An author's published posts, as functions/posts names that listing.
    let listing = format!("user-posts|{AUTHOR}|published");
    let position = Position {
        phase: 0,
        sort: "0001795543200000#01964a60-1b2c-7d3e-8f4a-5b6c7d8e9f00".into(),
        id: "01964a60-1b2c-7d3e-8f4a-5b6c7d8e9f00".into(),
    };
    let single = key_set("k1", &["k1"]);
    let rotated = key_set("k2", &["k1", "k2"]);
    let cursor = encode_cursor(&single, &listing, &position);
    let rotated_cursor = encode_cursor(&rotated, &listing, &position);
    assert_ne!(cursor, rotated_cursor);
    for (keys, cursor) in [(&single, &cursor), (&rotated, &rotated_cursor)] {
        assert_eq!(
            decode_cursor(keys, &listing, cursor).ok().as_ref(),
            Some(&position)
        );
    }

    let mut group = c.benchmark_group("cursor");
    group.bench_function("encode", |b| {
        b.iter(|| encode_cursor(&single, black_box(&listing), black_box(&position)))
    });
    group.bench_function("decode/1_key", |b| {
        b.iter(|| decode_cursor(&single, black_box(&listing), black_box(&cursor)))
    });
    group.bench_function("decode/2_keys_rotated", |b| {
        b.iter(|| decode_cursor(&rotated, black_box(&listing), black_box(&rotated_cursor)))
    });
    group.finish();
}

criterion_group!(benches, cursor);
criterion_main!(benches);
