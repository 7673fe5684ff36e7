//! Headless Chromium (Debian's, driven by playwright-core from npm) running a script of
//! `local-api/tests/browser/`. `scripts/test` installs both and sets `REQUIRE_BROWSER`; without
//! them a browser test says loudly that it was skipped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from)
}

/// Why the browser cannot run here, if it cannot.
fn missing() -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is not installed".into());
    }
    if !browser_dir().join("node_modules/playwright-core").exists() {
        return Some("playwright-core is not installed (npm ci in local-api/tests/browser)".into());
    }
    if !chromium().exists() {
        return Some(format!(
            "no Chromium at {} (apt-get install chromium)",
            chromium().display()
        ));
    }
    None
}

/// Whether `test` can drive a browser here; says loudly when it cannot, and fails when
/// `REQUIRE_BROWSER` is set.
pub fn available(test: &str) -> bool {
    let Some(reason) = missing() else {
        return true;
    };
    if std::env::var_os("REQUIRE_BROWSER").is_some() {
        panic!("REQUIRE_BROWSER is set but {reason}");
    }
    let _ = writeln!(
        std::io::stderr(),
        "\nWARNING: SKIPPED the browser test {test}: {reason}. Run scripts/test, which installs it."
    );
    false
}

/// Runs `script` (a file of `tests/browser/`) with `args`; what it printed on stdout, as JSON.
pub fn run<I, S>(script: &str, args: I) -> Value
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let output = Command::new("node")
        .arg(browser_dir().join(script))
        .args(args)
        .env("CHROMIUM", chromium())
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "the browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}
