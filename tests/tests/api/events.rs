//! The sample API Gateway events in `events/` (the ones `cargo lambda invoke --data-file` uses)
//! and HTTP API (v2) events, as `cargo lambda watch` and function URLs send them, fed to each
//! function's router exactly as Lambda runs it.

use crate::support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use shared::config::Config;
use shared::http::Routes;
use support::{TestApp, TestResponse, body_json};
use tower::ServiceExt;

/// The function that owns a route template, per the route list.
fn owner(method: &str, path: &str) -> Routes {
    local_api::http_functions()
        .into_iter()
        .find(|routes| {
            routes
                .specs()
                .iter()
                .any(|s| s.path == path && s.method.as_str() == method)
        })
        .unwrap_or_else(|| panic!("no function serves {method} {path}"))
}

async fn invoke_lambda(app: &TestApp, routes: Routes, event: &str) -> TestResponse {
    let req = lambda_http::request::from_str(event)
        .unwrap_or_else(|e| panic!("not an API Gateway event: {e}\n{event}"));
    let service = shared::lambda::service(routes, app.app.clone());
    TestResponse::read(service.oneshot(req).await.expect("infallible")).await
}

/// Loads `events/<name>.json`, fills its placeholders, and invokes the function that owns its
/// route (read from the event's `resource`, as API Gateway would route it).
async fn invoke(app: &TestApp, name: &str, tokens: &Value) -> TestResponse {
    let path = format!("{}/../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for placeholder in ["accessToken", "refreshToken", "userId", "postId"] {
        if let Some(value) = tokens[placeholder].as_str() {
            text = text.replace(&format!("{{{{{placeholder}}}}}"), value);
        }
    }
    let event: Value = serde_json::from_str(&text).unwrap();
    let routes = owner(
        event["httpMethod"].as_str().unwrap(),
        event["resource"].as_str().unwrap(),
    );
    invoke_lambda(app, routes, &text).await
}

#[tokio::test]
async fn every_sample_event_is_served_by_its_function() {
    let app = support::sqlite_app_with(Config::for_tests());
    let none = Value::Null;

    let registered = invoke(&app, "register", &none).await;
    assert_eq!(
        registered.status(),
        StatusCode::CREATED,
        "{:?}",
        registered.body()
    );
    let registered = body_json(&registered);
    assert_eq!(registered["user"]["email"], "events@example.com");

    let login = invoke(&app, "login", &none).await;
    assert_eq!(login.status(), StatusCode::OK);
    let login = body_json(&login);

    let me = invoke(&app, "users-me", &login).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(body_json(&me)["id"], registered["user"]["id"]);

    let mfa = invoke(&app, "mfa-status", &login).await;
    assert_eq!(mfa.status(), StatusCode::OK, "{:?}", mfa.body());
    assert_eq!(body_json(&mfa)["aal"], "aal1");
    // The session records the address API Gateway saw and the client it named.
    let sessions = invoke(&app, "sessions-list", &login).await;
    assert_eq!(sessions.status(), StatusCode::OK, "{:?}", sessions.body());
    let sessions = body_json(&sessions);
    let current = &sessions["data"][0];
    assert_eq!(current["current"], true, "{sessions}");
    assert_eq!(current["ip"], "203.0.113.7");
    assert_eq!(current["network"], "203.0.113.0/24");
    assert_eq!(current["device"], "curl 8");

    let refreshed = invoke(&app, "refresh", &login).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let refreshed = body_json(&refreshed);

    let logout = invoke(&app, "logout", &refreshed).await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let after = invoke(&app, "refresh", &refreshed).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);

    let forgot = invoke(&app, "forgot-password", &none).await;
    assert_eq!(forgot.status(), StatusCode::ACCEPTED);
    let lead = invoke(&app, "leads-submit", &none).await;
    assert_eq!(lead.status(), StatusCode::ACCEPTED, "{:?}", lead.body());

    let everywhere = invoke(&app, "logout-all", &registered).await;
    assert_eq!(everywhere.status(), StatusCode::NO_CONTENT);
    let me = invoke(&app, "users-me", &registered).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}

