//! A compact set of SHA-1 hashes of breached passwords, read with no network: the built-in list
//! of common passwords, and the file `BREACHED_PASSWORDS_FILTER` names (built by
//! `cargo run -p infra --bin breached-filter`).
//!
//! A sorted prefix table: each hash is cut to its first `bucket_bits + 8 × fingerprint_bytes`
//! bits; the first `bucket_bits` pick a bucket (256 to 512 hashes each on average), the rest are stored,
//! sorted, as the bucket's fingerprints. A lookup reads two directory entries and one bucket
//! (a kilobyte or two) and searches it, so a file is read in place (positioned reads), never
//! loaded whole: a table of the full Have I Been Pwned list (~1 billion hashes, ~3 GB) costs a
//! function no memory. A password not in the set matches by chance with probability between
//! 2^(8 − 8 × fingerprint_bytes) and twice that (the buckets hold 256 to 512 hashes on
//! average): 1 in 65,536 to 32,768 with the default 3 bytes, 1 in 256 to 128 with 2.
//!
//! The file, integers little-endian:
//! - `BRPWSET1`, then flags (bit 0: the entries are hashes of lower-cased passwords, so a
//!   password is lower-cased before it is looked up), `bucket_bits`, `fingerprint_bytes`, five
//!   zero bytes, and the number of entries (u64): 24 bytes;
//! - the directory, `2^bucket_bits + 1` u64: bucket `b` holds entries `dir[b]..dir[b + 1]`;
//! - the entries, `fingerprint_bytes` each, big-endian, sorted within their bucket.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

const MAGIC: &[u8; 8] = b"BRPWSET1";
const HEADER_BYTES: u64 = 24;
const FOLDED: u8 = 1;
/// Hashes per bucket, on average, that the bucket count is chosen for.
const BUCKET_TARGET_BITS: u32 = 8;
pub const DEFAULT_FINGERPRINT_BYTES: u8 = 3;

/// The part of a SHA-1 hash a set keys on: its first 64 bits.
pub fn key_of(sha1: &[u8; 20]) -> u64 {
    let mut first = [0; 8];
    first.copy_from_slice(&sha1[..8]);
    u64::from_be_bytes(first)
}

/// Where a set's bytes are: compiled in, or a file read in place.
enum Source {
    Static(&'static [u8]),
    File(File),
}

impl Source {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        match self {
            Self::Static(bytes) => {
                let slice = usize::try_from(offset)
                    .ok()
                    .and_then(|start| bytes.get(start..start.checked_add(buf.len())?))
                    .ok_or_else(|| corrupt("a read past the end"))?;
                buf.copy_from_slice(slice);
                Ok(())
            }
            Self::File(file) => file.read_exact_at(buf, offset),
        }
    }
}

pub struct HashSet {
    source: Source,
    folded: bool,
    bucket_bits: u32,
    fingerprint_bytes: usize,
    entries: u64,
}

impl HashSet {
    /// A set compiled into the binary.
    pub fn from_static(bytes: &'static [u8]) -> io::Result<Self> {
        let len = bytes.len() as u64;
        Self::open(Source::Static(bytes), len)
    }

    /// The set in the file at `path`, read in place from now on.
    pub fn from_file(path: &Path) -> io::Result<Self> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Self::open(Source::File(file), len)
    }

    fn open(source: Source, len: u64) -> io::Result<Self> {
        let mut header = [0; HEADER_BYTES as usize];
        source
            .read_at(0, &mut header)
            .map_err(|_| corrupt("shorter than its header"))?;
        if &header[..8] != MAGIC {
            return Err(corrupt("not a breached-password set (wrong magic)"));
        }
        let (flags, bucket_bits, fingerprint_bytes) = (header[8], header[9], header[10]);
        if flags & !FOLDED != 0 || header[11..16] != [0; 5] {
            return Err(corrupt("unknown flags"));
        }
        if !(1..=4).contains(&fingerprint_bytes) || u32::from(bucket_bits) > 32 {
            return Err(corrupt("bucket or fingerprint size out of range"));
        }
        let entries = u64::from_le_bytes(header[16..24].try_into().expect("8 bytes"));
        let set = Self {
            source,
            folded: flags & FOLDED != 0,
            bucket_bits: u32::from(bucket_bits),
            fingerprint_bytes: usize::from(fingerprint_bytes),
            entries,
        };
        let expected = entries
            .checked_mul(u64::from(fingerprint_bytes))
            .and_then(|bytes| bytes.checked_add(set.entries_offset()));
        if expected != Some(len) {
            return Err(corrupt("its length does not match its header"));
        }
        Ok(set)
    }

    /// Whether the set holds `password` (or, by chance, a hash that shares its fingerprint).
    pub fn contains_password(&self, password: &str) -> io::Result<bool> {
        let digest = if self.folded {
            super::sha1(password.to_lowercase().as_bytes())
        } else {
            super::sha1(password.as_bytes())
        };
        self.contains(key_of(&digest))
    }

    pub fn contains(&self, key: u64) -> io::Result<bool> {
        let (bucket, fingerprint) = split(key, self.bucket_bits, self.fingerprint_bytes);
        let mut bounds = [0; 16];
        self.source
            .read_at(HEADER_BYTES + bucket * 8, &mut bounds)?;
        let start = u64::from_le_bytes(bounds[..8].try_into().expect("8 bytes"));
        let end = u64::from_le_bytes(bounds[8..].try_into().expect("8 bytes"));
        if start > end || end > self.entries || end - start > (1 << 20) {
            return Err(corrupt("a bucket out of bounds"));
        }
        let width = self.fingerprint_bytes;
        let mut bucket_bytes = vec![0; (end - start) as usize * width];
        self.source.read_at(
            self.entries_offset() + start * width as u64,
            &mut bucket_bytes,
        )?;
        let (mut low, mut high) = (0, bucket_bytes.len() / width);
        while low < high {
            let middle = low + (high - low) / 2;
            let entry = &bucket_bytes[middle * width..(middle + 1) * width];
            match fingerprint_value(entry).cmp(&fingerprint) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Ok(true),
            }
        }
        Ok(false)
    }

    pub fn len(&self) -> u64 {
        self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    fn entries_offset(&self) -> u64 {
        HEADER_BYTES + ((1u64 << self.bucket_bits) + 1) * 8
    }
}

