//! "Your devices": each session records what a person recognises (when it started and was last
//! used, the browser and system, the source address and its network, how its holder signed
//! in), lists newest first with the one in use marked, and ends one by one, all but the current
//! one, or by an admin; an ended session's access tokens and refresh token stop at once. Both
//! stores.

use crate::support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::auth::{LAST_USED_RESOLUTION_MS, RefreshToken, verify_access_token};
use shared::clock::{now_ms, parse_rfc3339};
use shared::config::Config;
use shared::domain::{AuditAction, AuditEvent, Role, User};
use shared::store::table::{Update, Value as Stored};
use shared::store::{AuditQuery, Session, keys};
use support::{Call, TestApp, account_with_role, assert_problem, body_json, refresh_with};

pub const PASSWORD: &str = "correct horse battery";
const FIREFOX_MAC: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:132.0) Gecko/20100101 Firefox/132.0";
const CHROME_ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";

/// One signed-in session: its tokens and id.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user_id: String,
    pub access: String,
    pub refresh: String,
    pub sid: String,
}

/// The session id (`sid`) an access token names.
pub async fn sid_of(app: &TestApp, access: &str) -> String {
    let keys = app.keys.current().await;
    verify_access_token(&keys, &app.config, access).unwrap().sid
}

/// Signs in through the login handler as a client at `ip` sending `agent`.
pub async fn sign_in(app: &TestApp, email: &str, agent: &str, ip: &str) -> SignedIn {
    let response = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": email, "password": PASSWORD }))
        .header("user-agent", agent)
        .sent_from(ip)
        .send(app)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.body());
    let body = body_json(&response);
    let access = body["accessToken"].as_str().unwrap().to_owned();
    SignedIn {
        user_id: body["user"]["id"].as_str().unwrap().to_owned(),
        sid: sid_of(app, &access).await,
        refresh: body["refreshToken"].as_str().unwrap().to_owned(),
        access,
    }
}

/// Registers `email` (from an unnamed client) and signs in once from a browser.
pub async fn user_signed_in(app: &TestApp, email: &str) -> SignedIn {
    support::account(app, email, "Ada").await;
    sign_in(app, email, FIREFOX_MAC, "203.0.113.7").await
}

pub async fn me(app: &TestApp, access: &str) -> StatusCode {
    Call::new(Method::GET, "/api/users/me")
        .token(access)
        .send(app)
        .await
        .status()
}

/// A listing page (`GET path` with `access`), asserted 200.
pub async fn listed(app: &TestApp, access: &str, path: &str) -> Value {
    let response = Call::new(Method::GET, path).token(access).send(app).await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.body());
    body_json(&response)
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

pub async fn end(app: &TestApp, access: &str, path: &str) -> support::TestResponse {
    Call::new(Method::DELETE, path)
        .token(access)
        .send(app)
        .await
}

/// The session as stored (whatever its state), read without going through a handler.
pub async fn stored(app: &TestApp, user_id: &str, sid: &str) -> Option<Session> {
    app.stores.sessions.get_session(user_id, sid).await.unwrap()
}

/// Sets the stored last use back `ago_ms`, as if the session had been idle that long: there is
/// no clock to move, so the store is told what a minute of waiting would have left there.
async fn last_used_ago(app: &TestApp, user_id: &str, sid: &str, ago_ms: i64) -> i64 {
    let at = now_ms() - ago_ms;
    let table = support::table_of(app).await;
    let update = Update::new(keys::session(user_id, sid)).set("lastUsedAt", at);
    table
        .update(update, shared::store::table::Returns::Nothing)
        .await
        .unwrap();
    at
}

pub async fn audit_events(app: &TestApp, action: AuditAction) -> Vec<AuditEvent> {
    let query = AuditQuery {
        action: Some(action),
        ..AuditQuery::default()
    };
    let page = app.stores.audit.list_events(&query, None, 100).await;
    page.unwrap().items
}

/// The problem document without what differs per request.
fn problem_shape(response: &support::TestResponse) -> Value {
    let mut body = assert_problem(response, StatusCode::NOT_FOUND, "not_found");
    body.as_object_mut().unwrap().remove("requestId");
    body
}

