//! `openapi.yaml` describes exactly the routes the functions serve: every route of the list is
//! in the spec and every operation of the spec is a route (template.yaml and the `cargo lambda
//! watch` router are held to the same list in `template.rs`). `scripts/test` validates the
//! document itself and runs schemathesis against local-api with it.

use std::collections::BTreeSet;

use serde_yaml::Value;

fn spec() -> Value {
    let path = format!("{}/../openapi.yaml", env!("CARGO_MANIFEST_DIR"));
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[test]
fn the_spec_has_exactly_the_route_list() {
    let spec = spec();
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                documented.insert((method.to_uppercase(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    let served: BTreeSet<(String, String)> = local_api::http_functions()
        .iter()
        .flat_map(|routes| routes.specs().to_vec())
        .map(|spec| (spec.method.to_string(), spec.path.to_owned()))
        .collect();
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "openapi.yaml lacks {missing:?} and documents routes nobody serves: {extra:?}"
    );
}

/// Every operation says what its errors look like, and every authenticated one how to
/// authenticate.
#[test]
fn every_operation_documents_its_errors_and_security() {
    let spec = spec();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let name = format!("{method} {}", path.as_str().unwrap());
            let responses = operation["responses"].as_mapping().unwrap();
            assert!(
                responses.get("default").is_some(),
                "{name}: no default error"
            );
            assert!(operation.get("security").is_some(), "{name}: no security");
            assert!(
                operation["operationId"].as_str().is_some(),
                "{name}: no operationId"
            );
        }
    }
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

/// local-api serves the same document at /openapi.yaml.
#[tokio::test]
async fn local_api_serves_the_spec() {
    use tower::ServiceExt;
    let dir = tempfile::tempdir().unwrap();
    let config = shared::config::Config {
        data_dir: dir.path().to_owned(),
        ..shared::config::Config::for_tests()
    };
    let app = shared::App::embedded(
        config,
        shared::secrets::KeyProvider::fixed(shared::auth::KeySet::generate()),
    )
    .unwrap();
    let router = local_api::router(std::sync::Arc::new(app));
    let request = axum::http::Request::get("/openapi.yaml")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/yaml");
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let path = format!("{}/../openapi.yaml", env!("CARGO_MANIFEST_DIR"));
    assert_eq!(body, std::fs::read(path).unwrap());
}

/// One bracket expression of a pattern as the spec writes them: `[...]` or `[^...]` of
/// characters, ranges, `\t \n \r \uXXXX` and escaped punctuation.
struct Class {
    text: String,
    negated: bool,
    ranges: Vec<(char, char)>,
}

impl Class {
    fn contains(&self, c: char) -> bool {
        self.ranges.iter().any(|&(a, b)| (a..=b).contains(&c)) != self.negated
    }
}

fn escaped(chars: &mut std::iter::Peekable<std::str::Chars>) -> char {
    match chars.next().expect("an escape") {
        't' => '\t',
        'n' => '\n',
        'r' => '\r',
        'u' => {
            let hex: String = chars.take(4).collect();
            char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap()
        }
        c if c.is_ascii_alphanumeric() => panic!("unsupported escape \\{c} in a class"),
        c => c,
    }
}

/// Every bracket expression of `pattern`, in order (`[\s\S]`, "any character", is skipped).
fn classes(pattern: &str) -> Vec<Class> {
    let mut found = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' => {
                let mut text = String::from("[");
                let mut body = String::new();
                while let Some(c) = chars.next() {
                    text.push(c);
                    if c == '\\' {
                        let next = chars.next().unwrap();
                        text.push(next);
                        body.push(c);
                        body.push(next);
                    } else if c == ']' {
                        break;
                    } else {
                        body.push(c);
                    }
                }
                if body == r"\s\S" {
                    continue;
                }
                let negated = body.starts_with('^');
                let mut items = body.trim_start_matches('^').chars().peekable();
                let mut ranges = Vec::new();
                while let Some(c) = items.next() {
                    let start = if c == '\\' { escaped(&mut items) } else { c };
                    let end = if items.peek() == Some(&'-') {
                        items.next();
                        match items.next() {
                            Some('\\') => escaped(&mut items),
                            Some(c) => c,
                            None => {
                                ranges.push(('-', '-'));
                                start
                            }
                        }
                    } else {
                        start
                    };
                    ranges.push((start, end));
                }
                found.push(Class {
                    text,
                    negated,
                    ranges,
                });
            }
            _ => {}
        }
    }
    found
}

