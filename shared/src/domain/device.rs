//! What a person recognises of a client from its `User-Agent` header: the browser and its major
//! version, and the operating system ("Firefox 132 on macOS"). The header is whatever the client
//! chose to send: only its first `MAX_USER_AGENT_CHARS` characters are read, it decides nothing,
//! and a summary is made of the names below and digits only, never of the header's own text.

use super::MAX_USER_AGENT_CHARS;
use super::text::without_hidden;

/// A `User-Agent` header as it is kept (on a session, in the audit log) and shown back: without
/// control, format and other invisible characters (a bidi override would reverse what follows
/// it on an admin's screen, a tab or line break would break a log line), trimmed, its first
/// `MAX_USER_AGENT_CHARS` characters; `None` when nothing visible is left.
pub fn user_agent(header: &str) -> Option<String> {
    let visible = without_hidden(header);
    let kept: String = visible.trim().chars().take(MAX_USER_AGENT_CHARS).collect();
    let kept = kept.trim_end();
    (!kept.is_empty()).then(|| kept.to_owned())
}

/// Product tokens, most specific first: Chromium-based browsers also say `Chrome/`, and nearly
/// everything says `Safari/` or `Mozilla/`.
const BROWSERS: &[(&str, &str)] = &[
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("Edg/", "Edge"),
    ("Edge/", "Edge"),
    ("OPR/", "Opera"),
    ("OPiOS/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("YaBrowser/", "Yandex Browser"),
    ("Vivaldi/", "Vivaldi"),
    ("DuckDuckGo/", "DuckDuckGo"),
    ("FxiOS/", "Firefox"),
    ("Firefox/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("MSIE ", "Internet Explorer"),
    ("Trident/", "Internet Explorer"),
    ("curl/", "curl"),
    ("Wget/", "Wget"),
    ("PostmanRuntime/", "Postman"),
    ("okhttp/", "OkHttp"),
    ("python-requests/", "Python Requests"),
    ("Go-http-client/", "Go HTTP client"),
    ("axios/", "axios"),
];

/// Operating systems, most specific first: Android says `Linux`, Windows Phone says `Windows`.
const SYSTEMS: &[(&str, &str)] = &[
    ("Windows Phone", "Windows Phone"),
    ("Windows", "Windows"),
    ("iPad", "iPadOS"),
    ("iPhone", "iOS"),
    ("iPod", "iOS"),
    ("CrOS", "ChromeOS"),
    ("Android", "Android"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
];

/// "Firefox 132 on macOS", "Safari 17 on iOS", "curl 8", "Unknown browser on Linux"; `None`
/// when neither the browser nor the system is one of the known ones.
pub fn describe_device(user_agent: &str) -> Option<String> {
    let header: String = user_agent.chars().take(MAX_USER_AGENT_CHARS).collect();
    let browser = browser(&header);
    let system = SYSTEMS
        .iter()
        .find(|(token, _)| header.contains(token))
        .map(|(_, name)| *name);
    match (browser, system) {
        (Some(browser), Some(system)) => Some(format!("{browser} on {system}")),
        (Some(browser), None) => Some(browser),
        (None, Some(system)) => Some(format!("Unknown browser on {system}")),
        (None, None) => None,
    }
}

/// The browser's name and major version, if it is a known one.
fn browser(header: &str) -> Option<String> {
    let found = BROWSERS.iter().find_map(|(token, name)| {
        let at = header.find(token)?;
        let version = match *token {
            // IE 11 dropped `MSIE`: its version is the `rv:` one.
            "Trident/" => header.find("rv:").map(|rv| &header[rv + 3..]),
            _ => Some(&header[at + token.len()..]),
        };
        Some((*name, version.and_then(major)))
    });
    let (name, version) = match found {
        Some(found) => found,
        // Safari names itself only by `Version/` beside `Safari/`, which others copy.
        None if header.contains("Safari/") && header.contains("Version/") => {
            let at = header.find("Version/")?;
            ("Safari", major(&header[at + "Version/".len()..]))
        }
        None => return None,
    };
    Some(match version {
        Some(version) => format!("{name} {version}"),
        None => name.to_owned(),
    })
}

/// The leading digits of a version (`132` of `132.0.1`), at most four of them.
fn major(version: &str) -> Option<&str> {
    let digits = version.bytes().take_while(u8::is_ascii_digit).count();
    (1..=4).contains(&digits).then(|| &version[..digits])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_agent_is_kept_without_what_hides_or_reorders_text() {
        assert_eq!(user_agent("curl/8.5.0").as_deref(), Some("curl/8.5.0"));
        assert_eq!(
            user_agent(" Mozilla/5.0\t(\u{202E}evil)\u{200B}\u{2066} ").as_deref(),
            Some("Mozilla/5.0(evil)")
        );
        assert_eq!(user_agent("\u{202E}\u{200B}\t \u{FEFF}"), None);
        assert_eq!(user_agent(""), None);
        let long = format!("{}{}", "\u{200B}".repeat(10), "x".repeat(300));
        assert_eq!(user_agent(&long), Some("x".repeat(MAX_USER_AGENT_CHARS)));
    }

    #[test]
    fn the_common_browsers_and_systems_are_named() {
        let cases = [
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:132.0) Gecko/20100101 Firefox/132.0",
                "Firefox 132 on macOS",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome 131 on Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70",
                "Edge 131 on Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
                "Safari 17 on iOS",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
                "Safari 18 on macOS",
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
                "Chrome 131 on iPadOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
                "Samsung Internet 26 on Android",
            ),
            (
                "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome 131 on Android",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
                "Opera 115 on Linux",
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome 131 on ChromeOS",
            ),
            (
                "Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko",
                "Internet Explorer 11 on Windows",
            ),
            ("curl/8.5.0", "curl 8"),
            ("PostmanRuntime/7.42.0", "Postman 7"),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
                "Unknown browser on iOS",
            ),
        ];
        for (header, expected) in cases {
            assert_eq!(
                describe_device(header).as_deref(),
                Some(expected),
                "{header}"
            );
        }
    }

    #[test]
    fn nothing_of_the_header_itself_is_repeated() {
        for header in [
            "",
            "<script>alert(1)</script>",
            "Mozilla/5.0",
            "\u{0}\u{202e}evil",
        ] {
            assert_eq!(describe_device(header), None, "{header:?}");
        }
        // A version is digits only, and a few of them.
        assert_eq!(
            describe_device("Firefox/<b>1</b>").as_deref(),
            Some("Firefox")
        );
        assert_eq!(
            describe_device("Firefox/123456789 (Windows)").as_deref(),
            Some("Firefox on Windows")
        );
        // A token past the characters read is not seen.
        let padded = format!("{}Firefox/132.0", "x".repeat(MAX_USER_AGENT_CHARS));
        assert_eq!(describe_device(&padded), None);
        let huge = "Chrome/".repeat(100_000);
        assert_eq!(describe_device(&huge).as_deref(), Some("Chrome"));
    }
}