async fn the_list_shows_what_each_sign_in_recorded(app: TestApp) {
    support::account(&app, "ada@example.com", "Ada").await;
    let mac = sign_in(&app, "ada@example.com", FIREFOX_MAC, "203.0.113.7").await;
    let phone = sign_in(&app, "ada@example.com", CHROME_ANDROID, "2001:db8:5:6::9").await;
    let hostile = format!("<img src=x onerror=alert(1)>{}", "A".repeat(1000));
    let odd = sign_in(&app, "ada@example.com", &hostile, "::ffff:198.51.100.23").await;

    let page = listed(&app, &phone.access, "/api/auth/sessions").await;
    // Newest first: the registration's session is the oldest.
    let listed_ids = ids(&page);
    assert_eq!(listed_ids.len(), 4, "{page}");
    assert_eq!(
        listed_ids[..3],
        [odd.sid.clone(), phone.sid.clone(), mac.sid.clone()]
    );
    let data = page["data"].as_array().unwrap();
    let created: Vec<i64> = data
        .iter()
        .map(|s| parse_rfc3339(s["createdAt"].as_str().unwrap()).unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "{created:?}");
    let current: Vec<&Value> = data.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], phone.sid.as_str());

    let (odd_view, phone_view, mac_view) = (&data[0], &data[1], &data[2]);
    assert_eq!(mac_view["device"], "Firefox 132 on macOS");
    assert_eq!(mac_view["userAgent"], FIREFOX_MAC);
    assert_eq!(mac_view["ip"], "203.0.113.7");
    assert_eq!(mac_view["network"], "203.0.113.0/24");
    assert_eq!(mac_view["aal"], "aal1");
    assert_eq!(mac_view["amr"], json!(["pwd"]));
    assert_eq!(mac_view["lastUsedAt"], mac_view["createdAt"]);
    assert!(mac_view["expiresAt"].as_str().unwrap() > mac_view["createdAt"].as_str().unwrap());
    assert_eq!(phone_view["device"], "Chrome 131 on Android");
    assert_eq!(phone_view["ip"], "2001:db8:5:6::9");
    assert_eq!(phone_view["network"], "2001:db8:5:6::/64");
    // The header is kept truncated and repeated only as what it was; the summary makes nothing
    // of it.
    assert_eq!(odd_view["device"], Value::Null);
    let kept = odd_view["userAgent"].as_str().unwrap();
    assert_eq!(kept.chars().count(), 256);
    assert!(hostile.starts_with(kept));
    assert_eq!(odd_view["network"], "198.51.100.0/24");
    // The registration's request said nothing of itself.
    assert_eq!(data[3]["device"], Value::Null);
    assert_eq!(data[3]["ip"], Value::Null);

    // No refresh token, nor its hash, is anywhere in the listing.
    let text = page.to_string();
    for signed in [&mac, &phone, &odd] {
        let hash = RefreshToken::parse(&signed.refresh).unwrap().hash();
        assert!(!text.contains(&signed.refresh) && !text.contains(&hash));
    }

    // The access tokens carry the level and methods too.
    let keys = app.keys.current().await;
    let claims = verify_access_token(&keys, &app.config, &mac.access).unwrap();
    assert_eq!(claims.aal.as_str(), "aal1");
    assert_eq!(
        claims.amr.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        ["pwd"]
    );
    // Without a token: 401.
    let anonymous = Call::new(Method::GET, "/api/auth/sessions")
        .send(&app)
        .await;
    assert_problem(&anonymous, StatusCode::UNAUTHORIZED, "missing_token");
}

