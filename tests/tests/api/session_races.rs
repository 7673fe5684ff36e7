//! Ending sessions while they are in use, over the shipped router, on both stores: whatever
//! order the writes land in, a session whose ending answered 204 is dead for every token it
//! ever issued, and an ending answers 204 once.

use crate::sessions::{SignedIn, audit_events, end, listed, me, sign_in, stored, user_signed_in};
use crate::support;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::json;
use shared::auth::LAST_USED_RESOLUTION_MS;
use shared::clock::now_ms;
use shared::config::Config;
use shared::domain::AuditAction;
use shared::store::keys;
use shared::store::table::{Returns, Update};
use support::{Call, TestApp, assert_problem, body_json, refresh_with};

const AGENT: &str = "curl/8.5.0";
const TRIALS: usize = 8;

/// Refreshes with `refresh`; on success, the new tokens.
async fn refreshed(app: &TestApp, refresh: &str) -> Result<(String, String), StatusCode> {
    let response = refresh_with(app, refresh).await;
    if response.status() != StatusCode::OK {
        assert_problem(&response, StatusCode::UNAUTHORIZED, "invalid_refresh_token");
        return Err(response.status());
    }
    let body = body_json(&response);
    let token = |name: &str| body[name].as_str().unwrap().to_owned();
    Ok((token("accessToken"), token("refreshToken")))
}

/// Every token `session` issued is refused: its access tokens and its refresh token.
async fn assert_dead(app: &TestApp, access: &[&str], refresh: &[&str]) {
    for token in access {
        assert_eq!(me(app, token).await, StatusCode::UNAUTHORIZED);
    }
    for token in refresh {
        assert_problem(
            &refresh_with(app, token).await,
            StatusCode::UNAUTHORIZED,
            "invalid_refresh_token",
        );
    }
}

async fn a_session_ended_while_it_refreshes_stays_ended(app: TestApp) {
    let app = Arc::new(app);
    let owner = user_signed_in(&app, "ada@example.com").await;
    for trial in 0..TRIALS {
        let target = sign_in(&app, "ada@example.com", AGENT, "198.51.100.1").await;
        let refreshing = {
            let (app, refresh) = (app.clone(), target.refresh.clone());
            tokio::spawn(async move { refreshed(&app, &refresh).await })
        };
        let ending = {
            let (app, access) = (app.clone(), owner.access.clone());
            let path = format!("/api/auth/sessions/{}", target.sid);
            tokio::spawn(async move { end(&app, &access, &path).await.status() })
        };
        let (refreshing, ending) = (refreshing.await.unwrap(), ending.await.unwrap());
        assert_eq!(ending, StatusCode::NO_CONTENT, "trial {trial}");
        // Either the refresh lost, or it won and what it handed out died with the session.
        if let Ok((access, refresh)) = &refreshing {
            assert_dead(&app, &[access], &[refresh]).await;
        }
        assert_dead(&app, &[&target.access], &[&target.refresh]).await;
        let session = stored(&app, &target.user_id, &target.sid).await.unwrap();
        assert!(session.revoked_at.is_some(), "trial {trial}: {session:?}");
    }
    assert_eq!(me(&app, &owner.access).await, StatusCode::OK);
}

/// Decided: ending is not idempotent. The second of two endings of one session finds no live
/// session and answers 404, as it would for any id that names none; exactly one is audited.
async fn one_session_ended_twice_at_once_ends_once(app: TestApp) {
    let app = Arc::new(app);
    let owner = user_signed_in(&app, "ada@example.com").await;
    for trial in 0..TRIALS {
        let target = sign_in(&app, "ada@example.com", AGENT, "198.51.100.2").await;
        let path = format!("/api/auth/sessions/{}", target.sid);
        let endings: Vec<_> = (0..2)
            .map(|_| {
                let (app, access, path) = (app.clone(), owner.access.clone(), path.clone());
                tokio::spawn(async move { end(&app, &access, &path).await.status() })
            })
            .collect();
        let mut statuses = Vec::new();
        for ending in endings {
            statuses.push(ending.await.unwrap());
        }
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::NO_CONTENT, StatusCode::NOT_FOUND],
            "trial {trial}"
        );
        let audited = audit_events(&app, AuditAction::SessionEnd).await;
        let of_target = audited
            .iter()
            .filter(|event| event.detail.as_deref() == Some(target.sid.as_str()))
            .count();
        assert_eq!(of_target, 1, "trial {trial}");
        assert_dead(&app, &[&target.access], &[&target.refresh]).await;
    }
}

