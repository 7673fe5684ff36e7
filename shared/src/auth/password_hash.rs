//! argon2id with the OWASP parameters (m = 19456 KiB, t = 2, p = 1), PHC string format.
//!
//! Each hash holds 19 MiB for ~20 ms, so hashes run on a fixed set of worker threads (one per
//! core) behind a bounded queue: a login flood queues, then answers "busy", instead of running
//! a hundred hashes at once and taking gigabytes.
//!
//! Passwords are hashed normalised (`domain::Password`), and each hash says so: its argon2
//! associated data (`data=` in the PHC string) is `NORMALIZED`. A hash without it was made
//! before passwords were normalised, from the password as typed, and is checked against the
//! password as typed, as it was then: one hash per check either way, and nobody locked out.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, AssociatedData, Block, Params, ParamsBuilder, Version};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use tokio::sync::oneshot;

use super::AuthError;
use crate::domain::{EnteredPassword, Password};

type Job = Box<dyn FnOnce() + Send>;

pub struct PasswordHasher {
    workers: usize,
    queue: usize,
    /// Started on the first hash, so functions that never hash never start the threads.
    jobs: OnceLock<SyncSender<Job>>,
    /// Hashes computed or checked so far (what a flood cost).
    runs: AtomicU64,
}

/// The associated data of a hash made from a normalised password.
const NORMALIZED: &[u8] = b"nfkc";

fn argon2() -> Argon2<'static> {
    let params = ParamsBuilder::new()
        .m_cost(19_456)
        .t_cost(2)
        .p_cost(1)
        .data(AssociatedData::new(NORMALIZED).expect("4 bytes of associated data"))
        .build()
        .expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

thread_local! {
    /// This thread's argon2 memory, allocated on its first hash and kept. A fresh 19 MiB per
    /// hash would be kept anyway: after the first free, glibc raises its mmap threshold and
    /// freed blocks stay in the heap, so a few dozen hashes left ~200 MB per thread resident.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Computes `argon`'s hash of `password` into `out`, in this thread's memory.
fn compute(
    argon: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let blocks = argon.params().block_count();
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
    })
}

/// A new hash of `password`, which is normalised (a `Password`'s, or random).
fn hash_now(password: &str) -> Result<String, AuthError> {
    let failed = |e: &dyn std::fmt::Display| AuthError::Hashing(e.to_string().into());
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| AuthError::Hashing("no system randomness".into()))?;
    let salt_string = SaltString::encode_b64(&salt).map_err(|e| failed(&e))?;
    let argon = argon2();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon, password.as_bytes(), &salt, &mut out).map_err(|e| failed(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params()).map_err(|e| failed(&e))?,
        salt: Some(salt_string.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(hash.to_string())
}

/// Whether `password` is the one `phc` was made from (argon2id; anything else never matches):
/// its normalised form for a hash that says it was made from one, as typed for an older hash.
fn matches(password: &EnteredPassword, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    if hash.algorithm != Algorithm::Argon2id.ident() {
        return false;
    }
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let password = if params.data() == NORMALIZED {
        password.normalized()
    } else {
        password.as_typed()
    };
    let argon = Argon2::new(Algorithm::Argon2id, version, params);
    let mut out = vec![0u8; expected.len()];
    compute(&argon, password.as_bytes(), salt, &mut out).is_ok()
        // Output's equality is constant-time.
        && Output::new(&out).is_ok_and(|out| out == expected)
}

/// A real hash of a random password, so a login for an unknown e-mail costs the same time.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_now(&uuid::Uuid::new_v4().to_string()).unwrap_or_default())
}

fn work(jobs: Arc<Mutex<Receiver<Job>>>) {
    loop {
        let job = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            // Every sender is gone: the hasher was dropped.
            Err(_) => return,
        }
    }
}

impl PasswordHasher {
    /// `workers` threads hash at once; up to `queue` more requests wait for one.
    pub fn new(workers: usize, queue: usize) -> Self {
        Self {
            workers: workers.max(1),
            queue,
            jobs: OnceLock::new(),
            runs: AtomicU64::new(0),
        }
    }

    fn jobs(&self) -> &SyncSender<Job> {
        self.jobs.get_or_init(|| {
            let (jobs, receiver) = sync_channel::<Job>(self.queue);
            let receiver = Arc::new(Mutex::new(receiver));
            for i in 0..self.workers {
                let receiver = receiver.clone();
                std::thread::Builder::new()
                    .name(format!("password-hash-{i}"))
                    .spawn(move || work(receiver))
                    .expect("a password-hashing thread starts");
            }
            jobs
        })
    }