async fn last_use_is_written_at_most_once_a_minute(app: TestApp) {
    let ada = user_signed_in(&app, "ada@example.com").await;
    let started = stored(&app, &ada.user_id, &ada.sid).await.unwrap();
    assert_eq!(started.last_used_at, started.created_at);
    for _ in 0..3 {
        assert_eq!(me(&app, &ada.access).await, StatusCode::OK);
    }
    let after_requests = stored(&app, &ada.user_id, &ada.sid).await.unwrap();
    assert_eq!(
        after_requests, started,
        "requests within the minute write nothing"
    );

    // Used half a minute ago: still nothing to write.
    let half = last_used_ago(&app, &ada.user_id, &ada.sid, LAST_USED_RESOLUTION_MS / 2).await;
    assert_eq!(me(&app, &ada.access).await, StatusCode::OK);
    let session = stored(&app, &ada.user_id, &ada.sid).await.unwrap();
    assert_eq!(session.last_used_at, half);

    // A minute and a second ago: the next request writes its own time, once.
    last_used_ago(&app, &ada.user_id, &ada.sid, LAST_USED_RESOLUTION_MS + 1000).await;
    let before = now_ms();
    assert_eq!(me(&app, &ada.access).await, StatusCode::OK);
    let moved = stored(&app, &ada.user_id, &ada.sid).await.unwrap();
    assert!(moved.last_used_at >= before, "{moved:?}");
    assert_eq!(me(&app, &ada.access).await, StatusCode::OK);
    assert_eq!(stored(&app, &ada.user_id, &ada.sid).await.unwrap(), moved);
    let page = listed(&app, &ada.access, "/api/auth/sessions").await;
    let view = page["data"][0].clone();
    assert_eq!(view["id"], ada.sid.as_str());
    assert_eq!(
        parse_rfc3339(view["lastUsedAt"].as_str().unwrap()),
        Some(moved.last_used_at)
    );

    // A refresh is a use too, whenever it comes.
    let before = now_ms();
    let refreshed = refresh_with(&app, &ada.refresh).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let session = stored(&app, &ada.user_id, &ada.sid).await.unwrap();
    assert!(session.last_used_at >= before);
}

