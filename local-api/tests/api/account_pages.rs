//! The account pages in a real browser (`support::browser`, script `account.mjs`), each flow
//! started from the link in the mail `local-api` wrote, as a person would open it, and its
//! effect then checked over the API; on the embedded store and on the emulators alike.

use crate::on_both_stores;
use crate::support;

use serde_json::{Value, json};
use shared::domain::Password;
use support::mail::{link_in, mail_to, wait_for_mails};
use support::oidc_provider::{OidcProvider, ProviderAccount};
use support::stores::{Store, serve_on};
use support::{Server, browser};
use tempfile::TempDir;
use tokio::sync::{Semaphore, SemaphorePermit};

const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a brand new passphrase";
/// In the built-in list of breached passwords (8 characters: past the length rule).
const BREACHED: &str = "Sunshine";
/// Markup a name or a user agent may hold; the pages must show it as text.
const HOSTILE: &str = "<img src=x onerror=alert(1)><script>alert(2)</script>";
const FIREFOX: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:132.0) Gecko/20100101 Firefox/132.0";

/// What every page run must show: no console error or CSP violation, nothing stored.
fn assert_clean(shown: &Value) {
    assert_eq!(
        shown["problems"],
        json!([]),
        "console errors or CSP violations: {shown}"
    );
    assert_eq!(shown["storedItems"], 0, "tokens stay in memory: {shown}");
    assert_eq!(shown["documentCookie"], "", "{shown}");
    assert_eq!(shown["cookies"], 0, "{shown}");
}

fn page(scenario: &str, args: Value) -> Value {
    let shown = browser::run("account.mjs", [scenario, &args.to_string()]);
    assert_clean(&shown);
    shown
}