/// The sample SQS event (`cargo lambda invoke email-worker --data-file events/sqs-email.json`)
/// holds a job the workers accept.
#[test]
fn the_sample_sqs_event_holds_a_job() {
    let path = format!("{}/../events/sqs-email.json", env!("CARGO_MANIFEST_DIR"));
    let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let body = event["Records"][0]["body"].as_str().unwrap();
    let job = shared::jobs::Job::from_json(body).expect("a job");
    assert_eq!(job.queue(), Some(shared::jobs::Queue::Email));
}

#[tokio::test]
async fn a_stage_prefixed_rest_event_routes_on_the_path_the_client_asked_for() {
    let app = support::sqlite_app_with(Config::for_tests());
    let path = format!("{}/../events/register.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let req = lambda_http::request::from_str(&text).unwrap();
    // Without AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH the stage is in the URI; the router must
    // still find the route.
    assert_eq!(req.uri().path(), "/prod/api/auth/register");
    let response = invoke_lambda(&app, register::routes(), &text).await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        response.body()
    );
}

#[tokio::test]
async fn user_and_post_events_walk_their_routes() {
    let app = support::sqlite_app_with(Config::for_tests());
    let reader = invoke(&app, "register", &Value::Null).await;
    let mut tokens = body_json(&reader);
    tokens["userId"] = tokens["user"]["id"].clone();

    let expect = async |name: &str, tokens: &Value, status: StatusCode| {
        let response = invoke(&app, name, tokens).await;
        assert_eq!(response.status(), status, "{name}: {:?}", response.body());
        body_json(&response)
    };
    let created = expect("posts-create", &tokens, StatusCode::CREATED).await;
    tokens["postId"] = created["id"].clone();
    let listed = expect("posts-list", &tokens, StatusCode::OK).await;
    assert_eq!(listed["data"][0]["id"], tokens["postId"]);
    expect("posts-get", &tokens, StatusCode::OK).await;
    expect("posts-patch", &tokens, StatusCode::OK).await;
    expect("user-posts", &tokens, StatusCode::OK).await;
    expect("users-get", &tokens, StatusCode::OK).await;
    expect("users-patch", &tokens, StatusCode::OK).await;
    expect("users-list", &tokens, StatusCode::FORBIDDEN).await;
    expect("dashboard-metrics", &tokens, StatusCode::FORBIDDEN).await;
    expect("posts-delete", &tokens, StatusCode::NO_CONTENT).await;
    let changed = expect("password-change", &tokens, StatusCode::OK).await;
    tokens["accessToken"] = changed["accessToken"].clone();
    expect("users-delete", &tokens, StatusCode::NO_CONTENT).await;
}

/// An HTTP API (payload 2.0) event, as `cargo lambda watch` and function URLs send.
fn v2_event(method: &str, path: &str, token: &str, body: Option<&Value>) -> String {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "authorization": format!("Bearer {token}"),
            "content-type": "application/json",
            "host": "localhost:9000"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "curl/8.5.0"
            },
            "requestId": "v2-request",
            "routeKey": "$default",
            "stage": "$default",
            "time": "24/Nov/2026:22:00:00 +0000",
            "timeEpoch": 1795543200000u64
        },
        "body": body.map(Value::to_string),
        "isBase64Encoded": false
    })
    .to_string()
}

#[tokio::test]
async fn every_route_answers_a_v2_event_through_its_function() {
    let app = support::sqlite_app_with(Config::for_tests());
    let account = support::account(&app, "v2@example.com", "Vee").await;
    let mut served = 0;
    for routes in local_api::http_functions() {
        for spec in routes.specs().to_vec() {
            let path = spec.path.replace("{id}", &account.id);
            let event = v2_event(
                spec.method.as_str(),
                &path,
                &account.access,
                Some(&json!({})),
            );
            let function = owner(spec.method.as_str(), spec.path);
            let response = invoke_lambda(&app, function, &event).await;
            let code = body_json(&response)["code"].clone();
            assert_ne!(code, "route_not_found", "{} {path}", spec.method);
            assert_ne!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{} {path}",
                spec.method
            );
            assert!(
                !response.status().is_server_error(),
                "{} {path}: {:?}",
                spec.method,
                response.body()
            );
            served += 1;
        }
    }
    assert!(served >= 16, "only {served} routes");
}