/// The write a request makes is conditional: it never brings back a session that was ended,
/// ended with all others, or is gone from the table.
async fn noting_a_use_never_revives_an_ended_session(app: TestApp) {
    let ada = user_signed_in(&app, "ada@example.com").await;
    let session = stored(&app, &ada.user_id, &ada.sid).await.unwrap();
    let sessions = &app.stores.sessions;
    let later = now_ms() + 2 * LAST_USED_RESOLUTION_MS;

    // Ended with all the others (the user's generation moved on, which the session item does
    // not hold): a note of its use may land, and the session stays ended.
    let other = sign_in(&app, "ada@example.com", FIREFOX_MAC, "203.0.113.8").await;
    let all = Call::new(Method::POST, "/api/auth/logout?scope=all")
        .token(&other.access)
        .send(&app)
        .await;
    assert_eq!(all.status(), StatusCode::NO_CONTENT);
    sessions
        .touch_session(&session, later, later - 1)
        .await
        .unwrap();
    let user = app
        .stores
        .users
        .get_user(&ada.user_id)
        .await
        .unwrap()
        .unwrap();
    let after = stored(&app, &ada.user_id, &ada.sid).await.unwrap();
    assert!(!after.is_live_for(&user), "{after:?}");
    assert_eq!(me(&app, &ada.access).await, StatusCode::UNAUTHORIZED);

    // Ended one by one: nothing written, still ended.
    let fresh = sign_in(&app, "ada@example.com", FIREFOX_MAC, "203.0.113.9").await;
    let fresh_session = stored(&app, &ada.user_id, &fresh.sid).await.unwrap();
    let path = format!("/api/auth/sessions/{}", fresh.sid);
    assert_eq!(
        end(&app, &fresh.access, &path).await.status(),
        StatusCode::NO_CONTENT
    );
    let ended = stored(&app, &ada.user_id, &fresh.sid).await.unwrap();
    assert!(ended.revoked_at.is_some());
    assert!(
        !sessions
            .touch_session(&fresh_session, later, later - 1)
            .await
            .unwrap()
    );
    assert_eq!(stored(&app, &ada.user_id, &fresh.sid).await.unwrap(), ended);

    // Gone (as TTL removes it): no item is made.
    let gone = sign_in(&app, "ada@example.com", FIREFOX_MAC, "203.0.113.10").await;
    let gone_session = stored(&app, &ada.user_id, &gone.sid).await.unwrap();
    let table = support::table_of(&app).await;
    let key = keys::session(&ada.user_id, &gone.sid);
    table
        .delete(shared::store::table::Delete::new(key.clone()))
        .await
        .unwrap();
    assert!(
        !sessions
            .touch_session(&gone_session, later, later - 1)
            .await
            .unwrap()
    );
    let read = table
        .get(&key, shared::store::table::Read::Consistent)
        .await;
    assert_eq!(read.unwrap(), None);
    assert_eq!(me(&app, &gone.access).await, StatusCode::UNAUTHORIZED);

    // A live one that is due: written once, and not again within the minute.
    let live = sign_in(&app, "ada@example.com", FIREFOX_MAC, "203.0.113.11").await;
    let live_session = stored(&app, &ada.user_id, &live.sid).await.unwrap();
    assert!(
        sessions
            .touch_session(&live_session, later, later - 1)
            .await
            .unwrap()
    );
    assert!(
        !sessions
            .touch_session(&live_session, later + 1, later - 1)
            .await
            .unwrap()
    );
    let touched = stored(&app, &ada.user_id, &live.sid).await.unwrap();
    assert_eq!(touched.last_used_at, later);
    let table_item = table
        .get(
            &keys::session(&ada.user_id, &live.sid),
            shared::store::table::Read::Consistent,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(table_item.get("lastUsedAt"), Some(&Stored::N(later)));
}

async fn ending_a_session_ends_its_tokens_at_once(app: TestApp) {
    let laptop = user_signed_in(&app, "ada@example.com").await;
    let phone = sign_in(&app, "ada@example.com", CHROME_ANDROID, "198.51.100.4").await;
    let path = format!("/api/auth/sessions/{}", phone.sid);

    let ended = end(&app, &laptop.access, &path).await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT, "{:?}", ended.body());
    let refused = Call::new(Method::GET, "/api/users/me")
        .token(&phone.access)
        .send(&app)
        .await;
    assert_problem(&refused, StatusCode::UNAUTHORIZED, "session_ended");
    assert_problem(
        &refresh_with(&app, &phone.refresh).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    );
    assert_eq!(me(&app, &laptop.access).await, StatusCode::OK);
    let page = listed(&app, &laptop.access, "/api/auth/sessions").await;
    assert!(!ids(&page).contains(&phone.sid), "{page}");
    assert!(ids(&page).contains(&laptop.sid));

    let events = audit_events(&app, AuditAction::SessionEnd).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].actor.as_deref(), Some(laptop.user_id.as_str()));
    assert_eq!(events[0].target.as_deref(), Some(laptop.user_id.as_str()));
    assert_eq!(events[0].detail.as_deref(), Some(phone.sid.as_str()));

    // Again: it names no live session now, exactly like an id that never did.
    let again = end(&app, &laptop.access, &path).await;
    let unknown = format!("/api/auth/sessions/{}", uuid::Uuid::now_v7());
    let unknown = end(&app, &laptop.access, &unknown).await;
    assert_eq!(problem_shape(&again), problem_shape(&unknown));
    let garbage = end(&app, &laptop.access, "/api/auth/sessions/not-an-id").await;
    assert_eq!(problem_shape(&garbage), problem_shape(&unknown));
    assert_eq!(audit_events(&app, AuditAction::SessionEnd).await.len(), 1);

    // The current session may end itself: a logout.
    let path = format!("/api/auth/sessions/{}", laptop.sid);
    assert_eq!(
        end(&app, &laptop.access, &path).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(me(&app, &laptop.access).await, StatusCode::UNAUTHORIZED);
    assert_problem(
        &refresh_with(&app, &laptop.refresh).await,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    );
}

