//! Access tokens: issuing one (login, register, refresh) and verifying one (every authenticated
//! request, before its session lookup), through `shared::auth`'s own functions.
//!
//! Each signing algorithm is one `Algorithm` case; ids are `jwt/issue/<ALG>` and
//! `jwt/verify/<ALG>`. Today the tokens are HS256 only; another algorithm is one more entry in
//! `algorithms()` whose `issue`/`verify` call its code.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use shared::auth::{AccessClaims, KeySet, issue_access_token, verify_access_token};
use shared::config::Config;
use shared::domain::{Authentication, Role};

const USER_ID: &str = "01964a52-7c3e-7d8a-9b1f-2c4d6e8fa0b1";
const SESSION_ID: &str = "01964a52-7c3e-7d8a-9b1f-3d5e7f9a1b2c";

fn now_secs() -> i64 {
    shared::clock::now_ms() / 1000
}

/// One way of signing access tokens.
trait Algorithm {
    /// The bench id's last segment (`HS256`).
    fn name(&self) -> &'static str;
    fn issue(&self, now_secs: i64) -> String;
    fn verify(&self, token: &str) -> AccessClaims;
}

/// HMAC-SHA256 with the deployment's key set, as `Sessions` and `authenticate` use it.
struct Hs256 {
    keys: KeySet,
    config: Config,
}

impl Hs256 {
    fn new() -> Self {
        Self {
            // A random 48-byte secret, base64url: what a local run generates; a deployed key set
            // is a Secrets Manager string of the same kind.
            keys: KeySet::generate(),
            config: Config::default(),
        }
    }
}

impl Algorithm for Hs256 {
    fn name(&self) -> &'static str {
        "HS256"
    }

    fn issue(&self, now_secs: i64) -> String {
        issue_access_token(
            &self.keys,
            &self.config,
            USER_ID,
            Role::User,
            SESSION_ID,
            &Authentication::password(),
            now_secs,
        )
        .expect("an HS256 token is issued")
    }

    fn verify(&self, token: &str) -> AccessClaims {
        verify_access_token(&self.keys, &self.config, token).expect("the token verifies")
    }
}

fn algorithms() -> Vec<Box<dyn Algorithm>> {
    vec![Box::new(Hs256::new())]
}

fn jwt(c: &mut Criterion) {
    let algorithms = algorithms();
    let mut group = c.benchmark_group("jwt");
    for algorithm in &algorithms {
        let name = algorithm.name();
        group.bench_function(format!("issue/{name}"), |b| {
            b.iter(|| algorithm.issue(black_box(now_secs())))
        });
        // Tokens live 15 minutes: one issued now stays valid for the whole measurement.
        let token = algorithm.issue(now_secs());
        assert_eq!(algorithm.verify(&token).sub, USER_ID);
        group.bench_function(format!("verify/{name}"), |b| {
            b.iter(|| algorithm.verify(black_box(&token)))
        });
    }
    group.finish();
}

criterion_group!(benches, jwt);
criterion_main!(benches);
