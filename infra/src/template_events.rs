//! template.yaml's API events and the `cargo lambda watch` router, generated from the route list
//! (`local_api::http_functions()`), so that adding an endpoint never means editing either by hand.
//!
//! API Gateway declares each route, a `HEAD` beside every `GET` and an `OPTIONS` (CORS
//! preflight) on every path, each on the function that serves the path. Both files are rewritten
//! as text: only the `Events:` block of each function that serves routes, and the entries of the
//! `[workspace.metadata.lambda.watch.router]` table, are replaced; every other line, comment and
//! blank line stays as it is. Functions that serve no route (the workers, with `SQS` or
//! `ScheduleV2` events) are left alone.
//!
//! Event names come from the path (without its leading `/api`) and the method, PascalCase
//! alphanumerics: `/api/users/{id}` is `UsersIdGet`, `UsersIdHead`, `UsersIdPatch`, ... and
//! `UsersIdPreflight` for `OPTIONS`. Events are ordered by path, then GET, HEAD, POST, PUT, PATCH,
//! DELETE, OPTIONS.
//!
//! `cargo run -p infra --bin sync-routes` writes both files; `-- --check` only says whether they
//! are current.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use http::Method;
use shared::http::RouteSpec;

/// The command that brings both files up to date.
pub const FIX_COMMAND: &str = "cargo run -p infra --bin sync-routes";

/// The root `Cargo.toml` table `cargo lambda watch` routes paths by.
pub const WATCH_ROUTER_HEADER: &str = "[workspace.metadata.lambda.watch.router]";

/// The `AWS::Serverless::Api` resource every API event is attached to (`RestApiId: !Ref Api`).
pub const API_RESOURCE: &str = "Api";

const FUNCTION_TYPE: &str = "AWS::Serverless::Function";

/// Why a file could not be generated: the route list and the file disagree in a way a rewrite
/// cannot settle (a function with no resource, a path served by two functions, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncError(String);

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SyncError {}

fn error(message: impl Into<String>) -> SyncError {
    SyncError(message.into())
}

/// One event API Gateway declares: a route of the list, or the `HEAD` / `OPTIONS` it implies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRoute {
    /// The event's logical name in template.yaml, e.g. `UsersIdGet`.
    pub name: String,
    pub method: Method,
    pub path: &'static str,
    /// The binary (template resource's `Metadata.BuildProperties.Binary`) that serves it.
    pub function: &'static str,
}

/// Where a method goes among a path's events: GET, HEAD, POST, PUT, PATCH, DELETE, any other
/// (by name), OPTIONS.
fn method_rank(method: &Method) -> (u8, String) {
    let rank = match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::PATCH => 4,
        Method::DELETE => 5,
        Method::OPTIONS => 7,
        _ => 6,
    };
    (rank, method.as_str().to_owned())
}

fn push_capitalized(word: &str, out: &mut String) {
    let mut chars = word.chars();
    if let Some(first) = chars.next() {
        out.push(first.to_ascii_uppercase());
        out.push_str(chars.as_str());
    }
}

/// The event's logical name: the path's alphanumeric words after `/api`, each capitalized, then
/// the method (`Preflight` for `OPTIONS`). `/api/auth/verify-email` POST is
/// `AuthVerifyEmailPost`; `/api/users/{id}` OPTIONS is `UsersIdPreflight`.
pub fn event_name(path: &str, method: &Method) -> String {
    let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.first() == Some(&"api") {
        segments.remove(0);
    }
    let mut name = String::new();
    for word in segments
        .iter()
        .flat_map(|segment| segment.split(|c: char| !c.is_ascii_alphanumeric()))
    {
        push_capitalized(word, &mut name);
    }
    if name.is_empty() {
        name.push_str("Root");
    }
    if *method == Method::OPTIONS {
        name.push_str("Preflight");
    } else {
        let lower = method.as_str().to_ascii_lowercase();
        let word: String = lower.chars().filter(char::is_ascii_alphanumeric).collect();
        push_capitalized(&word, &mut name);
    }
    name
}

/// A path's methods, in event order.
type ByRank = BTreeMap<(u8, String), Method>;