async fn another_users_session_is_not_found(app: TestApp) {
    let ada = user_signed_in(&app, "ada@example.com").await;
    let bob = user_signed_in(&app, "bob@example.com").await;

    let bobs = end(
        &app,
        &ada.access,
        &format!("/api/auth/sessions/{}", bob.sid),
    )
    .await;
    let nobodys = format!("/api/auth/sessions/{}", uuid::Uuid::now_v7());
    let nobodys = end(&app, &ada.access, &nobodys).await;
    assert_eq!(problem_shape(&bobs), problem_shape(&nobodys));
    assert_eq!(me(&app, &bob.access).await, StatusCode::OK);
    assert_eq!(
        refresh_with(&app, &bob.refresh).await.status(),
        StatusCode::OK
    );
    assert!(audit_events(&app, AuditAction::SessionEnd).await.is_empty());

    // Nor through the users' routes, which are for oneself and admins.
    let listing = format!("/api/users/{}/sessions", bob.user_id);
    let refused = Call::new(Method::GET, &listing)
        .token(&ada.access)
        .send(&app)
        .await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "forbidden");
    let one = format!("{listing}/{}", bob.sid);
    assert_problem(
        &end(&app, &ada.access, &one).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_eq!(me(&app, &bob.access).await, StatusCode::OK);
    // Ada's own, by her id: hers to see.
    let own = format!("/api/users/{}/sessions", ada.user_id);
    assert_eq!(ids(&listed(&app, &ada.access, &own).await).len(), 2);
    // Bob's session id under Ada's user: not one of hers.
    let mixed = format!("/api/users/{}/sessions/{}", ada.user_id, bob.sid);
    problem_shape(&end(&app, &ada.access, &mixed).await);
    assert_eq!(me(&app, &bob.access).await, StatusCode::OK);
}

async fn logout_others_keeps_only_the_current_session(app: TestApp) {
    let laptop = user_signed_in(&app, "ada@example.com").await;
    let phone = sign_in(&app, "ada@example.com", CHROME_ANDROID, "198.51.100.4").await;
    let tablet = sign_in(&app, "ada@example.com", FIREFOX_MAC, "198.51.100.5").await;
    let bob = user_signed_in(&app, "bob@example.com").await;

    let anonymous = Call::new(Method::POST, "/api/auth/logout?scope=others")
        .send(&app)
        .await;
    assert_problem(&anonymous, StatusCode::UNAUTHORIZED, "missing_token");
    let others = Call::new(Method::POST, "/api/auth/logout?scope=others")
        .token(&phone.access)
        .send(&app)
        .await;
    assert_eq!(
        others.status(),
        StatusCode::NO_CONTENT,
        "{:?}",
        others.body()
    );

    let page = listed(&app, &phone.access, "/api/auth/sessions").await;
    assert_eq!(ids(&page), std::slice::from_ref(&phone.sid), "{page}");
    assert_eq!(page["data"][0]["current"], true);
    for ended in [&laptop, &tablet] {
        assert_eq!(me(&app, &ended.access).await, StatusCode::UNAUTHORIZED);
        assert_problem(
            &refresh_with(&app, &ended.refresh).await,
            StatusCode::UNAUTHORIZED,
            "invalid_refresh_token",
        );
    }
    assert_eq!(me(&app, &phone.access).await, StatusCode::OK);
    let refreshed = refresh_with(&app, &phone.refresh).await;
    assert_eq!(refreshed.status(), StatusCode::OK, "{:?}", refreshed.body());
    let next_access = body_json(&refreshed)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(me(&app, &next_access).await, StatusCode::OK);
    assert_eq!(
        me(&app, &bob.access).await,
        StatusCode::OK,
        "another user's"
    );

    let events = audit_events(&app, AuditAction::LogoutOthers).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].actor.as_deref(), Some(phone.user_id.as_str()));
    assert_eq!(events[0].target.as_deref(), Some(phone.user_id.as_str()));
    assert_eq!(events[0].detail.as_deref(), Some(phone.sid.as_str()));

    // Once more, alone: nothing else to end, the session carries on.
    let again = Call::new(Method::POST, "/api/auth/logout?scope=others")
        .token(&next_access)
        .send(&app)
        .await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &next_access).await, StatusCode::OK);
    let unknown_scope = Call::new(Method::POST, "/api/auth/logout?scope=mine")
        .token(&next_access)
        .send(&app)
        .await;
    assert_problem(&unknown_scope, StatusCode::BAD_REQUEST, "invalid_scope");
}

