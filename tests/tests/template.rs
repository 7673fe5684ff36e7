//! `template.yaml` agrees with the code: the table matches the shared schema, and every API
//! route it declares is served by the function it points at.

mod support;

use lambda_http::http::{Method, StatusCode};
use serde_yaml::Value;
use shared::App;
use shared::config::Config;
use shared::http::{Request, Response};
use shared::store::dynamo::schema::{
    INDEXES, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, key_attributes,
};

fn template() -> Value {
    let path = format!("{}/../template.yaml", env!("CARGO_MANIFEST_DIR"));
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn key_schema(value: &Value) -> Vec<(String, String)> {
    value
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap().to_owned(),
                k["KeyType"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pair(hash: &str, range: &str) -> Vec<(String, String)> {
    vec![(hash.into(), "HASH".into()), (range.into(), "RANGE".into())]
}

#[test]
fn the_table_matches_the_shared_schema() {
    let template = template();
    let table = &template["Resources"]["Table"]["Properties"];
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        key_schema(&table["KeySchema"]),
        pair(PARTITION_KEY, SORT_KEY)
    );

    let mut declared: Vec<(&str, &str)> = table["AttributeDefinitions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap(),
                a["AttributeType"].as_str().unwrap(),
            )
        })
        .collect();
    declared.sort();
    let mut expected: Vec<(&str, &str)> = key_attributes()
        .into_iter()
        .map(|name| (name, "S"))
        .collect();
    expected.sort();
    assert_eq!(declared, expected);

    let indexes = table["GlobalSecondaryIndexes"].as_sequence().unwrap();
    assert_eq!(indexes.len(), INDEXES.len());
    for (declared, expected) in indexes.iter().zip(INDEXES) {
        assert_eq!(declared["IndexName"], expected.name);
        assert_eq!(
            key_schema(&declared["KeySchema"]),
            pair(expected.partition_key, expected.sort_key)
        );
        assert_eq!(declared["Projection"]["ProjectionType"], "ALL");
    }
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"],
        TTL_ATTRIBUTE
    );
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true);
}

async fn call(app: &App, binary: &str, req: Request) -> Response {
    match binary {
        "register" => register::handle(app, req).await,
        "login" => login::handle(app, req).await,
        "refresh" => refresh::handle(app, req).await,
        "users" => users::handle(app, req).await,
        "posts" => posts::handle(app, req).await,
        other => panic!("template declares binary {other} that this test does not know"),
    }
}

#[tokio::test]
async fn every_declared_route_reaches_a_handler_that_serves_it() {
    let app = support::sqlite_app_with(Config::for_tests());
    let template = template();
    let mut routes = 0;
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap();
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, event) in events {
            if event["Type"] != "Api" {
                continue;
            }
            let path = event["Properties"]["Path"].as_str().unwrap();
            let method = event["Properties"]["Method"]
                .as_str()
                .unwrap()
                .to_uppercase();
            let concrete = path.replace("{id}", "0190c3a4-0000-7000-8000-000000000000");
            let req = support::request(Method::from_bytes(method.as_bytes()).unwrap(), &concrete);
            let response = call(&app, binary, req).await;
            let code = support::body_json(&response)["code"].clone();
            assert_ne!(
                code, "route_not_found",
                "{method} {path} -> {binary}: route unknown"
            );
            assert_ne!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} -> {binary}"
            );
            routes += 1;
        }
    }
    assert!(routes >= 10, "only {routes} routes found in the template");
}
