//! Access tokens a key set has verified, so a token sent again skips the signature check (an
//! EdDSA verify costs ~26 µs, eight times HS256's; measured in BENCHMARKS.md). Kept by the
//! exact token, inside the set that verified it (a reloaded set starts empty, so a key that
//! left the set takes its tokens with it), and bounded: past `MAX_VERIFIED` it starts over.
//! Only what passed the full check goes in; the caller still checks expiry on every use.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::auth::AccessClaims;

const MAX_VERIFIED: usize = 1024;

#[derive(Default)]
pub(crate) struct VerifiedTokens {
    tokens: Mutex<HashMap<String, AccessClaims>>,
}

impl VerifiedTokens {
    pub fn get(&self, token: &str) -> Option<AccessClaims> {
        self.lock().get(token).cloned()
    }

    pub fn remember(&self, token: &str, claims: &AccessClaims) {
        let mut tokens = self.lock();
        if tokens.len() >= MAX_VERIFIED {
            tokens.clear();
        }
        tokens.insert(token.to_owned(), claims.clone());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, AccessClaims>> {
        // A panic while holding it cannot leave a half-written entry: take it as it is.
        self.tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
