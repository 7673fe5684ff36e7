//! `openapi.yaml` describes exactly the routes the functions serve: every route of the list is
//! in the spec and every operation of the spec is a route (template.yaml and the `cargo lambda
//! watch` router are held to the same list in `template.rs`). `scripts/test` validates the
//! document itself and runs schemathesis against local-api with it.

use std::collections::BTreeSet;

use serde_yaml::Value;

fn spec() -> Value {
    let path = format!("{}/../openapi.yaml", env!("CARGO_MANIFEST_DIR"));
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[test]
fn the_spec_has_exactly_the_route_list() {
    let spec = spec();
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                documented.insert((method.to_uppercase(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    let served: BTreeSet<(String, String)> = local_api::http_functions()
        .iter()
        .flat_map(|routes| routes.specs().to_vec())
        .map(|spec| (spec.method.to_string(), spec.path.to_owned()))
        .collect();
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "openapi.yaml lacks {missing:?} and documents routes nobody serves: {extra:?}"
    );
}

/// Every operation says what its errors look like, and every authenticated one how to
/// authenticate.
#[test]
fn every_operation_documents_its_errors_and_security() {
    let spec = spec();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let name = format!("{method} {}", path.as_str().unwrap());
            let responses = operation["responses"].as_mapping().unwrap();
            assert!(
                responses.get("default").is_some(),
                "{name}: no default error"
            );
            assert!(operation.get("security").is_some(), "{name}: no security");
            assert!(
                operation["operationId"].as_str().is_some(),
                "{name}: no operationId"
            );
        }
    }
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

/// local-api serves the same document at /openapi.yaml.
#[tokio::test]
async fn local_api_serves_the_spec() {
    use tower::ServiceExt;
    let dir = tempfile::tempdir().unwrap();
    let config = shared::config::Config {
        data_dir: dir.path().to_owned(),
        ..shared::config::Config::for_tests()
    };
    let app = shared::App::embedded(
        config,
        shared::secrets::KeyProvider::fixed(shared::auth::KeySet::generate()),
    )
    .unwrap();
    let router = local_api::router(std::sync::Arc::new(app));
    let request = axum::http::Request::get("/openapi.yaml")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/yaml");
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let path = format!("{}/../openapi.yaml", env!("CARGO_MANIFEST_DIR"));
    assert_eq!(body, std::fs::read(path).unwrap());
}