/// The address API Gateway reports (v1 `identity.sourceIp`, v2 `http.sourceIp`) is the one the
/// limits count and the audit log records; an `X-Forwarded-For` in the event changes nothing.
#[tokio::test]
async fn the_gateways_source_address_is_the_one_counted_and_logged() {
    use shared::domain::AuditAction;
    use shared::limits::{RateLimits, Rule};
    let config = Config {
        rate_limits: RateLimits {
            login_ip: Rule::parse("2/15m").unwrap(),
            ..RateLimits::default()
        },
        ..Config::for_tests()
    };
    let app = support::sqlite_app_with(config);
    let body = json!({ "email": "nobody@example.com", "password": "wrong password" });
    let v1 = |forwarded: &str| {
        let path = format!("{}/../events/login.json", env!("CARGO_MANIFEST_DIR"));
        let mut event: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        event["body"] = body.to_string().into();
        event["headers"]["X-Forwarded-For"] = forwarded.into();
        event["multiValueHeaders"]["X-Forwarded-For"] = json!([forwarded]);
        event.to_string()
    };
    let v2 = |forwarded: &str| {
        let mut event: Value =
            serde_json::from_str(&v2_event("POST", "/api/auth/login", "", Some(&body))).unwrap();
        event["requestContext"]["http"]["sourceIp"] = "198.51.100.20".into();
        event["headers"]["x-forwarded-for"] = forwarded.into();
        event.to_string()
    };
    for event in [v1("10.0.0.1"), v1("10.0.0.2")] {
        let response = invoke_lambda(&app, login::routes(), &event).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{:?}",
            response.body()
        );
    }
    let third = invoke_lambda(&app, login::routes(), &v1("10.0.0.3")).await;
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another source address (v2) has its own count.
    let other = invoke_lambda(&app, login::routes(), &v2("203.0.113.7")).await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);

    let query = shared::store::AuditQuery {
        action: Some(AuditAction::Login),
        ..Default::default()
    };
    let logged = app
        .stores
        .audit
        .list_events(&query, None, 10)
        .await
        .unwrap()
        .items;
    let mut addresses: Vec<_> = logged
        .iter()
        .map(|e| e.source_ip.clone().unwrap())
        .collect();
    addresses.sort();
    assert_eq!(addresses, ["198.51.100.20", "203.0.113.7", "203.0.113.7"]);
}

/// The `cargo lambda watch` flow (scripts/watch-test) through the handlers, with the v2 events
/// that server sends: register → login → me → create a post → read it, each by its function.
#[tokio::test]
async fn the_watch_flow_runs_on_v2_events() {
    let app = support::sqlite_app_with(Config::for_tests());
    let send = async |method: &str, path: &str, token: &str, body: Option<Value>| {
        let event = v2_event(method, path, token, body.as_ref());
        let template = if path.starts_with("/api/posts/") {
            "/api/posts/{id}"
        } else {
            path
        };
        let response = invoke_lambda(&app, owner(method, template), &event).await;
        (response.status(), body_json(&response))
    };
    let credentials = json!({ "email": "flow@example.com", "password": "correct horse battery" });
    let mut registration = credentials.clone();
    registration["name"] = "Flow".into();
    let (status, user) = send("POST", "/api/auth/register", "", Some(registration)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, session) = send("POST", "/api/auth/login", "", Some(credentials)).await;
    assert_eq!(status, StatusCode::OK);
    let token = session["accessToken"].as_str().unwrap();
    let (status, me) = send("GET", "/api/users/me", token, None).await;
    assert_eq!((status, &me["id"]), (StatusCode::OK, &user["user"]["id"]));
    let post = json!({ "title": "Through v2 events", "content": "hello", "status": "published" });
    let (status, created) = send("POST", "/api/posts", token, Some(post)).await;
    assert_eq!(status, StatusCode::CREATED);
    let path = format!("/api/posts/{}", created["id"].as_str().unwrap());
    let (status, read) = send("GET", &path, token, None).await;
    assert_eq!(
        (status, &read["title"]),
        (StatusCode::OK, &json!("Through v2 events"))
    );
}

