//! Builds a breached-password set (`shared::auth::breached::hash_set`) from Have I Been Pwned's
//! SHA-1 hash list (`<40 hex>[:count]` lines, as its downloader writes them) or from a list of
//! passwords, one a line. Each input key costs 8 bytes of memory while building (the full HIBP
//! list, ~1 billion hashes: ~8 GB); the output is `fingerprint_bytes` per hash plus a small
//! directory.

use std::io::{BufRead, Write};

use shared::auth::breached::{hash_set, sha1};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// `<40 hex>` or `<40 hex>:<count>` per line.
    Hashes,
    /// A password per line (UTF-8; a trailing `\r` is dropped).
    Passwords,
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub input: Input,
    /// Hashes seen fewer times than this are left out (needs `:count` lines).
    pub min_count: u64,
    /// Passwords are lower-cased before hashing, and so is every password looked up.
    pub lowercase: bool,
    /// Passwords shorter than this (in characters) are left out: the length rule refuses them
    /// anyway.
    pub min_chars: usize,
    pub fingerprint_bytes: u8,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            input: Input::Hashes,
            min_count: 1,
            lowercase: false,
            min_chars: 0,
            fingerprint_bytes: hash_set::DEFAULT_FINGERPRINT_BYTES,
        }
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub read: u64,
    pub kept: u64,
    pub entries: u64,
}

/// Reads `input`, writes the set to `out`.
pub fn build(
    input: impl BufRead,
    options: Options,
    out: &mut impl Write,
) -> Result<Summary, String> {
    if options.lowercase && options.input == Input::Hashes {
        return Err("--lowercase needs --passwords: a hash cannot be lower-cased".into());
    }
    let mut keys = Vec::new();
    let mut summary = Summary::default();
    for (number, line) in input.split(b'\n').enumerate() {
        let line = line.map_err(|error| format!("reading the input: {error}"))?;
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        if line.is_empty() {
            continue;
        }
        summary.read += 1;
        let key = match options.input {
            Input::Hashes => hash_key(line, options.min_count)
                .map_err(|why| format!("line {}: {why}", number + 1))?,
            Input::Passwords => {
                password_key(line, &options).map_err(|why| format!("line {}: {why}", number + 1))?
            }
        };
        if let Some(key) = key {
            keys.push(key);
        }
    }
    summary.kept = keys.len() as u64;
    summary.entries = hash_set::write(&mut keys, options.fingerprint_bytes, options.lowercase, out)
        .map_err(|error| format!("writing the set: {error}"))?;
    Ok(summary)
}

fn hash_key(line: &[u8], min_count: u64) -> Result<Option<u64>, String> {
    let text = std::str::from_utf8(line).map_err(|_| "not text")?.trim();
    let (hex, count) = match text.split_once(':') {
        Some((hex, count)) => (
            hex,
            Some(
                count
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| "a count that is not a number")?,
            ),
        ),
        None => (text, None),
    };
    if hex.len() != 40 || !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err("not a SHA-1 hash (40 hex characters; NTLM lists are not supported)".into());
    }
    if min_count > 1 && count.ok_or("--min-count needs `hash:count` lines")? < min_count {
        return Ok(None);
    }
    let mut first = [0; 20];
    for (i, byte) in first.iter_mut().enumerate().take(8) {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex checked above");
    }
    Ok(Some(hash_set::key_of(&first)))
}

fn password_key(line: &[u8], options: &Options) -> Result<Option<u64>, String> {
    let password = std::str::from_utf8(line).map_err(|_| "not UTF-8")?;
    if password.chars().count() < options.min_chars {
        return Ok(None);
    }
    let digest = if options.lowercase {
        sha1(password.to_lowercase().as_bytes())
    } else {
        sha1(password.as_bytes())
    };
    Ok(Some(hash_set::key_of(&digest)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::auth::breached::HashSet;

    fn set_from(input: &str, options: Options) -> HashSet {
        let mut out = Vec::new();
        build(input.as_bytes(), options, &mut out).unwrap();
        HashSet::from_static(Box::leak(out.into_boxed_slice())).unwrap()
    }

    #[test]
    fn a_hash_list_with_counts_keeps_those_seen_often_enough() {
        // SHA-1 of "password", and another hash seen once.
        let list = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:52256179\r\n\
                    8f1be7cb88c2bbd9d4d5c9eb0c3b0a1c3bf5d8b0:1\r\n";
        let options = Options {
            min_count: 2,
            ..Options::default()
        };
        let set = set_from(list, options);
        assert!(set.contains_password("password").unwrap());
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn malformed_input_is_refused_with_its_line() {
        let mut out = Vec::new();
        let error = build(
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8\nnot a hash\n".as_bytes(),
            Options::default(),
            &mut out,
        )
        .unwrap_err();
        assert!(error.starts_with("line 2:"), "{error}");
        let lowercase_hashes = Options {
            lowercase: true,
            ..Options::default()
        };
        assert!(build("".as_bytes(), lowercase_hashes, &mut out).is_err());
    }

    #[test]
    fn a_password_list_can_fold_case_and_skip_short_ones() {
        let options = Options {
            input: Input::Passwords,
            lowercase: true,
            min_chars: 8,
            ..Options::default()
        };
        let set = set_from("Sunshine1\r\nabc\n\nletmein!\n", options);
        assert_eq!(set.len(), 2);
        assert!(set.contains_password("SUNSHINE1").unwrap());
        assert!(set.contains_password("letmein!").unwrap());
        assert!(!set.contains_password("abc").unwrap());
    }
}