    /// How many hashes were computed or checked (queued ones included).
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// One worker per core.
    pub fn per_core(queue: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(cores, queue)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let (done, result) = oneshot::channel();
        self.runs.fetch_add(1, Ordering::Relaxed);
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        match self.jobs().try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(AuthError::Busy),
            Err(TrySendError::Disconnected(_)) => {
                return Err(AuthError::Hashing("the hashing workers stopped".into()));
            }
        }
        result
            .await
            .map_err(|_| AuthError::Hashing("a hashing worker panicked".into()))
    }

    pub async fn hash(&self, password: &Password) -> Result<String, AuthError> {
        let password = password.expose().to_owned();
        self.run(move || hash_now(&password)).await?
    }

    /// Checks `password` against `stored`, or against a dummy hash when there is no user,
    /// so both failures take about as long.
    pub async fn verify(
        &self,
        password: &EnteredPassword,
        stored: Option<&str>,
    ) -> Result<bool, AuthError> {
        let password = password.clone();
        let stored = stored.map(str::to_owned);
        self.run(move || match stored {
            // No password (`NO_PASSWORD`) costs the same as an unknown account.
            Some(phc) if !phc.is_empty() => matches(&password, &phc),
            _ => {
                matches(&password, dummy_hash());
                false
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_owasp_argon2id_parameters() {
        let hasher = PasswordHasher::new(1, 4);
        let password = Password::parse("correct horse battery".into(), None).unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1,data=bmZrYw$"),
            "{hash}"
        );
        let entered = |typed: &str| EnteredPassword::new(typed);
        assert!(
            hasher
                .verify(&entered("correct horse battery"), Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(&entered("wrong horse battery"), Some(&hash))
                .await
                .unwrap()
        );
    }

    /// Hashes made here verify with the argon2 crate's own verifier and the other way round, so
    /// stored hashes stay valid whichever code made them.
    #[test]
    fn hashes_are_interchangeable_with_the_argon2_crates() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let entered = |typed: &str| EnteredPassword::new(typed);
        let ours = hash_now("correct horse battery").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            argon2()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        assert!(
            argon2()
                .verify_password(b"wrong horse battery", &parsed)
                .is_err()
        );

        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let theirs = argon2()
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        assert!(matches(&entered("correct horse battery"), &theirs));
        assert!(!matches(&entered("wrong horse battery"), &theirs));
        // Other parameters (an older, cheaper hash) still verify; another algorithm never does.
        let cheap = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(4096, 3, 1, None).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
        assert!(matches(&entered("pw"), &cheap));
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::default())
            .hash_password(b"pw", &salt)
            .unwrap()
            .to_string();
        assert!(!matches(&entered("pw"), &argon2i));
    }

    /// A hash made from a normalised password matches however the password is typed; one made
    /// before passwords were normalised (no `data=`) matches the password typed as it was then.
    #[tokio::test]
    async fn normalised_hashes_match_any_spelling_and_older_ones_the_typed_one() {
        use argon2::password_hash::PasswordHasher as _;
        let hasher = PasswordHasher::new(1, 4);
        let decomposed = "pa\u{308}ss wo\u{308}rd 9x";
        let composed = "päss wörd 9x";
        let password = Password::parse(decomposed.into(), None).unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        for typed in [decomposed, composed] {
            let entered = EnteredPassword::new(typed);
            assert!(
                hasher.verify(&entered, Some(&hash)).await.unwrap(),
                "{typed}"
            );
        }

        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let older = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(19_456, 2, 1, None).unwrap(),
        )
        .hash_password(decomposed.as_bytes(), &salt)
        .unwrap()
        .to_string();
        assert!(!older.contains("data="), "{older}");
        let as_typed = EnteredPassword::new(decomposed);
        assert!(hasher.verify(&as_typed, Some(&older)).await.unwrap());
        let other_spelling = EnteredPassword::new(composed);
        assert!(!hasher.verify(&other_spelling, Some(&older)).await.unwrap());
    }

    #[tokio::test]
    async fn salts_every_hash_and_fails_without_a_user() {
        let hasher = PasswordHasher::new(2, 4);
        let password = Password::parse("correct horse battery".into(), None).unwrap();
        assert_ne!(
            hasher.hash(&password).await.unwrap(),
            hasher.hash(&password).await.unwrap()
        );
        let entered = |typed: &str| EnteredPassword::new(typed);
        assert!(
            !hasher
                .verify(&entered("correct horse battery"), None)
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(&entered("x"), Some("not a phc string"))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_instead_of_piling_up() {
        let hasher = Arc::new(PasswordHasher::new(1, 2));
        let checks: Vec<_> = (0..12)
            .map(|_| {
                let hasher = hasher.clone();
                tokio::spawn(
                    async move { hasher.verify(&EnteredPassword::new("password"), None).await },
                )
            })
            .collect();
        let mut busy = 0;
        let mut done = 0;
        for check in checks {
            match check.await.unwrap() {
                Err(AuthError::Busy) => busy += 1,
                Ok(false) => done += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        // The two queued ones (and the one a worker took, if it was already waiting) run; the
        // rest, arriving while the worker hashes, are turned away at once.
        assert!(busy >= 1, "{busy} busy, {done} done");
        assert!(done >= 2, "{busy} busy, {done} done");
        assert_eq!(busy + done, 12);
    }
}