/// "Log out other sessions" while the same user signs in elsewhere: the caller's session and
/// nothing older survives; the new one is either ended with the others (its sign-in read the
/// user before the logout committed) or lives on, and then wholly: access and refresh alike.
async fn logout_others_racing_a_new_sign_in(app: TestApp) {
    let app = Arc::new(app);
    for trial in 0..TRIALS {
        let email = format!("racer{trial}@example.com");
        let current = user_signed_in(&app, &email).await;
        let older = sign_in(&app, &email, AGENT, "198.51.100.3").await;
        let logout = {
            let (app, access) = (app.clone(), current.access.clone());
            tokio::spawn(async move {
                Call::new(Method::POST, "/api/auth/logout?scope=others")
                    .token(&access)
                    .send(&app)
                    .await
                    .status()
            })
        };
        let login = {
            let (app, email) = (app.clone(), email.clone());
            tokio::spawn(async move { sign_in(&app, &email, AGENT, "198.51.100.4").await })
        };
        let (logout, newcomer): (StatusCode, SignedIn) =
            (logout.await.unwrap(), login.await.unwrap());
        assert_eq!(logout, StatusCode::NO_CONTENT, "trial {trial}");

        assert_eq!(
            me(&app, &current.access).await,
            StatusCode::OK,
            "trial {trial}"
        );
        assert_dead(&app, &[&older.access], &[&older.refresh]).await;
        let newcomer_lives = me(&app, &newcomer.access).await == StatusCode::OK;
        let newcomer_refreshed = refreshed(&app, &newcomer.refresh).await;
        assert_eq!(
            newcomer_lives,
            newcomer_refreshed.is_ok(),
            "trial {trial}: a half-live session"
        );
        let page = listed(&app, &current.access, "/api/auth/sessions").await;
        let mut listed_ids: Vec<&str> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        listed_ids.sort();
        let mut expected = vec![current.sid.as_str()];
        if newcomer_lives {
            expected.push(newcomer.sid.as_str());
        }
        expected.sort();
        assert_eq!(listed_ids, expected, "trial {trial}");
        let refreshed_current = refreshed(&app, &current.refresh).await;
        assert!(refreshed_current.is_ok(), "trial {trial}");
    }
}

/// A request noting its session's use while the session is ended: the note never undoes the
/// ending.
async fn a_use_noted_while_the_session_ends_does_not_revive_it(app: TestApp) {
    let app = Arc::new(app);
    let owner = user_signed_in(&app, "ada@example.com").await;
    let table = support::table_of(&app).await;
    for trial in 0..TRIALS {
        let target = sign_in(&app, "ada@example.com", AGENT, "198.51.100.5").await;
        // Idle for over a minute, so its next request writes its last use.
        let idle = Update::new(keys::session(&target.user_id, &target.sid))
            .set("lastUsedAt", now_ms() - LAST_USED_RESOLUTION_MS - 1000);
        table.update(idle, Returns::Nothing).await.unwrap();
        let using = {
            let (app, access) = (app.clone(), target.access.clone());
            tokio::spawn(async move { me(&app, &access).await })
        };
        let ending = {
            let (app, access) = (app.clone(), owner.access.clone());
            let path = format!("/api/auth/sessions/{}", target.sid);
            tokio::spawn(async move { end(&app, &access, &path).await.status() })
        };
        let (used, ended) = (using.await.unwrap(), ending.await.unwrap());
        assert!(
            [StatusCode::OK, StatusCode::UNAUTHORIZED].contains(&used),
            "trial {trial}: {used}"
        );
        assert_eq!(ended, StatusCode::NO_CONTENT, "trial {trial}");
        let session = stored(&app, &target.user_id, &target.sid).await.unwrap();
        assert!(session.revoked_at.is_some(), "trial {trial}: {session:?}");
        assert_dead(&app, &[&target.access], &[&target.refresh]).await;
    }
}

/// `logout?scope=others` at once from two sessions of one user: one ends the other's session
/// (204) and the other finds its own ended (401); exactly the first lives on.
async fn two_sessions_logging_each_other_out(app: TestApp) {
    let app = Arc::new(app);
    for trial in 0..TRIALS {
        let email = format!("mutual{trial}@example.com");
        let first = user_signed_in(&app, &email).await;
        let second = sign_in(&app, &email, AGENT, "198.51.100.6").await;
        let calls: Vec<_> = [&first, &second]
            .into_iter()
            .map(|signed| {
                let (app, access) = (app.clone(), signed.access.clone());
                tokio::spawn(async move {
                    Call::new(Method::POST, "/api/auth/logout?scope=others")
                        .token(&access)
                        .json(json!({}))
                        .send(&app)
                        .await
                        .status()
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for (call, signed) in calls.into_iter().zip([&first, &second]) {
            let status = call.await.unwrap();
            outcomes.push((status, me(&app, &signed.access).await, signed));
        }
        let mut statuses: Vec<StatusCode> = outcomes.iter().map(|o| o.0).collect();
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::NO_CONTENT, StatusCode::UNAUTHORIZED],
            "trial {trial}"
        );
        for (status, now, signed) in &outcomes {
            let expected = match *status {
                StatusCode::NO_CONTENT => StatusCode::OK,
                _ => StatusCode::UNAUTHORIZED,
            };
            assert_eq!(*now, expected, "trial {trial}: {}", signed.sid);
        }
        let (_, _, survivor) = outcomes
            .iter()
            .find(|o| o.0 == StatusCode::NO_CONTENT)
            .unwrap();
        let page = listed(&app, &survivor.access, "/api/auth/sessions").await;
        assert_eq!(page["data"].as_array().unwrap().len(), 1, "trial {trial}");
    }
}

fn config() -> Config {
    Config::for_tests()
}

on_both_stores! {
    a_session_ended_while_it_refreshes_stays_ended => config(),
    one_session_ended_twice_at_once_ends_once => config(),
    logout_others_racing_a_new_sign_in => config(),
    a_use_noted_while_the_session_ends_does_not_revive_it => config(),
    two_sessions_logging_each_other_out => config(),
}
