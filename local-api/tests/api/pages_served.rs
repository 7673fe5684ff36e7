//! The pages over HTTP: each with the pages' CSP and the security headers, every file a page or
//! a module names served (so the folders deploy as they are), and nothing else.

use crate::support;

use local_api::page::PAGE_CSP;
use support::{Server, problem};

const PAGES: [&str; 5] = [
    "/account",
    "/account/",
    "/verify-email",
    "/reset-password",
    "/dashboard",
];

/// The quoted values that follow `marker` in `text`.
fn quoted_after<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
    text.split(marker)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

/// `reference` (absolute, or relative like an ES module import) as a path from `base`'s folder.
fn resolve(base: &str, reference: &str) -> String {
    if reference.starts_with('/') {
        return reference.to_owned();
    }
    let mut parts: Vec<&str> = base.split('/').collect();
    parts.pop();
    for part in reference.split('/') {
        match part {
            "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

async fn get(server: &Server, path: &str) -> reqwest::Response {
    server
        .http
        .get(server.url(path))
        .send()
        .await
        .expect("request sent")
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_page_and_every_file_it_names_is_served_under_the_pages_policy() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let mut files = Vec::new();
    for path in PAGES {
        let response = get(&server, path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            header(&response, "content-type"),
            "text/html; charset=utf-8"
        );
        assert_eq!(header(&response, "content-security-policy"), PAGE_CSP);
        assert_eq!(header(&response, "cache-control"), "no-cache");
        assert_eq!(header(&response, "x-frame-options"), "DENY");
        assert_eq!(header(&response, "referrer-policy"), "no-referrer");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        let html = response.text().await.unwrap();
        assert!(!html.contains("<script>"), "no inline script in {path}");
        // Submitted before its module runs (slow, blocked, or a password manager's early
        // submit), a form must not put its fields in the address: never a GET.
        for form in html.split("<form").skip(1) {
            let tag = form.split('>').next().unwrap_or_default();
            assert!(tag.contains("method=\"post\""), "{path}: <form{tag}>");
        }
        for reference in [
            quoted_after(&html, "src=\""),
            quoted_after(&html, "href=\""),
        ]
        .concat()
        {
            if reference.starts_with('/')
                && (reference.ends_with(".js") || reference.ends_with(".css"))
            {
                files.push(reference.to_owned());
            }
        }
    }
    // Each module and what it imports, followed to the end.
    let mut served = std::collections::BTreeSet::new();
    while let Some(path) = files.pop() {
        if !served.insert(path.clone()) {
            continue;
        }
        let response = get(&server, &path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "content-security-policy"), PAGE_CSP);
        let content_type = header(&response, "content-type").to_owned();
        let body = response.text().await.unwrap();
        if path.ends_with(".js") {
            assert_eq!(content_type, "text/javascript; charset=utf-8", "{path}");
            files.extend(
                quoted_after(&body, "from \"")
                    .iter()
                    .map(|r| resolve(&path, r)),
            );
        } else {
            assert!(path.ends_with(".css"), "{path}");
            assert_eq!(content_type, "text/css; charset=utf-8", "{path}");
        }
    }
    for expected in [
        "/web-common/api.js",
        "/web-common/devices.js",
        "/web-common/password-rules.js",
        "/web-common/second-factor.js",
        "/web-common/passkeys.js",
        "/account/two-factor.js",
        "/account/mailed-link.js",
    ] {
        assert!(served.contains(expected), "{expected} in {served:?}");
    }

    // Nothing but those files: no other name, no way out of the folders.
    for path in [
        "/account/missing.js",
        "/account/..%2FCargo.toml",
        "/web-common/..%2F..%2FCargo.toml",
        "/web-common/%2e%2e%2fREADME.md",
        "/account/index.html%00.js",
    ] {
        problem(get(&server, path).await, 404, "not_found").await;
    }
    let head = server
        .http
        .head(server.url("/verify-email"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
}
