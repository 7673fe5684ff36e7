//! argon2id password hashing, as register / password change (`hash`) and login (`verify`) run
//! it: `shared::auth::PasswordHasher` built as `App` builds it, from the default `Config`, with
//! the parameters the hasher pins (argon2id, m = 19456 KiB, t = 2, p = 1).
//!
//! Each call goes through the hasher's worker threads, as in production; the hop costs
//! microseconds against a hash's tens of milliseconds.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use shared::auth::PasswordHasher;
use shared::config::Config;
use shared::domain::{Email, EnteredPassword, Password};

const PASSWORD: &str = "correct horse battery staple";

fn password(c: &mut Criterion) {
    let config = Config::default();
    let hasher = PasswordHasher::per_core(config.password_hash_queue);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let email = Email::parse("ada@example.com").expect("a valid e-mail address");
    let password = Password::parse(PASSWORD.into(), Some(&email)).expect("a valid password");

    let stored = runtime
        .block_on(hasher.hash(&password))
        .expect("the password hashes");
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1,data=bmZrYw$"),
        "unexpected parameters: {stored}"
    );

    let mut group = c.benchmark_group("argon2id");
    // Tens of milliseconds a hash: ten samples are plenty.
    group.sample_size(10);
    group.bench_function("hash", |b| {
        b.iter(|| {
            runtime
                .block_on(hasher.hash(black_box(&password)))
                .expect("the password hashes")
        })
    });
    let entered = EnteredPassword::new(PASSWORD);
    group.bench_function("verify", |b| {
        b.iter(|| {
            let ok = runtime
                .block_on(hasher.verify(black_box(&entered), Some(black_box(&stored))))
                .expect("the hasher answers");
            assert!(ok);
        })
    });
    group.finish();
}

criterion_group!(benches, password);
criterion_main!(benches);
