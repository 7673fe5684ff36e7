//! The public lead form under a flood: limited per source address and per phone (429 with
//! `Retry-After`), and the admins' notices come out of a shared budget, so leads from many
//! addresses are still stored and listed but cannot flood the notice queue that security notices
//! share. Both stores.

use crate::support;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use serde_json::json;
use shared::config::Config;
use shared::jobs::{Notice, Work};
use shared::limits::{RateLimits, Rule};
use support::{Call, Captured, TestApp, assert_problem, header};

fn limited() -> Config {
    Config {
        rate_limits: RateLimits {
            lead_ip: Rule::parse("3/1h").unwrap(),
            lead_phone: Rule::parse("2/1h").unwrap(),
            lead_notices: Rule::parse("4/1h").unwrap(),
            ..RateLimits::default()
        },
        admin_email: Some("team@example.com".into()),
        ..Config::for_tests()
    }
}

async fn lead(app: &TestApp, from: &str, phone: &str) -> support::TestResponse {
    Call::new(Method::POST, "/api/leads")
        .sent_from(from)
        .json(json!({ "phone": phone, "source": "landing" }))
        .send(app)
        .await
}

async fn lead_notices(mails: &Captured) -> usize {
    mails
        .jobs()
        .await
        .iter()
        .filter(|job| matches!(&job.work, Work::Telegram(Notice::NewLead(_))))
        .count()
}

async fn lead_mails(mails: &Captured) -> usize {
    mails
        .jobs()
        .await
        .iter()
        .filter(|job| matches!(&job.work, Work::Email(mail) if mail.to == "team@example.com"))
        .count()
}

async fn one_address_and_one_phone_are_limited(app: TestApp) {
    let (app, _) = support::capturing(app);
    for n in 0..3 {
        let ok = lead(&app, "198.51.100.1", &format!("+1202555010{n}")).await;
        assert_eq!(ok.status(), StatusCode::ACCEPTED);
    }
    let over = lead(&app, "198.51.100.1", "+12025550109").await;
    assert_problem(&over, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    assert!(header(&over, "retry-after").is_some());

    // One phone from many addresses.
    for n in 0..2 {
        let ok = lead(&app, &format!("203.0.113.{n}"), "+12025550150").await;
        assert_eq!(ok.status(), StatusCode::ACCEPTED);
    }
    let over = lead(&app, "203.0.113.9", "+12025550150").await;
    assert_problem(&over, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
}

async fn a_flood_from_many_addresses_spends_only_the_notice_budget(app: TestApp) {
    let (app, mails) = support::capturing(app);
    let app = Arc::new(app);
    let sent = (0..20).map(|n| {
        let app = app.clone();
        tokio::spawn(async move {
            lead(&app, &format!("192.0.2.{n}"), &format!("+120255502{n:02}"))
                .await
                .status()
        })
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(sent)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        statuses.iter().all(|s| *s == StatusCode::ACCEPTED),
        "{statuses:?}"
    );
    // Every lead is stored; only the budget's worth announced, on both channels.
    let listed = app
        .stores
        .leads
        .list_leads(None, 100)
        .await
        .unwrap()
        .items
        .len();
    assert_eq!(listed, 20);
    assert_eq!(lead_notices(&mails).await, 4);
    assert_eq!(lead_mails(&mails).await, 4);
}

on_both_stores! {
    one_address_and_one_phone_are_limited => limited(),
    a_flood_from_many_addresses_spends_only_the_notice_budget => limited(),
}