/// A key's bucket and fingerprint in a set of this shape.
fn split(key: u64, bucket_bits: u32, fingerprint_bytes: usize) -> (u64, u64) {
    let fingerprint_bits = 8 * fingerprint_bytes as u32;
    let kept = key >> (64 - bucket_bits - fingerprint_bits);
    (
        kept >> fingerprint_bits,
        kept & ((1 << fingerprint_bits) - 1),
    )
}

fn fingerprint_value(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0, |value, &byte| (value << 8) | u64::from(byte))
}

fn corrupt(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_owned())
}

/// Writes a set of `keys` (in any order, repeats allowed) to `out`. `folded`: the keys are
/// hashes of lower-cased passwords. Returns the number of entries written (keys that share a
/// fingerprint are stored once).
pub fn write(
    keys: &mut [u64],
    fingerprint_bytes: u8,
    folded: bool,
    out: &mut impl Write,
) -> io::Result<u64> {
    if !(1..=4).contains(&fingerprint_bytes) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "fingerprints are 1 to 4 bytes",
        ));
    }
    let width = usize::from(fingerprint_bytes);
    let bucket_bits = keys
        .len()
        .max(1)
        .ilog2()
        .saturating_sub(BUCKET_TARGET_BITS)
        .min(32);
    keys.sort_unstable();
    let mut entries: Vec<(u64, u64)> = keys
        .iter()
        .map(|&key| split(key, bucket_bits, width))
        .collect();
    entries.dedup();

    let mut header = Vec::with_capacity(HEADER_BYTES as usize);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&[
        if folded { FOLDED } else { 0 },
        bucket_bits as u8,
        fingerprint_bytes,
    ]);
    header.extend_from_slice(&[0; 5]);
    header.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    out.write_all(&header)?;

    let mut next = 0usize;
    for bucket in 0..=(1u64 << bucket_bits) {
        while next < entries.len() && entries[next].0 < bucket {
            next += 1;
        }
        out.write_all(&(next as u64).to_le_bytes())?;
    }
    for (_, fingerprint) in &entries {
        out.write_all(&fingerprint.to_be_bytes()[8 - width..])?;
    }
    out.flush()?;
    Ok(entries.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built(keys: &[u64], fingerprint_bytes: u8) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut keys.to_vec(), fingerprint_bytes, false, &mut out).unwrap();
        out
    }

    fn set_of(bytes: Vec<u8>) -> HashSet {
        HashSet::from_static(Box::leak(bytes.into_boxed_slice())).unwrap()
    }

    /// Deterministic, well-spread keys (SplitMix64).
    fn keys(count: usize, seed: u64) -> Vec<u64> {
        let mut state = seed;
        (0..count)
            .map(|_| {
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^ (z >> 31)
            })
            .collect()
    }

    #[test]
    fn holds_every_key_written_and_few_others() {
        let members = keys(20_000, 1);
        let set = set_of(built(&members, 3));
        assert!(members.iter().all(|&key| set.contains(key).unwrap()));
        let strangers = keys(20_000, 2);
        let false_hits = strangers
            .iter()
            .filter(|&&key| set.contains(key).unwrap())
            .count();
        // ~2^-16 × 2 per lookup here: a handful at most.
        assert!(false_hits < 10, "{false_hits}");
    }

    #[test]
    fn empty_and_tiny_sets_work() {
        let empty = set_of(built(&[], 3));
        assert!(empty.is_empty());
        assert!(!empty.contains(42).unwrap());
        let one = set_of(built(&[u64::MAX], 2));
        assert!(one.contains(u64::MAX).unwrap());
        assert!(!one.contains(0).unwrap());
    }

    #[test]
    fn keys_sharing_a_fingerprint_are_stored_once() {
        let mut out = Vec::new();
        let written = write(&mut [5 << 40, 5 << 40, (5 << 40) | 1], 3, false, &mut out).unwrap();
        assert_eq!(written, 1);
    }

    #[test]
    fn damaged_files_are_refused_not_trusted() {
        let good = built(&keys(1_000, 3), 3);
        let refused = |bytes: Vec<u8>| HashSet::from_static(Box::leak(bytes.into_boxed_slice()));
        assert!(refused(good[..good.len() - 1].to_vec()).is_err());
        assert!(refused(b"BRPWSET1".to_vec()).is_err());
        assert!(refused(b"not a set at all, but long enough".to_vec()).is_err());
        let mut wrong_width = good.clone();
        wrong_width[10] = 9;
        assert!(refused(wrong_width).is_err());

        // A directory that points outside the entries: a lookup error, never a panic.
        let mut bad_directory = good.clone();
        for byte in &mut bad_directory[24..24 + 8 * 3] {
            *byte = 0xff;
        }
        let set = refused(bad_directory).unwrap();
        let errors = keys(200, 4)
            .into_iter()
            .filter(|&key| set.contains(key).is_err())
            .count();
        assert!(errors > 0);
    }
}