fn schema(name: &str) -> Value {
    spec()["components"]["schemas"][name].clone()
}

fn pattern_of(schema: &Value) -> String {
    schema["pattern"].as_str().expect("a pattern").to_owned()
}

/// Every BMP character and a sample of the others: every control, blank and invisible
/// character the rules name is in the BMP.
fn sample_chars() -> impl Iterator<Item = char> {
    (0..=0xFFFFu32)
        .chain((0x1_0000..=0x10_FFFF).step_by(97))
        .filter_map(char::from_u32)
}

/// A free-text field: surrounding blanks trimmed, then 1..=`max` characters (or none, when
/// `blank_ok`) of which the first and last are visible and the rest `inner`. The spec's pattern
/// must say exactly that, class by class, against the parser itself.
fn assert_text_pattern(name: &str, max: usize, blank_ok: bool, accepts: impl Fn(&str) -> bool) {
    let pattern = pattern_of(&schema(name));
    let found = classes(&pattern);
    let [ws, first, inner, last, trailing] = &found[..] else {
        panic!("{name}: unexpected pattern {pattern}");
    };
    let core = format!(
        "{}(?:{}{{0,{}}}{})?",
        first.text,
        inner.text,
        max - 2,
        last.text
    );
    let core = if blank_ok {
        format!("(?:{core})?")
    } else {
        core
    };
    assert_eq!(
        pattern,
        format!("^{}*{core}{}*$", ws.text, trailing.text),
        "{name}"
    );
    assert_eq!(first.text, last.text, "{name}");
    assert_eq!(ws.text, trailing.text, "{name}");
    for c in sample_chars() {
        assert_eq!(ws.contains(c), c.is_whitespace(), "{name}: {c:?} trimmed");
        let visible = !c.is_whitespace() && accepts(&c.to_string());
        assert_eq!(first.contains(c), visible, "{name}: {c:?} alone");
        assert_eq!(
            inner.contains(c),
            accepts(&format!("a{c}b")),
            "{name}: {c:?} inside"
        );
    }
    assert!(
        accepts(&"a".repeat(max)) && !accepts(&"a".repeat(max + 1)),
        "{name}"
    );
    assert!(
        accepts(&format!(" \n{}\u{3000}", "a".repeat(max))),
        "{name}"
    );
    assert_eq!(accepts(""), blank_ok, "{name}");
    assert_eq!(accepts(" \t\n "), blank_ok, "{name}");
}

#[test]
fn free_text_patterns_are_the_parsers_rules() {
    use shared::domain::*;
    assert_text_pattern("DisplayName", 100, false, |s| DisplayName::parse(s).is_ok());
    assert_text_pattern("PostTitle", 200, false, |s| PostTitle::parse(s).is_ok());
    assert_text_pattern("LeadSource", MAX_SOURCE_CHARS, false, |s| {
        bounded_line(s, MAX_SOURCE_CHARS, true).is_ok()
    });
    assert_text_pattern("LeadName", MAX_LEAD_NAME_CHARS, true, |s| {
        bounded_line(s, MAX_LEAD_NAME_CHARS, false).is_ok()
    });
    assert_text_pattern("LeadMessage", MAX_MESSAGE_CHARS, true, |s| {
        bounded_text(s, MAX_MESSAGE_CHARS, false).is_ok()
    });

    let content = schema("PostContent");
    assert_eq!(content["maxLength"], MAX_CONTENT_CHARS);
    let [non_blank] = &classes(&pattern_of(&content))[..] else {
        panic!("PostContent: one class");
    };
    assert_eq!(pattern_of(&content), non_blank.text, "contains a non-blank");
    for c in sample_chars() {
        assert_eq!(non_blank.contains(c), !c.is_whitespace(), "{c:?}");
        assert_eq!(
            PostContent::parse(c.to_string()).is_ok(),
            !c.is_whitespace()
        );
    }
}

