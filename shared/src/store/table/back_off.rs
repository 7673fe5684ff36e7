//! Waiting before another try: used by the DynamoDB engine between transient failures and by
//! entity stores between rounds of a write that keeps losing races.

use std::time::Duration;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

const BASE_DELAY_MS: u64 = 20;

/// A pause of about `BASE_DELAY_MS * 2^attempt`, jittered so racing writers spread out.
pub async fn back_off(attempt: u32) {
    let ceiling = BASE_DELAY_MS << attempt.min(6);
    let mut byte = [0u8; 1];
    let _ = SystemRandom::new().fill(&mut byte);
    let delay = ceiling / 2 + ceiling * u64::from(byte[0]) / 512;
    tokio::time::sleep(Duration::from_millis(delay)).await;
}