async fn admins_list_and_end_a_users_sessions(app: TestApp) {
    let admin = account_with_role(&app, "admin@example.com", Role::Admin).await;
    let admin = sign_in(&app, &admin.email, FIREFOX_MAC, "192.0.2.1").await;
    let laptop = user_signed_in(&app, "ada@example.com").await;
    let phone = sign_in(&app, "ada@example.com", CHROME_ANDROID, "198.51.100.4").await;
    let listing = format!("/api/users/{}/sessions", laptop.user_id);

    let page = listed(&app, &admin.access, &listing).await;
    let listed_ids = ids(&page);
    assert_eq!(listed_ids.len(), 3, "{page}");
    assert_eq!(listed_ids[..2], [phone.sid.clone(), laptop.sid.clone()]);
    assert!(
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["current"] == false)
    );
    assert_eq!(page["data"][0]["device"], "Chrome 131 on Android");

    let one = format!("{listing}/{}", phone.sid);
    let ended = end(&app, &admin.access, &one).await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT, "{:?}", ended.body());
    assert_eq!(me(&app, &phone.access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refresh_with(&app, &phone.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(me(&app, &laptop.access).await, StatusCode::OK);
    let events = audit_events(&app, AuditAction::SessionEnd).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].actor.as_deref(), Some(admin.user_id.as_str()));
    assert_eq!(events[0].target.as_deref(), Some(laptop.user_id.as_str()));
    assert_eq!(events[0].detail.as_deref(), Some(phone.sid.as_str()));
    // The admin's audit listing shows it as such.
    let audit = listed(&app, &admin.access, "/api/audit?action=session_end").await;
    assert_eq!(audit["data"][0]["actor"], admin.user_id.as_str());
    assert_eq!(audit["data"][0]["sourceIp"], Value::Null);
    assert_problem(
        &end(&app, &admin.access, &one).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    // Unknown and deleted users have no sessions to show.
    let unknown = format!("/api/users/{}/sessions", uuid::Uuid::now_v7());
    let unknown = Call::new(Method::GET, &unknown)
        .token(&admin.access)
        .send(&app)
        .await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "not_found");
    let deleted = Call::new(Method::DELETE, &format!("/api/users/{}", laptop.user_id))
        .token(&admin.access)
        .send(&app)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = Call::new(Method::GET, &listing)
        .token(&admin.access)
        .send(&app)
        .await;
    assert_problem(&gone, StatusCode::NOT_FOUND, "not_found");
    let one = format!("{listing}/{}", laptop.sid);
    assert_problem(
        &end(&app, &admin.access, &one).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}

/// A `User-Agent` is the client's to write: what is kept, listed and audited of it has no
/// control, format or invisible character left (a bidi override would reverse the rest of the
/// line on an admin's screen, a zero-width space hide text, a tab break a log line).
async fn a_user_agent_is_shown_without_hidden_characters(app: TestApp) {
    let admin = account_with_role(&app, "admin@example.com", Role::Admin).await;
    support::account(&app, "ada@example.com", "Ada").await;
    let hostile = "\u{FEFF}Mozilla/5.0\t(X11; Linux x86_64)\u{202E}kcatta\u{202C} \
                   Fire\u{200B}fox/132.0\u{2066}\u{E0041} ";
    let cleaned = "Mozilla/5.0(X11; Linux x86_64)kcatta Firefox/132.0";
    let ada = sign_in(&app, "ada@example.com", hostile, "203.0.113.7").await;
    let invisible = sign_in(&app, "ada@example.com", "\u{200B}\u{202E}\t", "203.0.113.7").await;

    let own = listed(&app, &ada.access, "/api/auth/sessions").await;
    let admin = sign_in(&app, &admin.email, FIREFOX_MAC, "192.0.2.1").await;
    let listing = format!("/api/users/{}/sessions", ada.user_id);
    let as_admin = listed(&app, &admin.access, &listing).await;
    for page in [&own, &as_admin] {
        let sessions = page["data"].as_array().unwrap();
        let shown = |sid: &str| {
            sessions
                .iter()
                .find(|s| s["id"] == sid)
                .unwrap_or_else(|| panic!("{sid} in {page}"))
                .clone()
        };
        let hostile_view = shown(&ada.sid);
        assert_eq!(hostile_view["userAgent"], cleaned, "{page}");
        assert_eq!(hostile_view["device"], "Firefox 132 on Linux");
        assert_eq!(shown(&invisible.sid)["userAgent"], Value::Null);
    }
    let stored = stored(&app, &ada.user_id, &ada.sid).await.unwrap();
    assert_eq!(stored.origin.user_agent.as_deref(), Some(cleaned));

    let audit = listed(
        &app,
        &admin.access,
        &format!("/api/audit?action=login&actor={}", ada.user_id),
    )
    .await;
    let agents: Vec<&Value> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["userAgent"])
        .collect();
    assert_eq!(agents, [&Value::Null, &json!(cleaned)], "{audit}");
}