/// Every file in `events/` is a working event of its function: API Gateway v1 and v2 events are
/// served by the function owning their route (a signed-in user's token filled in), SQS batches
/// hold a job of the queue they name, schedules carry the time to use.
#[tokio::test]
async fn every_file_in_events_works() {
    let app = support::sqlite_app_with(Config::for_tests());
    let account = support::account(&app, "v2@example.com", "Vee").await;
    let dir = format!("{}/../events", env!("CARGO_MANIFEST_DIR"));
    let mut kinds = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("{{accessToken}}", &account.access)
            .replace("{{refreshToken}}", &account.refresh)
            .replace("{{userId}}", &account.id);
        let event: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let kind = if event["Records"].is_array() {
            for record in event["Records"].as_array().unwrap() {
                let job = shared::jobs::Job::from_json(record["body"].as_str().unwrap())
                    .unwrap_or_else(|e| panic!("{name}: {e:?}"));
                let queue = job.queue().expect("a queued job").name();
                assert!(
                    record["eventSourceARN"]
                        .as_str()
                        .unwrap()
                        .ends_with(&format!(":{queue}-queue")),
                    "{name}"
                );
            }
            "sqs"
        } else if event.get("scheduledTime").is_some() {
            let schedule: shared::metrics::ScheduledEvent = serde_json::from_str(&text).unwrap();
            assert!(
                schedule
                    .scheduled_time
                    .as_deref()
                    .and_then(shared::clock::parse_rfc3339)
                    .is_some(),
                "{name}"
            );
            "schedule"
        } else {
            let (method, template, kind) = match event["version"].as_str() {
                Some("2.0") => (
                    event["requestContext"]["http"]["method"].as_str().unwrap(),
                    event["rawPath"].as_str().unwrap(),
                    "v2",
                ),
                _ => (
                    event["httpMethod"].as_str().unwrap(),
                    event["resource"].as_str().unwrap(),
                    "v1",
                ),
            };
            if template.contains("{id}") {
                // Walked with real ids by `user_and_post_events_walk_their_routes`.
                continue;
            }
            let response = invoke_lambda(&app, owner(method, template), &text).await;
            assert!(
                !response.status().is_server_error(),
                "{name}: {:?}",
                response.body()
            );
            assert_ne!(body_json(&response)["code"], "route_not_found", "{name}");
            kind
        };
        *kinds.entry(kind).or_insert(0) += 1;
    }
    // v1 and v2 samples, both queues' batches, both schedules.
    assert!(kinds["v1"] >= 10 && kinds["v2"] >= 8, "{kinds:?}");
    assert_eq!((kinds["sqs"], kinds["schedule"]), (2, 2), "{kinds:?}");
}

/// The key documents as API Gateway delivers them: the discovery document points at the JWKS
/// under the stage, on the host the client used.
#[tokio::test]
async fn the_key_documents_name_the_url_the_client_used() {
    let app = support::sqlite_app_with(Config::for_tests());
    let discovery = invoke(&app, "openid-configuration", &Value::Null).await;
    assert_eq!(discovery.status(), StatusCode::OK);
    assert_eq!(
        body_json(&discovery)["jwks_uri"],
        "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/.well-known/jwks.json"
    );
    let jwks = invoke(&app, "jwks", &Value::Null).await;
    assert_eq!(jwks.status(), StatusCode::OK);
    assert_eq!(body_json(&jwks)["keys"].as_array().unwrap().len(), 1);
}