fn text(shown: &Value, key: &str) -> String {
    shown[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {shown}"))
        .to_owned()
}

async fn login(
    server: &Server,
    email: &str,
    password: &str,
    user_agent: Option<&str>,
) -> reqwest::Response {
    let mut request = server
        .http
        .post(server.url("/api/auth/login"))
        .json(&json!({ "email": email, "password": password }));
    if let Some(agent) = user_agent {
        request = request.header("user-agent", agent);
    }
    request.send().await.expect("request sent")
}

async fn signed_in(server: &Server, email: &str, user_agent: Option<&str>) -> Value {
    let response = login(server, email, PASSWORD, user_agent).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn assert_signs_in(server: &Server, email: &str, password: &str) {
    let response = login(server, email, password, None).await;
    assert_eq!(response.status(), 200, "{email} signs in");
}

async fn assert_refused(server: &Server, email: &str, password: &str) {
    let response = login(server, email, password, None).await;
    support::problem(response, 401, "invalid_credentials").await;
}

async fn me(server: &Server, token: &str) -> Value {
    let response = server.get_authed("/api/users/me", token).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn refresh_status(server: &Server, tokens: &Value) -> u16 {
    server
        .post(
            "/api/auth/refresh",
            json!({ "refreshToken": tokens["refreshToken"] }),
        )
        .await
        .status()
        .as_u16()
}

/// How many flows run at once: each is a server, a browser and, on DynamoDB, the emulators'
/// stream and queues; all of them at once on a small machine slow the emulators past their
/// retry timeouts, and a mail then waits for its queue's 60 s redelivery.
static TURNS: Semaphore = Semaphore::const_new(3);

/// A server of the pages for `test` on `store`, with its data directory and the turn it runs
/// in; `None` (said loudly) where no browser can run.
async fn served(
    test: &str,
    store: Store,
    env: &[(&str, &str)],
) -> Option<(TempDir, Server, SemaphorePermit<'static>)> {
    if !browser::available(test) {
        return None;
    }
    let turn = TURNS
        .acquire()
        .await
        .expect("the semaphore is never closed");
    let dir = tempfile::tempdir().unwrap();
    let server = serve_on(store, dir.path(), env).await;
    Some((dir, server, turn))
}

/// The base the mails link to (`APP_BASE_URL`): `localhost`, where the server listens.
fn app_base(server: &Server) -> String {
    server.base.replace("127.0.0.1", "localhost")
}

async fn verification_by_the_mailed_link(store: Store) {
    let Some((dir, server, _turn)) = served("verification_by_the_mailed_link", store, &[]).await
    else {
        return;
    };
    let registered = server.register("ada@example.com", PASSWORD).await;
    let access = registered["accessToken"].as_str().unwrap();
    let mail = mail_to(dir.path(), "ada@example.com", "verify your e-mail").await;
    let link = link_in(&mail, "verify-email");
    assert!(link.starts_with(&format!("{}/verify-email#token=", app_base(&server))));

    // Opening the link spends nothing (a mail scanner may open it): the button does.
    let opened = page("verify-unpressed", json!({ "link": link }));
    assert_eq!(opened["confirmShown"], true);
    assert_eq!(opened["apiCalls"], json!([]), "{opened}");
    assert_eq!(me(&server, access).await["emailVerified"], false);

    let shown = page(
        "verify",
        json!({ "link": link, "email": "ada@example.com" }),
    );
    assert_eq!(
        text(&shown, "addressAfterLoad"),
        format!("{}/verify-email", app_base(&server)),
        "the token is taken out of the address bar"
    );
    assert!(
        text(&shown, "confirmed").contains("Your address is confirmed"),
        "{shown}"
    );
    assert_eq!(me(&server, access).await["emailVerified"], true);
    // The used link: the problem document as the API wrote it, and a way to a new link.
    assert!(
        text(&shown["used"], "text").contains("the link is invalid, used or expired"),
        "{shown}"
    );
    assert!(
        text(&shown["used"], "code").starts_with("invalid_token · request "),
        "{shown}"
    );
    assert_eq!(shown["resendShown"], true);
    assert!(text(&shown, "resent").contains("if an unverified account has this address"));
}

async fn password_reset_by_the_mailed_link(store: Store) {
    let Some((dir, server, _turn)) = served(
        "password_reset_by_the_mailed_link",
        store,
        &[("RESET_MAIL_GAP_SECS", "0")],
    )
    .await
    else {
        return;
    };
    let registered = server.register("bob@example.com", PASSWORD).await;
    let other_device = signed_in(&server, "bob@example.com", Some(FIREFOX)).await;
    let asked = server
        .post(
            "/api/auth/forgot-password",
            json!({ "email": "bob@example.com" }),
        )
        .await;
    assert_eq!(asked.status(), 202);
    let mail = mail_to(dir.path(), "bob@example.com", "Reset your password").await;

    let shown = page(
        "reset",
        json!({
            "link": link_in(&mail, "reset-password"),
            "email": "bob@example.com",
            "short": "short",
            "breached": BREACHED,
            "password": NEW_PASSWORD,
        }),
    );
    assert_eq!(
        text(&shown, "addressAfterLoad"),
        format!("{}/reset-password", app_base(&server))
    );
    // The rules shown are the domain's: its length limits, and the breached-password refusal.
    let (min, max) = password_length_limits();
    let rules = text(&shown, "rules");
    assert!(
        rules.starts_with(&format!("{min} to {max} characters")),
        "{rules}"
    );
    assert!(rules.contains("data breaches"), "{rules}");
    // Refusals next to the field, with the API's words; the link stays good for another try.
    assert_eq!(shown["tooShort"]["code"], "too_short");
    assert_eq!(
        text(&shown["tooShort"], "text"),
        format!("must be at least {min} characters")
    );
    assert!(text(&shown["tooShortProblem"], "code").starts_with("validation_failed · request "));
    assert_eq!(shown["breached"]["code"], "password_breached");
    assert!(
        text(&shown["breached"], "text")
            .starts_with("appears in a list of passwords exposed in data breaches")
    );
    assert_eq!(shown["invalid"], "true");
    assert!(
        text(&shown, "done")
            .contains("Every device that was signed in to your account is now signed out")
    );
    assert_eq!(shown["fieldErrorsLeft"], 0);
    assert!(
        text(&shown["used"], "code").starts_with("invalid_token · request "),
        "{shown}"
    );
    assert_eq!(shown["forgotShown"], true);
    assert!(text(&shown, "askedAgain").contains("a reset link is on its way"));

    // It took: the old password is refused, the new one works, every old session has ended.
    assert_refused(&server, "bob@example.com", PASSWORD).await;
    assert_signs_in(&server, "bob@example.com", NEW_PASSWORD).await;
    assert_eq!(refresh_status(&server, &registered).await, 401);
    assert_eq!(refresh_status(&server, &other_device).await, 401);
    // The used link's page asked for another, which was mailed (once).
    let resets = wait_for_mails(dir.path(), "bob@example.com", "Reset your password", 2).await;
    assert_eq!(resets.len(), 2);
}

/// The shortest and longest password `Password::parse` takes, found by asking it.
fn password_length_limits() -> (usize, usize) {
    let takes = |n: usize| Password::parse("x".repeat(n), None).is_ok();
    let min = (1..=64).find(|&n| takes(n)).unwrap();
    let max = (min..=1024).take_while(|&n| takes(n)).last().unwrap();
    (min, max)
}

async fn your_devices_listed_and_signed_out(store: Store) {
    let Some((_dir, server, _turn)) =
        served("your_devices_listed_and_signed_out", store, &[]).await
    else {
        return;
    };
    let registered = server.register("carol@example.com", PASSWORD).await;
    let firefox = signed_in(&server, "carol@example.com", Some(FIREFOX)).await;
    let curl = signed_in(&server, "carol@example.com", Some("curl/8.5.0")).await;

    let shown = page(
        "devices",
        json!({
            "base": app_base(&server),
            "email": "carol@example.com",
            "password": PASSWORD,
            "end": "Firefox 132 on macOS",
        }),
    );
    assert!(
        text(&shown["wrong"], "text").contains("the e-mail or password is wrong"),
        "{shown}"
    );
    assert!(text(&shown["wrong"], "code").starts_with("invalid_credentials · request "));
    let before = shown["before"].as_array().unwrap();
    let names: Vec<&str> = before.iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(before.len(), 4, "{shown}");
    // Newest first: this browser's own sign-in, marked, then the two before it.
    assert!(
        names[0].starts_with("Chrome ") && names[0].ends_with(" on Linux"),
        "{names:?}"
    );
    assert_eq!(before[0]["current"], true);
    assert_eq!(before[0]["badge"], "This device");
    assert!(text(&before[0], "facts").contains("from 127.0.0.1 (network 127.0.0.0/24)"));
    assert!(text(&before[0], "facts").contains("with password"));
    assert_eq!(names[1..3], ["curl 8", "Firefox 132 on macOS"]);
    assert!(
        before[1..]
            .iter()
            .all(|d| d["current"] == false && d["badge"].is_null())
    );
    let after_one: Vec<&str> = shown["afterOne"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(after_one.len(), 3);
    assert!(
        !after_one.contains(&"Firefox 132 on macOS"),
        "{after_one:?}"
    );
    assert_eq!(
        text(&shown, "endedOne"),
        "Firefox 132 on macOS is signed out."
    );
    assert_eq!(shown["afterOthers"].as_array().unwrap().len(), 1);
    assert_eq!(shown["afterOthers"][0]["current"], true);
    assert_eq!(text(&shown, "who"), "Ada · carol@example.com");
    assert!(text(&shown, "signedOut").contains("You are signed out"));

    // Over the API: every one of those sessions is over, the browser's own too.
    for tokens in [&firefox, &curl, &registered] {
        assert_eq!(refresh_status(&server, tokens).await, 401);
    }
    let fresh = signed_in(&server, "carol@example.com", None).await;
    let listed = server
        .get_authed("/api/auth/sessions", fresh["accessToken"].as_str().unwrap())
        .await;
    let listed: Value = listed.json().await.unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "{listed}");
}

async fn an_address_change_asked_and_confirmed_in_the_pages(store: Store) {
    let Some((dir, server, _turn)) = served(
        "an_address_change_asked_and_confirmed_in_the_pages",
        store,
        &[],
    )
    .await
    else {
        return;
    };
    let registered = server.register("erin@example.com", PASSWORD).await;
    let access = registered["accessToken"].as_str().unwrap();

    let asked = page(
        "change-email",
        json!({
            "base": app_base(&server),
            "email": "erin@example.com",
            "password": PASSWORD,
            "newEmail": "erin@new.example",
        }),
    );
    assert_eq!(asked["wrong"]["code"], "incorrect");
    assert_eq!(
        text(&asked["wrong"], "text"),
        "is not your current password"
    );
    assert!(text(&asked, "asked").contains("We mailed a link to erin@new.example"));
    assert_eq!(me(&server, access).await["email"], "erin@example.com");

    let mail = mail_to(dir.path(), "erin@new.example", "Confirm your new e-mail").await;
    let shown = page(
        "verify",
        json!({ "link": link_in(&mail, "verify-email"), "email": "erin@new.example" }),
    );
    assert!(text(&shown, "confirmed").contains("sign in with the new address from now on"));
    // It took: the new address signs in, the old one no longer does.
    assert_signs_in(&server, "erin@new.example", PASSWORD).await;
    assert_refused(&server, "erin@example.com", PASSWORD).await;
    mail_to(dir.path(), "erin@example.com", "address was changed").await;
}

async fn a_password_change_in_the_account_page(store: Store) {
    let Some((_dir, server, _turn)) =
        served("a_password_change_in_the_account_page", store, &[]).await
    else {
        return;
    };
    let registered = server
        .post(
            "/api/auth/register",
            json!({ "email": "fay@example.com", "password": PASSWORD, "name": HOSTILE }),
        )
        .await;
    assert_eq!(registered.status(), 201);
    let registered: Value = registered.json().await.unwrap();
    let shown = page(
        "change-password",
        json!({
            "base": app_base(&server),
            "email": "fay@example.com",
            "password": PASSWORD,
            "breached": BREACHED,
            "newPassword": NEW_PASSWORD,
            "userAgent": HOSTILE,
        }),
    );
    assert_eq!(text(&shown, "who"), format!("{HOSTILE} · fay@example.com"));
    assert_eq!(text(&shown, "userAgent"), HOSTILE);
    assert_eq!(
        shown["injected"], 0,
        "markup from the API stays text: {shown}"
    );
    let (min, max) = password_length_limits();
    assert!(text(&shown, "rules").starts_with(&format!("{min} to {max} characters")));
    assert_eq!(shown["refused"]["code"], "password_breached");
    assert!(text(&shown, "changed").contains("Every other device is signed out"));
    assert_eq!(shown["devices"], 1, "only this device is left: {shown}");
    assert_eq!(refresh_status(&server, &registered).await, 401);
    assert_refused(&server, "fay@example.com", PASSWORD).await;
    assert_signs_in(&server, "fay@example.com", NEW_PASSWORD).await;
}

async fn an_unverified_account_is_offered_a_new_link(store: Store) {
    let Some((dir, server, _turn)) = served(
        "an_unverified_account_is_offered_a_new_link",
        store,
        &[("REQUIRE_EMAIL_VERIFICATION", "true")],
    )
    .await
    else {
        return;
    };
    server.register("gus@example.com", PASSWORD).await;
    mail_to(dir.path(), "gus@example.com", "verify your e-mail").await;
    let shown = page(
        "unverified",
        json!({ "base": app_base(&server), "email": "gus@example.com", "password": PASSWORD }),
    );
    assert!(text(&shown["refused"], "code").starts_with("email_not_verified · request "));
    assert_eq!(shown["prefilled"], "gus@example.com");
    assert!(text(&shown, "resent").contains("if an unverified account has this address"));
    // (A second link goes out only a minute after the first.) The mailed one, opened in the
    // page, lets the account sign in.
    let mail = mail_to(dir.path(), "gus@example.com", "verify your e-mail").await;
    let link = link_in(&mail, "verify-email");
    page(
        "verify",
        json!({ "link": link, "email": "gus@example.com" }),
    );
    assert_signs_in(&server, "gus@example.com", PASSWORD).await;
}

async fn forgot_password_from_the_sign_in_form(store: Store) {
    let Some((dir, server, _turn)) =
        served("forgot_password_from_the_sign_in_form", store, &[]).await
    else {
        return;
    };
    server.register("hal@example.com", PASSWORD).await;
    let shown = page(
        "forgot",
        json!({ "base": app_base(&server), "email": "hal@example.com" }),
    );
    assert_eq!(shown["prefilled"], "hal@example.com");
    assert!(text(&shown, "asked").contains("a reset link is on its way"));
    let mail = mail_to(dir.path(), "hal@example.com", "Reset your password").await;
    assert!(link_in(&mail, "reset-password").starts_with(&app_base(&server)));
}

async fn links_without_a_good_token(store: Store) {
    let Some((_dir, server, _turn)) = served("links_without_a_good_token", store, &[]).await else {
        return;
    };
    let shown = page("bad-links", json!({ "base": app_base(&server) }));
    assert_eq!(
        shown["resetWithout"],
        json!({ "formShown": false, "forgotShown": true })
    );
    assert!(text(&shown["madeUp"], "code").starts_with("invalid_token · request "));
}

/// An open page keeps its session: with access tokens of 12 s, it refreshes every 10 s, each
/// time with the newest refresh token (no grace for an older one here: a reuse would end the
/// session), and its next call works.
async fn the_page_refreshes_its_session_before_it_expires(store: Store) {
    let env = [("ACCESS_TOKEN_TTL_SECS", "12"), ("REFRESH_GRACE_SECS", "0")];
    let test = "the_page_refreshes_its_session_before_it_expires";
    let Some((_dir, server, _turn)) = served(test, store, &env).await else {
        return;
    };
    let registered = server.register("jan@example.com", PASSWORD).await;
    let shown = page(
        "refresh",
        json!({ "base": app_base(&server), "email": "jan@example.com", "password": PASSWORD }),
    );
    assert_eq!(
        shown["refreshes"].as_array().unwrap()[..2],
        [200, 200],
        "{shown}"
    );
    assert_eq!(shown["stillSignedIn"], "true");
    assert_eq!(text(&shown, "status"), "Every other device is signed out.");
    assert_eq!(refresh_status(&server, &registered).await, 401);
}

/// Two-step sign-in in the account page from start to end, with two devices (`two-factor` in
/// `account.mjs`): turned on from the QR code's key by an authenticator written apart from the
/// server's, recovery codes made anew, a device signed in before it steps up for a password
/// change, a sign-in's second step, then turned off; each effect checked over the API and in
/// the mail.
async fn two_step_sign_in_turned_on_used_and_off_in_the_page(store: Store) {
    let test = "two_step_sign_in_turned_on_used_and_off_in_the_page";
    let Some((dir, server, _turn)) = served(test, store, &[]).await else {
        return;
    };
    let email = "ivy@example.com";
    let registered = server.register(email, PASSWORD).await;

    let shown = page(
        "two-factor",
        json!({
            "base": app_base(&server), "email": email, "password": PASSWORD,
            "newPassword": NEW_PASSWORD,
        }),
    );
    assert!(text(&shown, "offAtFirst").starts_with("Off."), "{shown}");
    assert_eq!(shown["wrongPassword"]["code"], "incorrect", "{shown}");
    // The enrolment's SVG drawn as an image.
    assert_eq!(shown["qr"]["svg"], true, "{shown}");
    assert!(shown["qr"]["width"].as_u64().unwrap() >= 100, "{shown}");
    assert_eq!(shown["wrongCode"]["code"], "incorrect", "{shown}");
    let first_set = shown["firstSet"].as_array().unwrap();
    let second_set = shown["secondSet"].as_array().unwrap();
    assert_eq!(first_set.len(), 10, "{shown}");
    assert_eq!(second_set.len(), 10, "{shown}");
    assert!(first_set.iter().all(|code| !second_set.contains(code)));
    assert!(text(&shown, "activated").starts_with("Two-step sign-in is on."));
    assert!(
        text(&shown, "on").contains("10 of 10 recovery codes unused"),
        "{shown}"
    );
    assert_eq!(shown["stepUpAsked"], "Confirm it is you");
    assert_eq!(
        shown["changed"],
        "Your password is changed. Every other device is signed out."
    );
    assert_eq!(shown["stepUpHidden"], true);
    assert_eq!(
        shown["challenged"], true,
        "no tokens before the code: {shown}"
    );
    assert_eq!(shown["passwordLeft"], "", "the password is not kept");
    assert_eq!(shown["deadSet"]["code"], "incorrect", "{shown}");
    assert_eq!(
        shown["method"], "with password + authenticator code",
        "{shown}"
    );
    // One of the second set went to the step-up.
    assert!(
        text(&shown, "onAfterSignIn").contains("9 of 10 recovery codes unused"),
        "{shown}"
    );
    assert!(text(&shown, "turnedOff").starts_with("Two-step sign-in is off"));
    assert_eq!(shown["phoneStored"], 0);

    // What it did, over the API: the new password alone signs in again (the factor is gone),
    // the registration's session ended with the password change; and the mail said each step.
    assert_refused(&server, email, PASSWORD).await;
    let signed_in: Value = login(&server, email, NEW_PASSWORD, None)
        .await
        .json()
        .await
        .unwrap();
    assert!(signed_in["accessToken"].is_string(), "{signed_in}");
    let status = server
        .get_authed("/api/auth/mfa", signed_in["accessToken"].as_str().unwrap())
        .await;
    let status: Value = status.json().await.unwrap();
    assert_eq!(status["totp"], Value::Null, "{status}");
    assert_eq!(refresh_status(&server, &registered).await, 401);
    for subject in [
        "Two-factor sign-in is on",
        "New recovery codes were made",
        "A recovery code was used",
        "Your password was changed",
        "Two-factor sign-in is off",
    ] {
        mail_to(dir.path(), email, subject).await;
    }
}

/// Sign-in by mail (`EMAIL_LOGIN=on`) in the page: asked for from the sign-in form and finished
/// with the code typed (a wrong one refused first); then a second mail's link opened as a person
/// would, spent only when pressed, and refused the second time.
async fn sign_in_by_mail_with_the_code_and_with_the_link(store: Store) {
    let test = "sign_in_by_mail_with_the_code_and_with_the_link";
    let env = [("EMAIL_LOGIN", "on"), ("RESET_MAIL_GAP_SECS", "0")];
    let Some((dir, server, _turn)) = served(test, store, &env).await else {
        return;
    };
    let email = "jay@example.com";
    server.register(email, PASSWORD).await;
    let mail_dir = dir.path().join("mail");
    let shown = page(
        "email-code",
        json!({ "base": app_base(&server), "email": email, "mailDir": mail_dir }),
    );
    assert_eq!(shown["prefilled"], email, "{shown}");
    assert_eq!(shown["codePrefilled"], email, "{shown}");
    assert!(
        text(&shown, "asked").contains("a sign-in link and code are on their way"),
        "{shown}"
    );
    assert!(
        text(&shown["wrong"], "code").starts_with("invalid_code"),
        "{shown}"
    );
    assert!(text(&shown, "who").contains(email), "{shown}");
    assert_eq!(shown["method"], "with mailed link or code", "{shown}");

    let first = link_in(
        &mail_to(dir.path(), email, "Your sign-in link").await,
        "account",
    );
    let asked = server
        .post("/api/auth/email-login", json!({ "email": email }))
        .await;
    assert_eq!(asked.status(), 202);
    let mails = wait_for_mails(dir.path(), email, "Your sign-in link", 2).await;
    let link = mails
        .iter()
        .map(|mail| link_in(mail, "account"))
        .find(|link| *link != first)
        .expect("the second mail's link");
    assert!(link.starts_with(&app_base(&server)), "{link}");
    let opened = page("email-link", json!({ "link": link }));
    assert_eq!(opened["callsBeforePress"], 0, "{opened}");
    assert_eq!(opened["signInShown"], false, "{opened}");
    assert!(
        !text(&opened, "addressAfterLoad").contains("token"),
        "{opened}"
    );
    assert!(text(&opened, "who").contains(email), "{opened}");
    assert_eq!(opened["method"], "with mailed link or code", "{opened}");
    assert!(
        text(&opened["used"], "code").starts_with("invalid_token"),
        "{opened}"
    );
    assert_eq!(opened["signInAfter"], true, "{opened}");
}

/// Social sign-in in the page against the stand-in provider: a new account by "Continue with
/// Stand-in"; then a password account links it (the password asked first) and signs in with it.
async fn sign_in_and_link_with_a_provider(store: Store) {
    let provider = OidcProvider::start().await;
    let providers = provider.config_json("stand-in");
    let env = [("OAUTH_PROVIDERS", providers.as_str())];
    let test = "sign_in_and_link_with_a_provider";
    let Some((dir, server, _turn)) = served(test, store, &env).await else {
        return;
    };
    provider.next_sign_in(ProviderAccount::verified("sub-page", "kim@example.com"));
    let shown = page("provider", json!({ "base": app_base(&server) }));
    assert!(text(&shown, "who").contains("kim@example.com"), "{shown}");
    assert_eq!(shown["method"], "with sign-in provider", "{shown}");
    assert!(!text(&shown, "addressAfter").contains('#'), "{shown}");
    assert!(text(&shown, "linked").contains("Stand-in"), "{shown}");
    assert_eq!(
        shown["passwordAsked"], false,
        "no password to ask for: {shown}"
    );

    let email = "lee@example.com";
    server.register(email, PASSWORD).await;
    // A provider is linked only to an address proven: from the welcome mail.
    server.verify_from_welcome(dir.path(), email).await;
    provider.next_sign_in(ProviderAccount::verified(
        "sub-lee",
        "lee-elsewhere@example.com",
    ));
    let shown = page(
        "link-provider",
        json!({ "base": app_base(&server), "email": email, "password": PASSWORD }),
    );
    assert!(
        text(&shown["wrong"], "code").starts_with("validation_failed"),
        "{shown}"
    );
    assert!(
        text(&shown, "linked").starts_with("The provider is linked"),
        "{shown}"
    );
    assert!(text(&shown, "who").contains(email), "{shown}");
    assert_eq!(shown["method"], "with sign-in provider", "{shown}");
}

/// A passkey added in the page (the password first) on the browser's virtual authenticator,
/// then signing in with it, without the address and with it: `aal2` by passkey.
async fn a_passkey_added_and_signed_in_with(store: Store) {
    let test = "a_passkey_added_and_signed_in_with";
    let Some((dir, server, _turn)) = served(test, store, &[]).await else {
        return;
    };
    let email = "pat@example.com";
    server.register(email, PASSWORD).await;
    server.verify_from_welcome(dir.path(), email).await;
    let shown = page(
        "passkey",
        json!({ "base": app_base(&server), "email": email, "password": PASSWORD }),
    );
    assert_eq!(shown["wrong"]["code"], "incorrect", "{shown}");
    assert!(
        text(&shown, "added").contains("\"This laptop\" is added"),
        "{shown}"
    );
    assert!(
        text(&shown, "listed").contains("This laptop · never used"),
        "{shown}"
    );
    for how in ["usernameless", "withAddress"] {
        assert!(text(&shown[how], "who").contains(email), "{shown}");
        assert_eq!(shown[how]["method"], "with passkey", "{shown}");
    }
    assert!(text(&shown, "listedAfter").contains("last used"), "{shown}");
    let held = shown["held"].as_array().unwrap();
    assert_eq!(held.len(), 1, "{shown}");
    assert_eq!(
        held[0]["resident"], true,
        "a discoverable credential: {shown}"
    );
    assert_eq!(held[0]["rpId"], "localhost", "{shown}");
    // The owner is told by mail.
    mail_to(dir.path(), email, "A passkey was added to your account").await;
}

on_both_stores!(
    a_passkey_added_and_signed_in_with,
    sign_in_and_link_with_a_provider,
    sign_in_by_mail_with_the_code_and_with_the_link,
    verification_by_the_mailed_link,
    password_reset_by_the_mailed_link,
    your_devices_listed_and_signed_out,
    an_address_change_asked_and_confirmed_in_the_pages,
    a_password_change_in_the_account_page,
    an_unverified_account_is_offered_a_new_link,
    forgot_password_from_the_sign_in_form,
    links_without_a_good_token,
    the_page_refreshes_its_session_before_it_expires,
    two_step_sign_in_turned_on_used_and_off_in_the_page,
);
