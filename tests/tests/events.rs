//! The sample API Gateway events in `events/` (the ones `cargo lambda invoke --data-file` uses),
//! fed through the Lambda request conversion to the shipped handlers.

mod support;

use lambda_http::http::StatusCode;
use serde_json::Value;
use shared::App;
use shared::config::Config;
use shared::http::Response;
use support::body_json;

fn load_event(name: &str, tokens: &Value) -> shared::http::Request {
    let path = format!("{}/../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for placeholder in ["accessToken", "refreshToken", "userId", "postId"] {
        if let Some(value) = tokens[placeholder].as_str() {
            text = text.replace(&format!("{{{{{placeholder}}}}}"), value);
        }
    }
    lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("{path} is not an API Gateway event: {e}"))
}

async fn invoke(app: &App, name: &str, tokens: &Value) -> Response {
    let req = load_event(name, tokens);
    match name {
        "register" => register::handle(app, req).await,
        "login" => login::handle(app, req).await,
        "refresh" | "logout" | "logout-all" => refresh::handle(app, req).await,
        "password-change" => login::handle(app, req).await,
        name if name.starts_with("users-") => users::handle(app, req).await,
        name if name.starts_with("posts-") || name == "user-posts" => posts::handle(app, req).await,
        other => panic!("no handler mapped for event {other}"),
    }
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

    let refreshed = invoke(&app, "refresh", &login).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let refreshed = body_json(&refreshed);

    let logout = invoke(&app, "logout", &refreshed).await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let after = invoke(&app, "refresh", &refreshed).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);

    let everywhere = invoke(&app, "logout-all", &registered).await;
    assert_eq!(everywhere.status(), StatusCode::NO_CONTENT);
    let me = invoke(&app, "users-me", &registered).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_stage_prefix_never_reaches_routing() {
    let app = support::sqlite_app_with(Config::for_tests());
    let req = load_event("register", &Value::Null);
    // The URI carries the stage, the raw path does not; routing uses the raw path.
    assert!(req.uri().path().starts_with("/prod/") || req.uri().path() == "/api/auth/register");
    assert_eq!(shared::http::path_of(&req), "/api/auth/register");
    let response = register::handle(&app, req).await;
    assert_eq!(response.status(), StatusCode::CREATED);
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
        body_json_or_null(&response)
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
    expect("posts-delete", &tokens, StatusCode::NO_CONTENT).await;
    let changed = expect("password-change", &tokens, StatusCode::OK).await;
    tokens["accessToken"] = changed["accessToken"].clone();
    expect("users-delete", &tokens, StatusCode::NO_CONTENT).await;
}

fn body_json_or_null(response: &Response) -> Value {
    match response.body() {
        lambda_http::Body::Empty => Value::Null,
        _ => body_json(response),
    }
}