/// A demoted admin's ending does not commit: the write holds only while the role does.
async fn a_demoted_admin_cannot_end_a_session(app: TestApp) {
    let admin = account_with_role(&app, "admin@example.com", Role::Admin).await;
    let ada = user_signed_in(&app, "ada@example.com").await;
    app.stores
        .users
        .set_role(&admin.id, Role::User, now_ms())
        .await
        .unwrap();
    let one = format!("/api/users/{}/sessions/{}", ada.user_id, ada.sid);
    assert_problem(
        &end(&app, &admin.access, &one).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_eq!(me(&app, &ada.access).await, StatusCode::OK);

    // At the store: the role check is in the same transaction as the ending.
    let user: User = app
        .stores
        .users
        .get_user(&ada.user_id)
        .await
        .unwrap()
        .unwrap();
    let held = shared::store::RoleHeld {
        actor_id: admin.id.clone(),
        roles: &[Role::Admin],
    };
    let lost = app
        .stores
        .sessions
        .end_session(&user, &ada.sid, now_ms(), Some(&held))
        .await;
    assert!(
        matches!(lost, Err(shared::store::StoreError::Conflict)),
        "{lost:?}"
    );
    assert_eq!(me(&app, &ada.access).await, StatusCode::OK);
}

async fn pages_walk_every_session_once_newest_first(app: TestApp) {
    let first = user_signed_in(&app, "ada@example.com").await;
    let mut sids = vec![];
    for n in 0..4 {
        let ip = format!("198.51.100.{n}");
        sids.push(sign_in(&app, "ada@example.com", FIREFOX_MAC, &ip).await.sid);
    }
    // An ended one is not listed, and leaves no hole in the pages.
    let gone = sids.remove(1);
    let path = format!("/api/auth/sessions/{gone}");
    assert_eq!(
        end(&app, &first.access, &path).await.status(),
        StatusCode::NO_CONTENT
    );

    let mut seen = Vec::new();
    let mut path = "/api/auth/sessions?limit=2".to_owned();
    for _ in 0..10 {
        let page = listed(&app, &first.access, &path).await;
        assert!(page["data"].as_array().unwrap().len() <= 2);
        seen.extend(ids(&page));
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/api/auth/sessions?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let mut expected: Vec<String> = sids.iter().rev().cloned().collect();
    expected.push(first.sid.clone());
    // The registration's session is the oldest of all.
    assert_eq!(seen[..expected.len()], expected[..]);
    assert_eq!(seen.len(), expected.len() + 1, "{seen:?}");

    // A cursor is bound to its listing: not another user's, not a forged one.
    let bob = user_signed_in(&app, "bob@example.com").await;
    let page = listed(&app, &first.access, "/api/auth/sessions?limit=1").await;
    let cursor = page["nextCursor"].as_str().unwrap();
    let foreign = Call::new(Method::GET, &format!("/api/auth/sessions?cursor={cursor}"))
        .token(&bob.access)
        .send(&app)
        .await;
    assert_problem(&foreign, StatusCode::BAD_REQUEST, "invalid_cursor");
    for bad in ["limit=0", "limit=101", "limit=x", "cursor=garbage"] {
        let response = Call::new(Method::GET, &format!("/api/auth/sessions?{bad}"))
            .token(&bob.access)
            .send(&app)
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

on_both_stores! {
    the_list_shows_what_each_sign_in_recorded => Config::for_tests(),
    last_use_is_written_at_most_once_a_minute => Config::for_tests(),
    noting_a_use_never_revives_an_ended_session => Config::for_tests(),
    ending_a_session_ends_its_tokens_at_once => Config::for_tests(),
    another_users_session_is_not_found => Config::for_tests(),
    logout_others_keeps_only_the_current_session => Config::for_tests(),
    admins_list_and_end_a_users_sessions => Config::for_tests(),
    a_demoted_admin_cannot_end_a_session => Config::for_tests(),
    pages_walk_every_session_once_newest_first => Config::for_tests(),
    a_user_agent_is_shown_without_hidden_characters => Config::for_tests(),
}
