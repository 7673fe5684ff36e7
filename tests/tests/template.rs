//! `template.yaml` agrees with the code: the table matches the shared schema, and every API
//! route it declares is served by the function it points at.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use axum::http::{Method, StatusCode};
use serde_yaml::Value;
use shared::config::Config;
use shared::store::dynamo::schema::{
    INDEXES, LISTED_ATTRIBUTES, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, key_attributes,
};
use tower::ServiceExt;

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
        assert_eq!(declared["Projection"]["ProjectionType"], "INCLUDE");
        let projected: Vec<&str> = declared["Projection"]["NonKeyAttributes"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(projected, LISTED_ATTRIBUTES, "{}", expected.name);
    }
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"],
        TTL_ATTRIBUTE
    );
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true);
}

/// (METHOD, path, function) of every API event in template.yaml.
fn template_routes() -> BTreeSet<(String, String, String)> {
    let template = template();
    let mut routes = BTreeSet::new();
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
            let method = event["Properties"]["Method"].as_str().unwrap();
            routes.insert((method.to_uppercase(), path.to_owned(), binary.to_owned()));
        }
    }
    routes
}

/// The route list, as API Gateway must declare it: each route, `HEAD` beside every `GET`,
/// and `OPTIONS` (CORS preflight) on every path.
fn expected_gateway_routes() -> BTreeSet<(String, String, String)> {
    let mut expected = BTreeSet::new();
    for routes in local_api::http_functions() {
        for spec in routes.specs() {
            let (path, function) = (spec.path.to_owned(), spec.function.to_owned());
            expected.insert((spec.method.to_string(), path.clone(), function.clone()));
            if spec.method == Method::GET {
                expected.insert(("HEAD".into(), path.clone(), function.clone()));
            }
            expected.insert(("OPTIONS".into(), path, function));
        }
    }
    expected
}

#[test]
fn template_events_are_exactly_the_route_list() {
    let declared = template_routes();
    let expected = expected_gateway_routes();
    let missing: Vec<_> = expected.difference(&declared).collect();
    let extra: Vec<_> = declared.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "template.yaml is missing {missing:?} and declares routes no function serves: {extra:?}"
    );
}

#[test]
fn the_cargo_lambda_watch_router_is_exactly_the_route_list() {
    let path = format!("{}/../Cargo.toml", env!("CARGO_MANIFEST_DIR"));
    let manifest: toml::Value = std::fs::read_to_string(path).unwrap().parse().unwrap();
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .expect("a [workspace.metadata.lambda.watch.router] table");
    let declared: BTreeMap<String, String> = router
        .iter()
        .map(|(path, function)| (path.clone(), function.as_str().unwrap().to_owned()))
        .collect();
    let expected: BTreeMap<String, String> = local_api::http_functions()
        .iter()
        .flat_map(|routes| routes.specs().to_vec())
        .map(|spec| (spec.path.to_owned(), spec.function.to_owned()))
        .collect();
    assert_eq!(declared, expected);
}

/// Every `/api/auth/*` route has its own, tighter throttle beside the stage-wide one, each
/// number a parameter with a default.
#[test]
fn every_auth_route_has_a_tighter_throttle() {
    let template = template();
    let settings = template["Resources"]["Api"]["Properties"]["MethodSettings"]
        .as_sequence()
        .unwrap();
    let parameter = |value: &Value| {
        let Value::Tagged(tagged) = value else {
            panic!("{value:?} is not a !Ref");
        };
        assert_eq!(tagged.tag, "Ref");
        let name = tagged.value.as_str().expect("a parameter name").to_owned();
        let default = template["Parameters"][name.as_str()]["Default"].as_u64();
        (name, default.expect("a documented default"))
    };
    let stage = settings
        .iter()
        .find(|s| s["ResourcePath"] == "/*" && s["HttpMethod"] == "*")
        .expect("the stage-wide throttle stays");
    let (_, stage_rate) = parameter(&stage["ThrottlingRateLimit"]);
    let throttled: BTreeMap<(String, String), u64> = settings
        .iter()
        .filter(|s| s["ResourcePath"] != "/*")
        .map(|s| {
            let path = s["ResourcePath"]
                .as_str()
                .unwrap()
                .replacen('/', "", 1)
                .replace("~1", "/");
            let (_, rate) = parameter(&s["ThrottlingRateLimit"]);
            parameter(&s["ThrottlingBurstLimit"]);
            ((s["HttpMethod"].as_str().unwrap().to_owned(), path), rate)
        })
        .collect();
    let auth_routes: BTreeSet<(String, String)> = local_api::http_functions()
        .iter()
        .flat_map(|routes| routes.specs().to_vec())
        .filter(|spec| spec.path.starts_with("/api/auth/"))
        .map(|spec| (spec.method.to_string(), spec.path.to_owned()))
        .collect();
    assert_eq!(
        throttled.keys().cloned().collect::<BTreeSet<_>>(),
        auth_routes
    );
    assert!(
        throttled.values().all(|rate| *rate < stage_rate),
        "{throttled:?}"
    );
}

#[test]
fn every_function_has_a_template_resource_and_a_crate() {
    let functions: BTreeSet<String> = template_routes().into_iter().map(|(_, _, f)| f).collect();
    let listed: BTreeSet<String> = local_api::http_functions()
        .iter()
        .flat_map(|routes| routes.specs().iter().map(|s| s.function.to_owned()))
        .collect();
    assert_eq!(functions, listed);
}

#[tokio::test]
async fn local_api_serves_every_route_and_each_function_only_its_own() {
    let app = support::sqlite_app_with(Config::for_tests());
    let id = "0190c3a4-0000-7000-8000-000000000000";
    let all: Vec<_> = local_api::http_functions()
        .iter()
        .flat_map(|routes| routes.specs().to_vec())
        .collect();
    let reached = |response: &support::TestResponse| {
        support::body_json(response)["code"] != "route_not_found"
            && response.status() != StatusCode::METHOD_NOT_ALLOWED
    };
    for spec in &all {
        let path = spec.path.replace("{id}", id);
        let response = support::send(
            &app,
            support::Call::new(spec.method.clone(), &path).request(),
        )
        .await;
        assert!(
            reached(&response),
            "local-api: {} {}",
            spec.method,
            spec.path
        );

        for routes in local_api::http_functions() {
            let function = routes.specs()[0].function;
            let service = shared::http::service(routes, app.app.clone());
            let response = service
                .oneshot(support::Call::new(spec.method.clone(), &path).request())
                .await
                .unwrap();
            let response = support::TestResponse::read(response).await;
            assert_eq!(
                reached(&response),
                function == spec.function,
                "{function} and {} {}",
                spec.method,
                spec.path
            );
        }
    }
    // And nothing else: an unknown path is a 404 problem on the local server too.
    let unknown = support::send(
        &app,
        support::Call::new(Method::GET, "/api/nothing").request(),
    )
    .await;
    support::assert_problem(&unknown, StatusCode::NOT_FOUND, "route_not_found");
}
