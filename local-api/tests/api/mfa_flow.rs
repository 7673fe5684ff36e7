//! Two-factor sign-in through the running server, as an authenticator app and a client would
//! do it: enrol, activate with a code, sign in with the password and then a code, a replayed
//! code refused, a recovery code (the user mailed about it), the devices list showing each
//! session's level, and the factor turned off.

use crate::support;

use serde_json::{Value, json};
use shared::auth::mfa::{TotpSecret, step_at};
use shared::clock::now_ms;
use support::mail::mail_to;
use support::{Server, problem};

const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery";

/// The app's next code: the current step's, or one step ahead of the last one used (the
/// server takes one step of skew either way and each step once).
struct Authenticator {
    secret: TotpSecret,
    last_step: i64,
}

impl Authenticator {
    fn next_code(&mut self) -> String {
        self.last_step = step_at(now_ms()).max(self.last_step + 1);
        self.secret.code_at(self.last_step)
    }
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    response.json().await.expect("a JSON body")
}

async fn login(server: &Server) -> Value {
    let body = json!({ "email": EMAIL, "password": PASSWORD });
    json_of(server.post("/api/auth/login", body).await, 200).await
}

async fn mfa_status(server: &Server, token: &str) -> Value {
    json_of(server.get_authed("/api/auth/mfa", token).await, 200).await
}

#[tokio::test]
async fn a_second_factor_from_enrolment_to_removal_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let registered = server.register(EMAIL, PASSWORD).await;
    let token = registered["accessToken"].as_str().unwrap();

    // Enrol: the secret, its otpauth:// URI and a QR code; nothing active yet.
    let enrolment = json_of(
        server
            .post_authed("/api/auth/mfa/totp", token, json!({ "password": PASSWORD }))
            .await,
        201,
    )
    .await;
    let uri = enrolment["uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(enrolment["qrCode"].as_str().unwrap().contains("<svg"));
    assert_eq!(
        mfa_status(&server, token).await["totp"]["status"],
        "pending"
    );
    let secret = TotpSecret::from_base32(enrolment["secret"].as_str().unwrap()).unwrap();
    let mut app = Authenticator {
        secret,
        last_step: i64::MIN / 2,
    };

    // Activate: ten recovery codes, shown once, and this session raised to aal2.
    let activated = json_of(
        server
            .post_authed(
                "/api/auth/mfa/totp/verify",
                token,
                json!({ "code": app.next_code() }),
            )
            .await,
        200,
    )
    .await;
    let recovery: Vec<String> = activated["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);
    assert_eq!(activated["aal"], "aal2");

    // The password alone now answers a challenge, not tokens.
    let first = login(&server).await;
    assert_eq!(first["mfaRequired"], true, "{first}");
    assert!(first.get("accessToken").is_none(), "{first}");
    let code = app.next_code();
    let answer = json!({ "challenge": first["challenge"], "code": code });
    let signed_in = json_of(server.post("/api/auth/mfa/challenge", answer).await, 200).await;
    let aal2 = signed_in["accessToken"].as_str().unwrap().to_owned();
    let status = mfa_status(&server, &aal2).await;
    assert_eq!(
        (&status["aal"], &status["amr"]),
        (&json!("aal2"), &json!(["pwd", "otp"]))
    );

    // The same code on another sign-in: refused, though the challenge is fresh.
    let second = login(&server).await;
    let replay = json!({ "challenge": second["challenge"], "code": code });
    let refused = problem(
        server.post("/api/auth/mfa/challenge", replay).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(refused["errors"][0]["code"], "already_used", "{refused}");

    // A recovery code signs in once; nine are left, and the user is told by mail.
    let third = login(&server).await;
    let answer = json!({ "challenge": third["challenge"], "recoveryCode": recovery[0] });
    let recovered = json_of(server.post("/api/auth/mfa/challenge", answer).await, 200).await;
    let recovered = recovered["accessToken"].as_str().unwrap().to_owned();
    let status = mfa_status(&server, &recovered).await;
    assert_eq!(status["totp"]["recoveryCodesRemaining"], 9, "{status}");
    assert_eq!(status["amr"], json!(["pwd", "recovery"]));
    let notice = mail_to(dir.path(), EMAIL, "A recovery code was used").await;
    assert!(
        notice.text.contains("9 of them are left"),
        "{}",
        notice.text
    );

    // Your devices: the registration's session (raised by the activation) and the two
    // sign-ins, each at the level it reached; the refused one started nothing.
    let devices = json_of(server.get_authed("/api/auth/sessions", &aal2).await, 200).await;
    let levels: Vec<(&str, &Value, &Value)> = devices["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["aal"].as_str().unwrap(), &s["amr"], &s["current"]))
        .collect();
    assert_eq!(levels.len(), 3, "{devices}");
    assert!(levels.iter().all(|(aal, ..)| *aal == "aal2"), "{devices}");
    assert_eq!(
        levels
            .iter()
            .filter(|(.., current)| **current == true)
            .count(),
        1
    );

    // Turned off (with a recovery code: the app's codes are spent up to the next step): the
    // password alone signs in again.
    let off = server
        .http
        .delete(server.url("/api/auth/mfa/totp"))
        .bearer_auth(&aal2)
        .json(&json!({ "recoveryCode": recovery[1] }))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 204);
    let plain = login(&server).await;
    assert!(plain["accessToken"].is_string(), "{plain}");
    assert_eq!(mfa_status(&server, &aal2).await["totp"], Value::Null);
}
