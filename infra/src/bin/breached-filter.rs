//! `cargo run -p infra --bin breached-filter -- (--hashes | --passwords) <input|-> <output>
//! [--min-count N] [--lowercase] [--min-chars N] [--fingerprint-bytes 2|3|4]`: builds the file
//! `BREACHED_PASSWORDS_FILTER` points at. See `infra::breached_filter` and the README.

use std::fs::File;
use std::io::{self, BufReader, BufWriter};

use infra::breached_filter::{Input, Options, build};

const USAGE: &str = "usage: breached-filter (--hashes | --passwords) <input file, or - for stdin> \
    <output file> [--min-count N] [--lowercase] [--min-chars N] [--fingerprint-bytes 2|3|4]";

fn main() -> Result<(), String> {
    let mut options = Options::default();
    let mut input = None;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| {
            args.next()
                .and_then(|value| value.parse::<u64>().ok())
                .ok_or(format!("{name} takes a number\n{USAGE}"))
        };
        match arg.as_str() {
            "--hashes" => input = Some(Input::Hashes),
            "--passwords" => input = Some(Input::Passwords),
            "--lowercase" => options.lowercase = true,
            "--min-count" => options.min_count = number("--min-count")?,
            "--min-chars" => options.min_chars = number("--min-chars")? as usize,
            "--fingerprint-bytes" => {
                options.fingerprint_bytes = match number("--fingerprint-bytes")? {
                    n @ 2..=4 => n as u8,
                    _ => return Err(format!("--fingerprint-bytes is 2, 3 or 4\n{USAGE}")),
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other if other.starts_with("--") => return Err(format!("unknown {other}\n{USAGE}")),
            file => files.push(file.to_owned()),
        }
    }
    let (Some(kind), [from, to]) = (input, files.as_slice()) else {
        return Err(USAGE.into());
    };
    options.input = kind;
    let reader: Box<dyn io::BufRead> = if from == "-" {
        Box::new(io::stdin().lock())
    } else {
        let file = File::open(from).map_err(|error| format!("{from}: {error}"))?;
        Box::new(BufReader::with_capacity(1 << 20, file))
    };
    let mut out = BufWriter::new(File::create(to).map_err(|error| format!("{to}: {error}"))?);
    let summary = build(reader, options, &mut out)?;
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or_default();
    eprintln!(
        "{to}: {} entries from {} lines ({} kept), {bytes} bytes",
        summary.entries, summary.read, summary.kept
    );
    Ok(())
}
