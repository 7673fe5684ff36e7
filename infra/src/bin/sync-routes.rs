//! `cargo run -p infra --bin sync-routes`: writes template.yaml's API events and the root
//! Cargo.toml's `cargo lambda watch` router from the route list (`local_api::http_functions()`),
//! leaving every other line of both files as it is. With `-- --check` it writes nothing and
//! fails, naming the file, when either is not what it would write (the test command runs that).

use std::path::Path;
use std::process::ExitCode;

use infra::template_events::{
    FIX_COMMAND, SyncError, WATCH_ROUTER_HEADER, sync_template, sync_watch_router,
};
use shared::http::RouteSpec;

type Sync = fn(&str, &[RouteSpec]) -> Result<String, SyncError>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = match args.as_slice() {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => {
            eprintln!("usage: sync-routes [--check]");
            return ExitCode::from(2);
        }
    };
    match run(check) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("sync-routes: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(check: bool) -> Result<ExitCode, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("infra has no parent directory")?;
    let routes: Vec<RouteSpec> = local_api::http_functions()
        .iter()
        .flat_map(|routes| routes.specs().to_vec())
        .collect();
    let files: [(&str, &str, Sync); 2] = [
        ("template.yaml", "API events", sync_template),
        ("Cargo.toml", WATCH_ROUTER_HEADER, sync_watch_router),
    ];

    let mut stale = Vec::new();
    for (name, part, sync) in files {
        let path = root.join(name);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let synced = sync(&text, &routes).map_err(|e| format!("{name}: {e}"))?;
        if synced == text {
            continue;
        }
        if !check {
            std::fs::write(&path, synced).map_err(|e| format!("{}: {e}", path.display()))?;
            println!("wrote {name} ({part})");
        }
        stale.push(format!("{name} ({part})"));
    }

    if check && !stale.is_empty() {
        eprintln!(
            "out of date with the route list: {}\nrun: {FIX_COMMAND}",
            stale.join(", ")
        );
        return Ok(ExitCode::FAILURE);
    }
    if stale.is_empty() && !check {
        println!("template.yaml and Cargo.toml already match the route list");
    }
    Ok(ExitCode::SUCCESS)
}
