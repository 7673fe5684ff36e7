//! Have I Been Pwned's Pwned Passwords range API, by k-anonymity: only the first five hex
//! characters of the password's SHA-1 leave; the answer lists every breached hash with that
//! prefix (its other 35 characters and how often it was seen), padded with made-up entries
//! seen 0 times so its length says nothing either.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};

use crate::BoxError;
use crate::https_client::{HttpsClient, https_client};

/// A padded answer is ~800–1,000 lines of 40 bytes; anything much longer is not an answer.
const MAX_ANSWER_BYTES: usize = 512 * 1024;
const USER_AGENT: &str = "serverless-backend-breached-password-check";

pub struct RangeApi {
    base: String,
    timeout: Duration,
    /// Built on the first call (reading the system's roots costs a few milliseconds), then
    /// kept with its connections.
    client: OnceLock<HttpsClient>,
}

impl RangeApi {
    pub fn new(base: &str, timeout: Duration) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            timeout,
            client: OnceLock::new(),
        }
    }

    /// How many times the password with this SHA-1 was seen in breaches (0: never).
    pub async fn times_seen(&self, sha1: &[u8; 20]) -> Result<u64, BoxError> {
        let hex = upper_hex(sha1);
        let (prefix, suffix) = hex.split_at(5);
        let answer = tokio::time::timeout(self.timeout, self.fetch(prefix))
            .await
            .map_err(|_| format!("no answer within {} ms", self.timeout.as_millis()))??;
        count_in(&answer, suffix)
    }

    async fn fetch(&self, prefix: &str) -> Result<Bytes, BoxError> {
        let client = match self.client.get() {
            Some(client) => client,
            None => {
                let client = https_client()
                    .map_err(|error| format!("the system's root certificates: {error}"))?;
                self.client.get_or_init(|| client)
            }
        };
        let request = || {
            Request::get(format!("{}/range/{prefix}", self.base))
                .header("add-padding", "true")
                .header(header::USER_AGENT, USER_AGENT)
                .body(Full::new(Bytes::new()))
        };
        let response = match client.request(request()?).await {
            Ok(response) => response,
            // A kept connection the server had closed (while the sandbox was frozen, say): the
            // request is a GET, so once more on a new connection, within the same time budget.
            Err(error) if !error.is_connect() => client.request(request()?).await?,
            Err(error) => return Err(error.into()),
        };
        let status = response.status();
        if status != StatusCode::OK {
            return Err(format!("the range API answered {status}").into());
        }
        let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await?;
        Ok(body.to_bytes())
    }
}

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}

/// The count the answer gives `suffix` (0 when it is absent, or present as padding). Every
/// line must be `<35 hex>:<count>`: an answer that is not one (a proxy's page, a truncated
/// body) is an error, never "not breached".
pub fn count_in(answer: &[u8], suffix: &str) -> Result<u64, BoxError> {
    let text = std::str::from_utf8(answer).map_err(|_| "the range answer is not text")?;
    let mut lines = 0usize;
    let mut count = 0;
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        lines += 1;
        let malformed = || format!("the range answer has a malformed line {lines}");
        let (hash, times) = line.split_once(':').ok_or_else(malformed)?;
        let times: u64 = times.trim().parse().map_err(|_| malformed())?;
        if hash.len() != 35 || !hash.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(malformed().into());
        }
        if hash.eq_ignore_ascii_case(suffix) {
            count = count.max(times);
        }
    }
    if lines == 0 {
        return Err("the range answer is empty".into());
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUFFIX: &str = "1E4C9B93F3F0682250B6CF8331B7EE68FD8";

    #[test]
    fn finds_the_count_of_its_suffix() {
        let answer = format!("0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n{SUFFIX}:3861493\r\n");
        assert_eq!(count_in(answer.as_bytes(), SUFFIX).unwrap(), 3_861_493);
        let lower = answer.to_lowercase();
        assert_eq!(count_in(lower.as_bytes(), SUFFIX).unwrap(), 3_861_493);
        let other = "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n";
        assert_eq!(count_in(other.as_bytes(), SUFFIX).unwrap(), 0);
    }

    #[test]
    fn padding_is_not_a_breach() {
        let answer = format!("0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n{SUFFIX}:0\r\n");
        assert_eq!(count_in(answer.as_bytes(), SUFFIX).unwrap(), 0);
    }

    #[test]
    fn garbage_is_an_error_not_a_verdict() {
        let cases: [&[u8]; 8] = [
            b"",
            b"\r\n\r\n",
            b"<html>blocked by proxy</html>",
            b"1E4C9B93F3F0682250B6CF8331B7EE68FD8",
            b"1E4C9B93F3F0682250B6CF8331B7EE68FD8:many",
            b"1E4C9B93F3F0682250B6CF8331B7EE68FD8:-1",
            b"ZZ4C9B93F3F0682250B6CF8331B7EE68FD8:1",
            b"\xff\xfe\x00:1",
        ];
        for answer in cases {
            assert!(count_in(answer, SUFFIX).is_err(), "{answer:?}");
        }
    }

    #[test]
    fn hex_is_upper_case() {
        assert_eq!(upper_hex(&[0xab, 0x01]), "AB01");
    }
}
