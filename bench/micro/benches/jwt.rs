//! Access tokens: issuing one (login, register, refresh), verifying one (every authenticated
//! request, before its session lookup), and loading the key set they are signed with (every
//! cold start, and each refetch of the secret), through `shared::auth`'s own functions.
//!
//! One case per signing algorithm, each a key-set secret as Secrets Manager hands it over: ids
//! are `jwt/issue/<ALG>`, `jwt/verify/<ALG>` and `jwt/load-keys/<ALG>`. HS256 is a secret from
//! before signing keys (HMAC keys only); EdDSA and ES256 hold that HMAC key and one active
//! signing key, as a generated set does.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use shared::auth::{KeySet, KeySetDocument, SigningAlg, issue_access_token, verify_access_token};
use shared::config::Config;
use shared::domain::{Authentication, Role};

const USER_ID: &str = "01964a52-7c3e-7d8a-9b1f-2c4d6e8fa0b1";
const SESSION_ID: &str = "01964a52-7c3e-7d8a-9b1f-3d5e7f9a1b2c";

fn now_secs() -> i64 {
    shared::clock::now_ms() / 1000
}

/// (bench id's last segment, the algorithm the set is loaded for, the secret's JSON).
fn secrets() -> Vec<(&'static str, SigningAlg, String)> {
    let mut hs256 = KeySetDocument::generate(SigningAlg::EdDSA);
    hs256.signing_keys.clear();
    hs256.active_signing_keys.clear();
    let mut cases = vec![("HS256", SigningAlg::default(), hs256.to_json())];
    for alg in SigningAlg::ALL {
        cases.push((alg.name(), alg, KeySetDocument::generate(alg).to_json()));
    }
    cases
}

fn jwt(c: &mut Criterion) {
    let config = Config::default();
    let mut group = c.benchmark_group("jwt");
    for (name, alg, secret) in secrets() {
        let keys = KeySet::from_json(&secret, alg).expect("a valid key set");
        assert_eq!(keys.signs_hs256(), name == "HS256");
        let issue = || {
            issue_access_token(
                &keys,
                &config,
                USER_ID,
                Role::User,
                SESSION_ID,
                &Authentication::password(),
                black_box(now_secs()),
            )
            .expect("a token is issued")
        };
        group.bench_function(format!("issue/{name}"), |b| b.iter(issue));
        // Tokens live 15 minutes: one issued now stays valid for the whole measurement.
        let token = issue();
        let verify = || verify_access_token(&keys, &config, black_box(&token)).expect("verifies");
        assert_eq!(verify().sub, USER_ID);
        group.bench_function(format!("verify/{name}"), |b| b.iter(verify));
        group.bench_function(format!("load-keys/{name}"), |b| {
            b.iter(|| KeySet::from_json(black_box(&secret), alg).expect("a valid key set"))
        });
    }
    group.finish();
}

criterion_group!(benches, jwt);
criterion_main!(benches);
