//! The breached-password check's local parts (`shared::auth::breached`): a lookup in the
//! built-in list (SHA-1, lower-casing and the bucket search), a lookup in a file set of a
//! million hashes read in place (two positioned reads from the page cache), and reading a
//! padded range answer (~900 lines) for one suffix.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use shared::auth::breached::{COMMON_PASSWORDS, HashSet, count_in, hash_set, sha1};

/// The keys of the SHA-1 hashes of `count` made-up passwords, as a real set holds them.
fn keys(count: usize) -> Vec<u64> {
    (0..count)
        .map(|i| hash_set::key_of(&sha1(format!("password {i}").as_bytes())))
        .collect()
}

fn padded_answer(suffix: &str) -> String {
    let mut lines: Vec<String> = (0..900)
        .map(|i| {
            let hex: String = sha1(format!("line {i}").as_bytes())
                .iter()
                .map(|byte| format!("{byte:02X}"))
                .collect();
            format!("{}:{}", &hex[5..], i % 3)
        })
        .collect();
    lines.push(format!("{suffix}:0"));
    lines.sort();
    lines.join("\r\n")
}

fn breached(c: &mut Criterion) {
    let built_in = HashSet::from_static(COMMON_PASSWORDS).expect("the built-in list");
    let dir = std::env::temp_dir().join(format!("breached-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("million.set");
    let mut members = keys(1_000_000);
    let probe = members[123_456];
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    hash_set::write(&mut members, 3, false, &mut file).unwrap();
    drop(file);
    let on_disk = HashSet::from_file(&path).unwrap();
    assert!(on_disk.contains(probe).unwrap());
    let answer = padded_answer("1E4C9B93F3F0682250B6CF8331B7EE68FD8");

    let mut group = c.benchmark_group("breached");
    group.bench_function("built_in/clean_password", |b| {
        b.iter(|| built_in.contains_password(black_box("correct horse battery")))
    });
    group.bench_function("file_1m/member", |b| {
        b.iter(|| on_disk.contains(black_box(probe)))
    });
    group.bench_function("range_answer/900_lines", |b| {
        b.iter(|| {
            count_in(
                black_box(answer.as_bytes()),
                "1E4C9B93F3F0682250B6CF8331B7EE68FD8",
            )
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, breached);
criterion_main!(benches);
