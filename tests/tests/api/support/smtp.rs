//! aiosmtpd on a free loopback port, keeping what it receives in a Maildir; stopped when dropped.
//! `scripts/test` installs it; without it the SMTP tests fail and say how to install it.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use shared::notify::mail::{SmtpSecurity, SmtpSettings};

pub struct SmtpServer {
    process: Child,
    pub port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

impl SmtpServer {
    pub fn start() -> Self {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let installed = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        assert!(
            installed,
            "aiosmtpd is not installed: `python3 -m pip install aiosmtpd`, or run scripts/test"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let maildir = dir.path().join("maildir");
        let port = free_port();
        let process = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("aiosmtpd starts");
        let mut server = Self {
            process,
            port,
            maildir,
            _dir: dir,
        };
        server.wait_until_listening();
        server
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = self.process.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.process.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                panic!("aiosmtpd exited ({status}) before listening:\n{stderr}");
            }
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not listen on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Plain SMTP to this server.
    pub fn settings(&self) -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".into(),
            port: self.port,
            security: SmtpSecurity::None,
            username: None,
            password: None,
        }
    }

    /// The raw messages received so far.
    pub fn received(&self) -> Vec<Vec<u8>> {
        files_in(&self.maildir.join("new"))
            .iter()
            .map(|path| std::fs::read(path).expect("a readable message"))
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|entry| entry.expect("a dir entry").path())
            .collect(),
        Err(_) => Vec::new(),
    }
}
