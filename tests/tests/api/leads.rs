//! The public lead form and the admins' list, through the shipped handlers on both stores.

use crate::support;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use futures_util::future::join_all;
use serde_json::json;
use shared::config::Config;
use shared::domain::Role;
use shared::jobs::{MailMessage, Notice, Work, render_notice};
use support::{Call, TestApp, account, account_with_role, assert_problem, body_json};

const HOSTILE: &str = "_a*b [c](d) <e> & \"f\"";

async fn submit(app: &TestApp, body: serde_json::Value) -> support::TestResponse {
    Call::new(Method::POST, "/api/leads")
        .json(body)
        .send(app)
        .await
}

async fn a_lead_reaches_the_admins_with_every_value_intact(app: TestApp) {
    let (app, sent) = support::capturing(app);
    let response = submit(
        &app,
        json!({ "phone": "+1 (415) 555-2671", "source": HOSTILE, "name": HOSTILE, "message": format!("{HOSTILE}\nsecond line") }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let id = body_json(&response)["id"].as_str().unwrap().to_owned();
    let jobs = sent.jobs().await;
    let notice = jobs
        .iter()
        .find_map(|job| match &job.work {
            Work::Telegram(notice @ Notice::NewLead(_)) => Some(notice.clone()),
            _ => None,
        })
        .expect("a Telegram notice");
    let Notice::NewLead(lead) = &notice else {
        unreachable!()
    };
    assert_eq!(lead.phone, "+14155552671");
    assert_eq!(lead.source, HOSTILE);
    assert_eq!(lead.name.as_deref(), Some(HOSTILE));
    let html = render_notice(&notice);
    assert!(
        html.contains("Source: _a*b [c](d) &lt;e&gt; &amp; &quot;f&quot;"),
        "{html}"
    );
    assert!(!html.contains("<e>"));
    // The admins' mail goes out only when ADMIN_EMAIL is configured: not here.
    assert!(!jobs.iter().any(|job| matches!(&job.work, Work::Email(_))));

    let admin = account_with_role(&app, "leads-admin@example.com", Role::Admin).await;
    let listed = Call::new(Method::GET, "/api/leads")
        .token(&admin.access)
        .send(&app)
        .await;
    assert_eq!(listed.status(), StatusCode::OK);
    let listed = body_json(&listed);
    assert_eq!(listed["data"][0]["id"], id.as_str());
    assert_eq!(listed["data"][0]["status"], "new");
    assert_eq!(
        listed["data"][0]["message"],
        format!("{HOSTILE}\nsecond line")
    );
}

async fn bad_leads_are_422_and_store_nothing(app: TestApp) {
    for (body, field) in [
        (json!({ "source": "site" }), "phone"),
        (
            json!({ "phone": "call me maybe", "source": "site" }),
            "phone",
        ),
        (json!({ "phone": "+1 123", "source": "site" }), "phone"),
        (json!({ "phone": "+14155552671" }), "source"),
        (
            json!({ "phone": "+14155552671", "source": "x".repeat(101) }),
            "source",
        ),
        (
            json!({ "phone": "+14155552671", "source": "s", "name": "n".repeat(101) }),
            "name",
        ),
        (
            json!({ "phone": "+14155552671", "source": "s", "message": "m".repeat(2001) }),
            "message",
        ),
        (
            json!({ "phone": "+14155552671", "source": "s\u{202E}" }),
            "source",
        ),
        (
            json!({ "phone": "+14155552671", "source": "s", "name": "a\r\nb" }),
            "name",
        ),
    ] {
        let response = submit(&app, body).await;
        let problem = assert_problem(
            &response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let extra = submit(
        &app,
        json!({ "phone": "+14155552671", "source": "s", "status": "closed" }),
    )
    .await;
    assert_problem(
        &extra,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let admin = account_with_role(&app, "empty-admin@example.com", Role::Admin).await;
    let listed = Call::new(Method::GET, "/api/leads")
        .token(&admin.access)
        .send(&app)
        .await;
    assert_eq!(body_json(&listed)["data"].as_array().unwrap().len(), 0);
}

async fn only_admins_work_leads_with_optimistic_locking(app: TestApp) {
    let app = Arc::new(app);
    let id = {
        let response = submit(
            &app,
            json!({ "phone": "+442079460958", "source": "footer" }),
        )
        .await;
        body_json(&response)["id"].as_str().unwrap().to_owned()
    };
    let path = format!("/api/leads/{id}");
    let user = account(&app, "not-admin@example.com", "User").await;
    let moderator = account_with_role(&app, "mod-leads@example.com", Role::Moderator).await;
    let admin = account_with_role(&app, "admin-leads@example.com", Role::Admin).await;
    assert_eq!(
        Call::new(Method::GET, "/api/leads")
            .send(&app)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    for token in [&user.access, &moderator.access] {
        let listed = Call::new(Method::GET, "/api/leads")
            .token(token)
            .send(&app)
            .await;
        assert_problem(&listed, StatusCode::FORBIDDEN, "forbidden");
        let patched = Call::new(Method::PATCH, &path)
            .token(token)
            .json(json!({ "status": "closed" }))
            .send(&app)
            .await;
        assert_problem(&patched, StatusCode::FORBIDDEN, "forbidden");
    }
    let stale = Call::new(Method::PATCH, &path)
        .token(&admin.access)
        .header("if-match", "\"7\"")
        .json(json!({ "status": "contacted" }))
        .send(&app)
        .await;
    assert_problem(
        &stale,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    );
    let bad = Call::new(Method::PATCH, &path)
        .token(&admin.access)
        .json(json!({ "status": "won" }))
        .send(&app)
        .await;
    assert_problem(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // Two admins with the same version: exactly one wins.
    let racers = ["contacted", "closed"].map(|status| {
        let (app, path, token) = (app.clone(), path.clone(), admin.access.clone());
        tokio::spawn(async move {
            Call::new(Method::PATCH, &path)
                .token(&token)
                .header("if-match", "\"1\"")
                .json(json!({ "status": status }))
                .send(&app)
                .await
                .status()
        })
    });
    let mut statuses: Vec<u16> = join_all(racers)
        .await
        .into_iter()
        .map(|s| s.unwrap().as_u16())
        .collect();
    statuses.sort();
    assert_eq!(statuses, [200, 412]);
    let missing = Call::new(
        Method::PATCH,
        "/api/leads/0190c3a4-0000-7000-8000-000000000000",
    )
    .token(&admin.access)
    .json(json!({ "status": "closed" }))
    .send(&app)
    .await;
    assert_problem(&missing, StatusCode::NOT_FOUND, "not_found");
}

async fn the_lead_list_pages_newest_first(app: TestApp) {
    let admin = account_with_role(&app, "pager@example.com", Role::Admin).await;
    let mut created = Vec::new();
    for i in 0..7 {
        let response = submit(
            &app,
            json!({ "phone": "+14155552671", "source": format!("s{i}") }),
        )
        .await;
        created.push(body_json(&response)["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut path = "/api/leads?limit=3".to_owned();
    loop {
        let page = Call::new(Method::GET, &path)
            .token(&admin.access)
            .send(&app)
            .await;
        let page = body_json(&page);
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["id"].as_str().unwrap().to_owned()),
        );
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/api/leads?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    // Newest first: ids are time-ordered (UUIDv7, monotonic within a millisecond).
    created.reverse();
    assert_eq!(seen, created);
}

async fn admins_get_a_mail_when_configured(app: TestApp) {
    let (app, sent) = support::capturing(app);
    let response = submit(
        &app,
        json!({ "phone": "+14155552671", "source": "pricing page" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let mailed = sent.jobs().await.into_iter().any(|job| {
        matches!(&job.work, Work::Email(mail)
            if mail.to == "sales@example.com" && matches!(&mail.message, MailMessage::NewLead(lead) if lead.source == "pricing page"))
    });
    assert!(mailed);
}

fn config() -> Config {
    Config::for_tests()
}

fn with_admin_email() -> Config {
    Config {
        admin_email: Some("sales@example.com".into()),
        ..Config::for_tests()
    }
}

on_both_stores! {
    a_lead_reaches_the_admins_with_every_value_intact => config(),
    bad_leads_are_422_and_store_nothing => config(),
    only_admins_work_leads_with_optimistic_locking => config(),
    the_lead_list_pages_newest_first => config(),
    admins_get_a_mail_when_configured => with_admin_email(),
}
