//! Posts and user administration end to end over real HTTP, through the `local-api` binary.

use crate::support;

use serde_json::{Value, json};
use support::{Server, problem};

#[tokio::test]
async fn write_read_cache_edit_and_delete_a_post() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let author = server
        .register("author@example.com", "correct horse battery")
        .await;
    let token = author["accessToken"].as_str().unwrap();

    let created = server
        .post_authed("/api/posts", token, json!({ "title": "Hello", "content": "<b>raw</b>", "status": "published", "tags": ["intro"] }))
        .await;
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let post: Value = created.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/posts/{}", post["id"].as_str().unwrap())
    );

    let public = server.http.get(server.url(&location)).send().await.unwrap();
    assert_eq!(public.status(), 200);
    assert_eq!(
        public.headers()["cache-control"],
        "public, max-age=60, stale-while-revalidate=300"
    );
    let etag = public.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = public.json().await.unwrap();
    assert_eq!(
        body["content"], "<b>raw</b>",
        "content comes back exactly as stored"
    );

    let cached = server
        .http
        .get(server.url(&location))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);

    let listed: Value = server
        .http
        .get(server.url("/api/posts?tag=intro"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"][0]["id"], post["id"]);
    assert!(listed["nextCursor"].is_null());

    let edit = |if_match: &str| {
        server
            .http
            .patch(server.url(&location))
            .bearer_auth(token)
            .header("if-match", if_match)
            .json(&json!({ "title": "Hello, edited" }))
            .send()
    };
    assert_eq!(edit(&etag).await.unwrap().status(), 200);
    problem(edit(&etag).await.unwrap(), 412, "precondition_failed").await;

    let forged = server
        .http
        .get(server.url("/api/posts?cursor=Zm9v.YmFy"))
        .send()
        .await
        .unwrap();
    problem(forged, 400, "invalid_cursor").await;

    let deleted = server
        .http
        .delete(server.url(&location))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = server.http.get(server.url(&location)).send().await.unwrap();
    problem(gone, 404, "not_found").await;
}

#[tokio::test]
async fn an_admin_lists_and_deletes_users() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let admin = server
        .register("admin@example.com", "correct horse battery")
        .await;
    let member = server
        .register("member@example.com", "correct horse battery")
        .await;
    let promote = std::process::Command::new(env!("CARGO_BIN_EXE_local-api"))
        .args(["promote", "admin@example.com", "admin"])
        .env("DATA_DIR", dir.path())
        .env_remove("STORE")
        .output()
        .unwrap();
    assert!(promote.status.success());
    let token = admin["accessToken"].as_str().unwrap();

    let listed: Value = server
        .get_authed("/api/users?limit=1", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let next = listed["nextCursor"].as_str().unwrap();
    let rest: Value = server
        .get_authed(&format!("/api/users?limit=1&cursor={next}"), token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["data"][0]["email"], "member@example.com");

    let member_id = member["user"]["id"].as_str().unwrap();
    let forbidden = server
        .get_authed("/api/users", member["accessToken"].as_str().unwrap())
        .await;
    problem(forbidden, 403, "forbidden").await;
    let deleted = server
        .http
        .delete(server.url(&format!("/api/users/{member_id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let me = server
        .get_authed("/api/users/me", member["accessToken"].as_str().unwrap())
        .await;
    problem(me, 401, "session_ended").await;
}