/// Every event API Gateway must declare for the route list, in template order (by path, then
/// method). Fails when a path is served by two functions (one `OPTIONS` and one watch-router
/// entry per path) or two events would get the same name.
pub fn gateway_routes(routes: &[RouteSpec]) -> Result<Vec<GatewayRoute>, SyncError> {
    let mut paths: BTreeMap<&'static str, (&'static str, ByRank)> = BTreeMap::new();
    for spec in routes {
        if !spec.path.starts_with('/') {
            return Err(error(format!(
                "{} {}: a route's path must start with `/`",
                spec.method, spec.path
            )));
        }
        let (function, methods) = paths
            .entry(spec.path)
            .or_insert_with(|| (spec.function, BTreeMap::new()));
        if *function != spec.function {
            return Err(error(format!(
                "{} is served by both `{}` and `{}`: one function must serve every method of a \
                 path (it answers the path's OPTIONS and owns it in the watch router)",
                spec.path, function, spec.function
            )));
        }
        let mut add = |method: Method| {
            methods.insert(method_rank(&method), method);
        };
        add(spec.method.clone());
        if spec.method == Method::GET {
            add(Method::HEAD);
        }
        add(Method::OPTIONS);
    }

    let mut declared = Vec::new();
    let mut names: HashMap<String, (Method, &str)> = HashMap::new();
    for (path, (function, methods)) in paths {
        for method in methods.into_values() {
            let name = event_name(path, &method);
            if let Some((other_method, other_path)) = names.get(&name) {
                return Err(error(format!(
                    "{other_method} {other_path} and {method} {path} would both be the event \
                     `{name}`; rename one of the paths"
                )));
            }
            names.insert(name.clone(), (method.clone(), path));
            declared.push(GatewayRoute {
                name,
                method,
                path,
                function,
            });
        }
    }
    Ok(declared)
}

// ---- Lines of text ----------------------------------------------------------------------------

/// `\r\n` when the text uses it, else `\n`: generated lines match the file's.
fn newline_of(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// A line without its terminator.
fn content(line: &str) -> &str {
    line.trim_end_matches(['\n', '\r'])
}

fn indent_of(content: &str) -> usize {
    content.len() - content.trim_start_matches(' ').len()
}

/// Neither blank nor a comment.
fn significant(content: &str) -> bool {
    let trimmed = content.trim();
    !trimmed.is_empty() && !trimmed.starts_with('#')
}

/// `lines[start..end]` replaced by `text` (an insertion when `start == end`).
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

fn apply(lines: &[&str], mut edits: Vec<Edit>, newline: &str) -> String {
    edits.sort_by_key(|edit| edit.start);
    let mut out = String::new();
    let mut next = 0;
    for edit in edits {
        lines[next..edit.start]
            .iter()
            .for_each(|line| out.push_str(line));
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(newline);
        }
        out.push_str(&edit.text);
        // The file's last line had no terminator and is replaced: neither has the new text.
        if edit.end == lines.len() && edit.end > edit.start && !lines[edit.end - 1].ends_with('\n')
        {
            out.truncate(out.trim_end_matches(['\n', '\r']).len());
        }
        next = edit.end;
    }
    lines[next..].iter().for_each(|line| out.push_str(line));
    out
}

// ---- template.yaml ----------------------------------------------------------------------------

/// A `key: value` line of block YAML, with its key path from the document's root.
struct Node<'a> {
    line: usize,
    indent: usize,
    path: Vec<&'a str>,
    /// The value after the colon, without a trailing comment (empty for a block).
    value: &'a str,
}

fn strip_comment(value: &str) -> &str {
    if value.starts_with('#') {
        return "";
    }
    match value.find(" #") {
        Some(at) => value[..at].trim_end(),
        None => value,
    }
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

/// `key: value` → (key, value); `None` for anything else (sequence items, continuations).
fn key_value(content: &str) -> Option<(&str, &str)> {
    let trimmed = content.trim_start();
    let (key, rest) =
        if let Some(quote) = trimmed.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let close = trimmed[1..].find(quote)? + 1;
            (&trimmed[1..close], trimmed[close + 1..].strip_prefix(':')?)
        } else {
            let bytes = trimmed.as_bytes();
            let colon = (0..bytes.len())
                .find(|&i| bytes[i] == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' '))?;
            (&trimmed[..colon], &trimmed[colon + 1..])
        };
    if key.is_empty() || !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some((key.trim_end(), strip_comment(rest.trim())))
}