#[test]
fn token_tag_and_password_rules_are_the_parsers() {
    use shared::auth::RefreshToken;
    use shared::domain::{Password, Tag};
    const MAX_TAG_CHARS: usize = 50;

    let pattern = pattern_of(&schema("OpaqueToken"));
    let [ws, alphabet, last, trailing] = &classes(&pattern)[..] else {
        panic!("OpaqueToken: unexpected pattern {pattern}");
    };
    assert_eq!(
        pattern,
        format!(
            "^{}*{}{{42}}{}{}*$",
            ws.text, alphabet.text, last.text, ws.text
        )
    );
    assert_eq!(ws.text, trailing.text);
    let body = "A".repeat(42);
    for c in sample_chars() {
        assert_eq!(ws.contains(c), c.is_whitespace());
        let parses = |text: String| RefreshToken::parse(&text).is_some();
        assert_eq!(
            alphabet.contains(c),
            parses(format!("{c}{body}")),
            "{c:?} first"
        );
        assert_eq!(last.contains(c), parses(format!("{body}{c}")), "{c:?} last");
    }
    let token = RefreshToken::generate().expose();
    assert!(RefreshToken::parse(&format!("\n {token}\u{3000}")).is_some());

    let tag = schema("Tag");
    assert_eq!(tag["pattern"], "^[a-z0-9]+(?:-[a-z0-9]+)*$");
    assert_eq!(tag["maxLength"], MAX_TAG_CHARS);
    let slug = classes(tag["pattern"].as_str().unwrap()).remove(0);
    for c in sample_chars() {
        assert_eq!(slug.contains(c), Tag::parse(c.to_string()).is_ok(), "{c:?}");
    }
    for (text, ok) in [
        ("rust-lambda", true),
        ("a--b", false),
        ("-a", false),
        ("a-", false),
    ] {
        assert_eq!(Tag::parse(text).is_ok(), ok, "{text}");
    }
    assert!(Tag::parse("a".repeat(MAX_TAG_CHARS)).is_ok());
    assert!(Tag::parse("a".repeat(MAX_TAG_CHARS + 1)).is_err());
    // Repeats count once, so `maxItems` would refuse what the API takes.
    assert!(schema("Tags").get("maxItems").is_none());
    assert_eq!(Tag::parse_list(vec!["a".into(); 11]).unwrap().len(), 1);

    let password = schema("Password");
    let (min, max) = (
        password["minLength"].as_u64().unwrap() as usize,
        password["maxLength"].as_u64().unwrap() as usize,
    );
    assert!(Password::parse("é".repeat(min), None).is_ok());
    assert!(Password::parse("é".repeat(min - 1), None).is_err());
    assert!(Password::parse("é".repeat(max), None).is_ok());
    assert!(Password::parse("é".repeat(max + 1), None).is_err());
    let pattern = pattern_of(&password);
    let [allowed] = &classes(&pattern)[..] else {
        panic!("Password: unexpected pattern {pattern}");
    };
    assert_eq!(pattern, format!("^{}*$", allowed.text));
    for c in sample_chars() {
        let parses = Password::parse(format!("password{c}"), None).is_ok();
        assert_eq!(allowed.contains(c), parses, "{c:?}");
    }
}

/// The e-mail and phone schemas are unions: a usual spelling (which steers generated requests
/// to real values) and every other spelling the API reads. Whatever the second refuses, the API
/// refuses too.
#[test]
fn the_loose_spellings_refuse_only_what_the_api_refuses() {
    use shared::domain::Email;

    let email = schema("Email");
    assert_eq!(email["anyOf"][0]["format"], "email");
    let pattern = pattern_of(&email["anyOf"][1]);
    let [ws, local, domain, trailing] = &classes(&pattern)[..] else {
        panic!("Email: unexpected pattern {pattern}");
    };
    assert_eq!(
        pattern,
        format!("^{}*{}+@{}+{}*$", ws.text, local.text, domain.text, ws.text)
    );
    assert_eq!((&local.text, &ws.text), (&domain.text, &trailing.text));
    for c in sample_chars() {
        assert_eq!(ws.contains(c), c.is_whitespace());
        if !local.contains(c) {
            assert!(Email::parse(format!("a{c}b@example.com")).is_err(), "{c:?}");
            assert!(Email::parse(format!("ab@exa{c}mple.com")).is_err(), "{c:?}");
        }
    }
    assert!(Email::parse("\n josé@exämple.com\u{3000}").is_ok());

    // Phones: at most 40 characters once trimmed (the leads function's bound).
    let phone = schema("Phone");
    let pattern = pattern_of(&phone["anyOf"][1]);
    let [ws, first, last, trailing] = &classes(&pattern)[..] else {
        panic!("Phone: unexpected pattern {pattern}");
    };
    assert_eq!(
        pattern,
        format!(
            "^{}*{}(?:[\\s\\S]{{0,38}}{})?{}*$",
            ws.text, first.text, last.text, trailing.text
        )
    );
    assert_eq!((&first.text, &ws.text), (&last.text, &trailing.text));
    for c in sample_chars() {
        assert_eq!(ws.contains(c), c.is_whitespace());
        assert_eq!(first.contains(c), !c.is_whitespace());
    }
}