/// Every mapping key of a block-style YAML document, with its path. Sequence items are `-` in
/// paths; block scalars' lines (`|`, `>`) are skipped.
fn nodes<'a>(lines: &[&'a str]) -> Vec<Node<'a>> {
    let mut found = Vec::new();
    let mut stack: Vec<(usize, &'a str)> = Vec::new();
    let mut scalar_under: Option<usize> = None;
    for (line, raw) in lines.iter().enumerate() {
        let content = content(raw);
        if !significant(content) {
            continue;
        }
        let indent = indent_of(content);
        if let Some(key_indent) = scalar_under {
            if indent > key_indent {
                continue;
            }
            scalar_under = None;
        }
        while stack.last().is_some_and(|&(i, _)| i >= indent) {
            stack.pop();
        }
        let trimmed = content.trim_start();
        if trimmed == "-" || trimmed.starts_with("- ") {
            stack.push((indent, "-"));
            continue;
        }
        let Some((key, value)) = key_value(content) else {
            continue;
        };
        stack.push((indent, key));
        found.push(Node {
            line,
            indent,
            path: stack.iter().map(|&(_, key)| key).collect(),
            value,
        });
        if value.starts_with('|') || value.starts_with('>') {
            scalar_under = Some(indent);
        }
    }
    found
}

/// The last line of the block under the key on line `start`: the last significant line before
/// the next one at the key's indentation or less (`start` itself when the block is empty).
/// Comments and blank lines after that line belong to what follows.
fn block_end(lines: &[&str], start: usize, indent: usize) -> usize {
    let mut end = start;
    for (n, line) in lines.iter().enumerate().skip(start + 1) {
        let content = content(line);
        if !significant(content) {
            continue;
        }
        if indent_of(content) <= indent {
            break;
        }
        end = n;
    }
    end
}

/// A path as a YAML scalar inside a flow mapping: plain when it can be, else double-quoted
/// (`"/api/users/{id}"`).
fn yaml_path(path: &str) -> String {
    if path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c))
    {
        path.to_owned()
    } else {
        format!("\"{}\"", path.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// The entries of a function's `Events:` block, the block's keys at `indent`.
fn events_text(routes: &[&GatewayRoute], indent: usize, step: usize, newline: &str) -> String {
    let (event, property) = (" ".repeat(indent), " ".repeat(indent + step));
    let mut text = String::new();
    for route in routes {
        text.push_str(&format!(
            "{event}{name}:{newline}\
             {property}Type: Api{newline}\
             {property}Properties: {{ RestApiId: !Ref {API_RESOURCE}, Path: {path}, Method: {method} }}{newline}",
            name = route.name,
            path = yaml_path(route.path),
            method = route.method.as_str().to_ascii_lowercase(),
        ));
    }
    text
}

/// One `AWS::Serverless::Function` resource as template.yaml declares it.
struct FunctionResource<'a> {
    name: &'a str,
    binary: Option<&'a str>,
    properties: Option<&'a Node<'a>>,
    events: Option<&'a Node<'a>>,
    /// (event name, its `Type`) of each entry of `Events:`.
    event_types: Vec<(&'a str, &'a str)>,
}

fn function_resources<'a>(nodes: &'a [Node<'a>]) -> Vec<FunctionResource<'a>> {
    let at = |resource: &str, rest: &[&str]| {
        nodes.iter().find(|node| {
            node.path.len() == rest.len() + 2
                && node.path[0] == "Resources"
                && node.path[1] == resource
                && node.path[2..] == *rest
        })
    };
    let mut functions = Vec::new();
    for resource in nodes
        .iter()
        .filter(|node| node.path.len() == 2 && node.path[0] == "Resources")
    {
        let name = resource.path[1];
        if at(name, &["Type"]).map(|node| unquote(node.value)) != Some(FUNCTION_TYPE) {
            continue;
        }
        let events = at(name, &["Properties", "Events"]);
        let event_types = events
            .map(|events| {
                nodes
                    .iter()
                    .filter(|node| {
                        node.path.len() == events.path.len() + 1
                            && node.path.starts_with(&events.path)
                    })
                    .map(|event| {
                        let mut type_path = event.path.clone();
                        type_path.push("Type");
                        let kind = nodes
                            .iter()
                            .find(|node| node.path == type_path)
                            .map_or("", |node| unquote(node.value));
                        (event.path[event.path.len() - 1], kind)
                    })
                    .collect()
            })
            .unwrap_or_default();
        functions.push(FunctionResource {
            name,
            binary: at(name, &["Metadata", "BuildProperties", "Binary"])
                .map(|node| unquote(node.value)),
            properties: at(name, &["Properties"]),
            events,
            event_types,
        });
    }
    functions
}

/// template.yaml with every HTTP function's `Events:` block generated from the route list, every
/// other line as it was. Fails when a function of the list has no resource (matched by
/// `Metadata.BuildProperties.Binary`), when a function that serves no route declares `Api`
/// events, or when an HTTP function has events of another type (they would be lost).
pub fn sync_template(template: &str, routes: &[RouteSpec]) -> Result<String, SyncError> {
    let declared = gateway_routes(routes)?;
    let mut by_function: BTreeMap<&str, Vec<&GatewayRoute>> = BTreeMap::new();
    for route in &declared {
        by_function.entry(route.function).or_default().push(route);
    }

    let lines: Vec<&str> = template.split_inclusive('\n').collect();
    let newline = newline_of(template);
    let nodes = nodes(&lines);
    let Some(first_resource) = nodes
        .iter()
        .find(|node| node.path.len() == 2 && node.path[0] == "Resources")
    else {
        return Err(error("no resources under `Resources:`"));
    };
    // The file's indentation step, as its resources are indented.
    let step = first_resource.indent.max(1);
    if !nodes.iter().any(|node| {
        node.path == ["Resources", API_RESOURCE, "Type"]
            && unquote(node.value) == "AWS::Serverless::Api"
    }) {
        return Err(error(format!(
            "no `{API_RESOURCE}` resource of Type AWS::Serverless::Api for the events to attach to"
        )));
    }

    let functions = function_resources(&nodes);
    let mut edits = Vec::new();
    let mut served = BTreeSet::new();
    for function in &functions {
        let Some(events_for) = function.binary.and_then(|binary| by_function.get(binary)) else {
            if let Some((event, _)) = function.event_types.iter().find(|(_, kind)| *kind == "Api") {
                return Err(error(format!(
                    "{} (binary `{}`) declares the API event {event} but serves no route of \
                     local_api::http_functions(): remove its Api events, or list its routes()",
                    function.name,
                    function.binary.unwrap_or("?"),
                )));
            }
            continue;
        };
        let binary = function.binary.unwrap_or_default();
        if !served.insert(binary) {
            return Err(error(format!(
                "more than one function resource builds the binary `{binary}`"
            )));
        }
        if let Some((event, kind)) = function.event_types.iter().find(|(_, kind)| *kind != "Api") {
            return Err(error(format!(
                "{} serves routes and also has the {kind:?} event {event}: its Events block is \
                 generated from the route list, so give that event its own function",
                function.name
            )));
        }
        match function.events {
            Some(events) => {
                if !events.value.is_empty() {
                    return Err(error(format!(
                        "{}: write `Events:` as a block, not `Events: {}`",
                        function.name, events.value
                    )));
                }
                let end = block_end(&lines, events.line, events.indent);
                edits.push(Edit {
                    start: events.line + 1,
                    end: end + 1,
                    text: events_text(events_for, events.indent + step, step, newline),
                });
            }
            None => {
                let Some(properties) = function.properties else {
                    return Err(error(format!("{} has no Properties", function.name)));
                };
                let at = block_end(&lines, properties.line, properties.indent) + 1;
                let indent = properties.indent + step;
                let mut text = format!("{}Events:{newline}", " ".repeat(indent));
                text.push_str(&events_text(events_for, indent + step, step, newline));
                edits.push(Edit {
                    start: at,
                    end: at,
                    text,
                });
            }
        }
    }

    let missing: Vec<&str> = by_function
        .keys()
        .filter(|function| !served.contains(*function))
        .copied()
        .collect();
    if !missing.is_empty() {
        return Err(error(format!(
            "no {FUNCTION_TYPE} resource has `Metadata: BuildProperties: Binary:` {}: add one for \
             each (its policies, memory and log group) and run `{FIX_COMMAND}` again",
            missing
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(apply(&lines, edits, newline))
}

/// Whether template.yaml's API events are exactly what `sync_template` would write.
pub fn template_is_current(template: &str, routes: &[RouteSpec]) -> Result<bool, SyncError> {
    Ok(sync_template(template, routes)? == template)
}

// ---- Cargo.toml -------------------------------------------------------------------------------

fn toml_string(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

fn is_router_header(content: &str) -> bool {
    content.split('#').next().unwrap_or_default().trim() == WATCH_ROUTER_HEADER
}

/// The root Cargo.toml with the `[workspace.metadata.lambda.watch.router]` entries generated
/// from the route list (`"path" = "function"`, by path), every other line as it was. Comments
/// and blank lines after the last entry stay; the table is appended when missing.
pub fn sync_watch_router(manifest: &str, routes: &[RouteSpec]) -> Result<String, SyncError> {
    let owners: BTreeMap<&str, &str> = gateway_routes(routes)?
        .into_iter()
        .map(|route| (route.path, route.function))
        .collect();
    let newline = newline_of(manifest);
    let entries: String = owners
        .iter()
        .map(|(path, function)| {
            format!("{} = {}{newline}", toml_string(path), toml_string(function))
        })
        .collect();

    let lines: Vec<&str> = manifest.split_inclusive('\n').collect();
    let Some(header) = lines
        .iter()
        .position(|line| is_router_header(content(line)))
    else {
        let mut text = manifest.to_owned();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push_str(newline);
        }
        text.push_str(&format!("{newline}{WATCH_ROUTER_HEADER}{newline}{entries}"));
        return Ok(text);
    };
    let mut end = header + 1;
    for (n, line) in lines.iter().enumerate().skip(header + 1) {
        let trimmed = content(line).trim();
        if trimmed.starts_with('[') {
            break;
        }
        if !trimmed.is_empty() && !trimmed.starts_with('#') {
            end = n + 1;
        }
    }
    let edit = Edit {
        start: header + 1,
        end,
        text: entries,
    };
    Ok(apply(&lines, vec![edit], newline))
}

/// Whether Cargo.toml's watch router is exactly what `sync_watch_router` would write.
pub fn watch_router_is_current(manifest: &str, routes: &[RouteSpec]) -> Result<bool, SyncError> {
    Ok(sync_watch_router(manifest, routes)? == manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: Method, path: &'static str, function: &'static str) -> RouteSpec {
        RouteSpec {
            method,
            path,
            function,
        }
    }

    fn things() -> Vec<RouteSpec> {
        vec![
            route(Method::POST, "/api/things", "things"),
            route(Method::GET, "/api/things", "things"),
            route(Method::PATCH, "/api/things/{id}", "things"),
            route(Method::POST, "/api/auth/sign-in", "signin"),
        ]
    }

    const TEMPLATE: &str = "\
Transform: AWS::Serverless-2016-10-31
# The API.
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod

  ThingsFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: things
    Properties:
      Description: >-
        Things: made and changed.
      Events:
        # hand-written, out of date
        Old:
          Type: Api
          Properties: { RestApiId: !Ref Api, Path: /api/old, Method: get }

  # Signs in.
  SignInFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: signin
    Properties:
      MemorySize: 1024
      Events:
        SignIn:
          Type: Api
          Properties: { RestApiId: !Ref Api, Path: /api/auth/sign-in, Method: post }
  WorkerFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: worker
    Properties:
      Events:
        Jobs:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn   # keep me
Outputs:
  ApiUrl:
    Value: !Ref Api
";

    const THINGS_EVENTS: &str = "        ThingsGet:
          Type: Api
          Properties: { RestApiId: !Ref Api, Path: /api/things, Method: get }
        ThingsHead:
          Type: Api
          Properties: { RestApiId: !Ref Api, Path: /api/things, Method: head }
        ThingsPost:
          Type: Api
          Properties: { RestApiId: !Ref Api, Path: /api/things, Method: post }
        ThingsPreflight:
          Type: Api
          Properties: { RestApiId: !Ref Api, Path: /api/things, Method: options }
        ThingsIdPatch:
          Type: Api
          Properties: { RestApiId: !Ref Api, Path: \"/api/things/{id}\", Method: patch }
        ThingsIdPreflight:
          Type: Api
          Properties: { RestApiId: !Ref Api, Path: \"/api/things/{id}\", Method: options }
";

    const SIGN_IN_EVENTS: &str = "        AuthSignInPost:
          Type: Api
          Properties: { RestApiId: !Ref Api, Path: /api/auth/sign-in, Method: post }
        AuthSignInPreflight:
          Type: Api
          Properties: { RestApiId: !Ref Api, Path: /api/auth/sign-in, Method: options }
";

    /// TEMPLATE with both HTTP functions' events blocks replaced by `things` and `sign_in`.
    fn with_events(things: &str, sign_in: &str) -> String {
        let old_things = "        # hand-written, out of date
        Old:
          Type: Api
          Properties: { RestApiId: !Ref Api, Path: /api/old, Method: get }
";
        let old_sign_in = "        SignIn:
          Type: Api
          Properties: { RestApiId: !Ref Api, Path: /api/auth/sign-in, Method: post }
";
        TEMPLATE
            .replacen(old_things, things, 1)
            .replacen(old_sign_in, sign_in, 1)
    }

    #[test]
    fn event_names_are_pascal_case_path_words_then_the_method() {
        assert_eq!(event_name("/api/users/{id}", &Method::GET), "UsersIdGet");
        assert_eq!(event_name("/api/users/{id}", &Method::HEAD), "UsersIdHead");
        assert_eq!(
            event_name("/api/users/{id}", &Method::OPTIONS),
            "UsersIdPreflight"
        );
        assert_eq!(
            event_name("/api/auth/verify-email/resend", &Method::POST),
            "AuthVerifyEmailResendPost"
        );
        assert_eq!(event_name("/api/users", &Method::DELETE), "UsersDelete");
        assert_eq!(event_name("/health", &Method::GET), "HealthGet");
        assert_eq!(event_name("/api", &Method::GET), "RootGet");
    }

    #[test]
    fn only_each_http_functions_events_block_is_replaced() {
        let synced = sync_template(TEMPLATE, &things()).unwrap();
        // Comments, blank lines, the block scalar, the worker's SQS events and the outputs are
        // untouched; so is everything around the two Events blocks.
        assert_eq!(synced, with_events(THINGS_EVENTS, SIGN_IN_EVENTS));
        // Running again changes nothing.
        assert_eq!(sync_template(&synced, &things()).unwrap(), synced);
    }

    #[test]
    fn head_goes_beside_every_get_and_options_on_every_path() {
        let declared: Vec<(String, String, &str)> = gateway_routes(&things())
            .unwrap()
            .into_iter()
            .map(|r| (r.name, r.method.to_string(), r.path))
            .collect();
        let expected = [
            ("AuthSignInPost", "POST", "/api/auth/sign-in"),
            ("AuthSignInPreflight", "OPTIONS", "/api/auth/sign-in"),
            ("ThingsGet", "GET", "/api/things"),
            ("ThingsHead", "HEAD", "/api/things"),
            ("ThingsPost", "POST", "/api/things"),
            ("ThingsPreflight", "OPTIONS", "/api/things"),
            ("ThingsIdPatch", "PATCH", "/api/things/{id}"),
            ("ThingsIdPreflight", "OPTIONS", "/api/things/{id}"),
        ];
        let expected: Vec<(String, String, &str)> = expected
            .iter()
            .map(|(n, m, p)| (n.to_string(), m.to_string(), *p))
            .collect();
        assert_eq!(declared, expected);
    }

    #[test]
    fn a_function_without_a_resource_is_an_error() {
        let mut routes = things();
        routes.push(route(Method::GET, "/api/widgets", "widgets"));
        let err = sync_template(TEMPLATE, &routes).unwrap_err();
        assert!(err.to_string().contains("`widgets`"), "{err}");
        assert!(err.to_string().contains(FIX_COMMAND), "{err}");
    }

    #[test]
    fn api_events_on_a_function_without_routes_are_an_error() {
        let routes: Vec<RouteSpec> = things()
            .into_iter()
            .filter(|r| r.function != "signin")
            .collect();
        let err = sync_template(TEMPLATE, &routes).unwrap_err();
        assert!(err.to_string().contains("SignInFunction"), "{err}");
    }

    #[test]
    fn a_path_served_by_two_functions_is_an_error() {
        let mut routes = things();
        routes.push(route(Method::DELETE, "/api/things", "signin"));
        let err = gateway_routes(&routes).unwrap_err();
        assert!(err.to_string().contains("/api/things"), "{err}");
    }

    #[test]
    fn colliding_event_names_are_an_error() {
        let routes = [
            route(Method::GET, "/api/a-b", "things"),
            route(Method::GET, "/api/a/b", "things"),
        ];
        let err = gateway_routes(&routes).unwrap_err();
        assert!(err.to_string().contains("`ABGet`"), "{err}");
    }

    #[test]
    fn a_function_without_events_gets_a_block_after_its_properties() {
        let template = with_events("", SIGN_IN_EVENTS).replacen("      Events:\n", "", 1);
        assert!(template.contains("Things: made and changed.\n\n  # Signs in."));
        // The new block follows the last property (a block scalar), before the blank line and
        // the next resource's comment.
        let synced = sync_template(&template, &things()).unwrap();
        assert_eq!(synced, with_events(THINGS_EVENTS, SIGN_IN_EVENTS));
    }

    #[test]
    fn crlf_line_endings_are_kept() {
        let template = TEMPLATE.replace('\n', "\r\n");
        let synced = sync_template(&template, &things()).unwrap();
        assert_eq!(
            synced,
            with_events(THINGS_EVENTS, SIGN_IN_EVENTS).replace('\n', "\r\n")
        );
    }

    #[test]
    fn check_tells_whether_the_template_is_current() {
        assert!(!template_is_current(TEMPLATE, &things()).unwrap());
        let synced = sync_template(TEMPLATE, &things()).unwrap();
        assert!(template_is_current(&synced, &things()).unwrap());
        // An event dropped by hand, or a route added to the list, makes it stale again.
        let dropped = synced.replacen(
            "        ThingsHead:\n          Type: Api\n          Properties: { RestApiId: !Ref Api, Path: /api/things, Method: head }\n",
            "",
            1,
        );
        assert!(!template_is_current(&dropped, &things()).unwrap());
        let mut routes = things();
        routes.push(route(Method::DELETE, "/api/things/{id}", "things"));
        assert!(!template_is_current(&synced, &routes).unwrap());
    }

    const MANIFEST: &str = "\
[workspace]
members = [\"a\"]

# cargo lambda watch: path = function.
[workspace.metadata.lambda.watch.router]
\"/api/old\" = \"things\"
\"/api/things\" = \"things\"

# After the router.
[profile.release]
lto = true
";

    #[test]
    fn the_watch_router_is_replaced_and_nothing_else() {
        let synced = sync_watch_router(MANIFEST, &things()).unwrap();
        let expected = MANIFEST.replacen(
            "\"/api/old\" = \"things\"\n\"/api/things\" = \"things\"\n",
            "\"/api/auth/sign-in\" = \"signin\"\n\"/api/things\" = \"things\"\n\"/api/things/{id}\" = \"things\"\n",
            1,
        );
        assert_eq!(synced, expected);
        assert!(watch_router_is_current(&synced, &things()).unwrap());
        assert!(!watch_router_is_current(MANIFEST, &things()).unwrap());
    }

    #[test]
    fn a_missing_watch_router_is_appended() {
        let manifest = "[workspace]\nmembers = [\"a\"]\n";
        let synced = sync_watch_router(manifest, &things()).unwrap();
        assert_eq!(
            synced,
            "[workspace]\nmembers = [\"a\"]\n\n[workspace.metadata.lambda.watch.router]\n\
             \"/api/auth/sign-in\" = \"signin\"\n\"/api/things\" = \"things\"\n\
             \"/api/things/{id}\" = \"things\"\n"
        );
    }
}
