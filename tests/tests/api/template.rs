//! `template.yaml` agrees with the code: the table matches the shared schema, and every API
//! route it declares is served by the function it points at. And its edge limits and alarms are
//! what they say: per-method ceilings, per-source-IP WAF rules, DynamoDB alarms on metrics that
//! exist with the dimensions given.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};

use axum::http::{Method, StatusCode};
use serde_yaml::Value;
use shared::config::Config;
use shared::store::table::schema::{
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

/// YAML as template.yaml would hold it (`!Ref X` and the like included).
fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).unwrap()
}

/// The parameter a `!Ref` names, and its default.
fn parameter(template: &Value, value: &Value) -> (String, u64) {
    let Value::Tagged(tagged) = value else {
        panic!("{value:?} is not a !Ref");
    };
    assert_eq!(tagged.tag, "Ref");
    let name = tagged.value.as_str().expect("a parameter name").to_owned();
    let default = template["Parameters"][name.as_str()]["Default"].as_u64();
    (name, default.expect("a documented default"))
}

/// The stage's method throttles: (METHOD, path) -> (rate, burst), each a parameter's default.
fn method_throttles(template: &Value) -> BTreeMap<(String, String), (u64, u64)> {
    template["Resources"]["Api"]["Properties"]["MethodSettings"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| {
            let path = match s["ResourcePath"].as_str().unwrap() {
                "/*" => "*".to_owned(),
                path => path.replacen('/', "", 1).replace("~1", "/"),
            };
            let (_, rate) = parameter(template, &s["ThrottlingRateLimit"]);
            let (_, burst) = parameter(template, &s["ThrottlingBurstLimit"]);
            assert!(burst >= rate, "{path}: burst {burst} under rate {rate}");
            (
                (s["HttpMethod"].as_str().unwrap().to_owned(), path),
                (rate, burst),
            )
        })
        .collect()
}

/// The stage's throttles are capacity ceilings, and API Gateway applies each to each method on
/// its own, shared by every caller: so every parameter they use says "per method" and "shared by
/// all callers" (never "across the API"). Every `/api/auth/*` route and `POST /api/leads` has its
/// own ceiling under the stage-wide one; nothing else does.
#[test]
fn every_auth_route_and_the_leads_form_have_their_own_method_ceiling() {
    let template = template();
    let throttles = method_throttles(&template);
    let (stage_rate, _) = throttles[&("*".to_owned(), "*".to_owned())];
    let own: BTreeMap<_, _> = throttles
        .iter()
        .filter(|((method, _), _)| method != "*")
        .collect();
    let mut expected: BTreeSet<(String, String)> = local_api::http_functions()
        .iter()
        .flat_map(|routes| routes.specs().to_vec())
        .filter(|spec| spec.path.starts_with("/api/auth/"))
        .map(|spec| (spec.method.to_string(), spec.path.to_owned()))
        .collect();
    expected.insert(("POST".into(), "/api/leads".into()));
    assert_eq!(
        own.keys().cloned().cloned().collect::<BTreeSet<_>>(),
        expected
    );
    assert!(
        own.values().all(|(rate, _)| *rate < stage_rate),
        "{own:?} against {stage_rate}"
    );

    for setting in template["Resources"]["Api"]["Properties"]["MethodSettings"]
        .as_sequence()
        .unwrap()
    {
        for limit in ["ThrottlingRateLimit", "ThrottlingBurstLimit"] {
            let (name, _) = parameter(&template, &setting[limit]);
            let description = template["Parameters"][name.as_str()]["Description"]
                .as_str()
                .unwrap_or_else(|| panic!("{name} has no description"));
            assert!(
                description.contains("per method")
                    && description.contains("shared by all callers")
                    && !description.contains("across the API"),
                "{name}: {description}"
            );
        }
    }
}

/// The public call-back form has its own, lower method ceiling than the stage's.
#[test]
fn post_leads_has_its_own_method_throttle() {
    let template = template();
    let setting = template["Resources"]["Api"]["Properties"]["MethodSettings"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["ResourcePath"] == "/~1api~1leads" && s["HttpMethod"] == "POST")
        .expect("a MethodSettings entry for POST /api/leads");
    assert_eq!(
        parameter(&template, &setting["ThrottlingRateLimit"]).0,
        "LeadsThrottleRateLimit"
    );
    assert_eq!(
        parameter(&template, &setting["ThrottlingBurstLimit"]).0,
        "LeadsThrottleBurstLimit"
    );
    let throttles = method_throttles(&template);
    let (stage_rate, stage_burst) = throttles[&("*".to_owned(), "*".to_owned())];
    let (rate, burst) = throttles[&("POST".to_owned(), "/api/leads".to_owned())];
    assert!(rate < stage_rate && burst < stage_burst);
}

/// The optional web ACL: a parameter turns it on through a condition, and it is associated with
/// the stage SAM generates for `Api` (a reference to it, so CloudFormation waits for the stage).
#[test]
fn the_waf_web_acl_is_optional_and_guards_the_api_stage() {
    let template = template();
    let enable = &template["Parameters"]["EnableWaf"];
    assert_eq!(enable["AllowedValues"], yaml(r#"["true", "false"]"#));
    assert!(enable["Default"].is_string());
    assert_eq!(
        template["Conditions"]["WafEnabled"],
        yaml(r#"!Equals [!Ref EnableWaf, "true"]"#)
    );

    let resources = &template["Resources"];
    let acl = &resources["WebAcl"];
    assert_eq!(acl["Type"], "AWS::WAFv2::WebACL");
    assert_eq!(acl["Condition"], "WafEnabled");
    assert_eq!(acl["Properties"]["Scope"], "REGIONAL");
    assert_eq!(acl["Properties"]["DefaultAction"], yaml("{ Allow: {} }"));
    assert_eq!(
        acl["Properties"]["VisibilityConfig"]["CloudWatchMetricsEnabled"],
        true
    );

    let association = &resources["WebAclAssociation"];
    assert_eq!(association["Type"], "AWS::WAFv2::WebACLAssociation");
    assert_eq!(association["Condition"], "WafEnabled");
    assert_eq!(
        association["Properties"]["WebACLArn"],
        yaml("!GetAtt WebAcl.Arn")
    );
    assert_eq!(
        association["Properties"]["ResourceArn"],
        yaml(
            r#"!Sub "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${Api}/stages/${Api.Stage}""#
        )
    );

    // Every WAF resource exists only under the condition.
    for (name, resource) in resources.as_mapping().unwrap() {
        if resource["Type"]
            .as_str()
            .is_some_and(|t| t.starts_with("AWS::WAFv2::"))
        {
            assert_eq!(resource["Condition"], "WafEnabled", "{name:?}");
        }
    }
}

/// The `UriPath` prefixes a WAF statement matches on (through And/Or statements), as written.
fn uri_path_prefixes(statement: &Value, found: &mut Vec<String>) {
    if let Some(byte_match) = statement.get("ByteMatchStatement")
        && byte_match["FieldToMatch"].get("UriPath").is_some()
    {
        assert_eq!(byte_match["PositionalConstraint"], "STARTS_WITH");
        let search = match &byte_match["SearchString"] {
            Value::Tagged(tagged) => {
                assert_eq!(tagged.tag, "Sub");
                tagged.value.as_str().unwrap().to_owned()
            }
            value => value.as_str().unwrap().to_owned(),
        };
        found.push(search);
    }
    for nested in ["AndStatement", "OrStatement"] {
        if let Some(statements) = statement[nested]["Statements"].as_sequence() {
            for statement in statements {
                uri_path_prefixes(statement, found);
            }
        }
    }
}

/// Per-client limits at the edge: rate-based rules keyed on the source IP, one scoped to
/// `/api/auth/` and one to `/api/leads` (as sent on a custom domain, and behind the stage name
/// on the execute-api URL), each limit a parameter, each rule blocking and publishing metrics.
#[test]
fn waf_rules_limit_each_source_ip_on_auth_and_leads() {
    let template = template();
    let rules = template["Resources"]["WebAcl"]["Properties"]["Rules"]
        .as_sequence()
        .expect("web ACL rules");
    let mut scoped: BTreeMap<String, String> = BTreeMap::new();
    for rule in rules {
        let name = rule["Name"].as_str().unwrap();
        assert_eq!(rule["Action"], yaml("{ Block: {} }"), "{name}");
        let visibility = &rule["VisibilityConfig"];
        assert_eq!(visibility["CloudWatchMetricsEnabled"], true, "{name}");
        assert!(visibility["MetricName"].is_string(), "{name}");
        let rate = &rule["Statement"]["RateBasedStatement"];
        assert_eq!(rate["AggregateKeyType"], "IP", "{name}");
        assert_eq!(rate["EvaluationWindowSec"], 300, "{name}");
        let (parameter_name, default) = parameter(&template, &rate["Limit"]);
        let declared = &template["Parameters"][parameter_name.as_str()];
        assert!(declared["MinValue"].as_u64().unwrap() >= 10, "{name}");
        assert!(default >= 10, "{name}");
        let description = declared["Description"].as_str().unwrap();
        assert!(
            description.contains("source IP") && description.contains("5 minutes"),
            "{parameter_name}: {description}"
        );
        let mut prefixes = Vec::new();
        if let Some(scope) = rate.get("ScopeDownStatement") {
            uri_path_prefixes(scope, &mut prefixes);
        }
        for prefix in prefixes {
            scoped.insert(prefix, parameter_name.clone());
        }
    }
    for route in ["/api/auth/", "/api/leads"] {
        let limit = scoped
            .get(route)
            .unwrap_or_else(|| panic!("no per-IP rule scoped to {route}: {scoped:?}"));
        assert_eq!(
            scoped.get(&format!("/${{StageName}}{route}")),
            Some(limit),
            "{route} behind the stage name"
        );
    }
    assert_ne!(scoped["/api/auth/"], scoped["/api/leads"]);
}

/// Every alarm notifies the one topic parameter, on alarm and on recovery.
fn assert_notifies_the_topic(name: &str, alarm: &Value) {
    let topic = yaml("!If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]");
    assert_eq!(alarm["Properties"]["AlarmActions"], topic, "{name}");
    assert_eq!(alarm["Properties"]["OKActions"], topic, "{name}");
}

/// (alarm, namespace, metric, dimensions) of every metric every alarm watches, the metrics of
/// metric math alarms included.
fn watched_metrics(template: &Value) -> Vec<(String, String, String, BTreeMap<String, Value>)> {
    let dimensions = |value: &Value| -> BTreeMap<String, Value> {
        value
            .as_sequence()
            .map(|dimensions| {
                dimensions
                    .iter()
                    .map(|d| (d["Name"].as_str().unwrap().to_owned(), d["Value"].clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut watched = Vec::new();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::CloudWatch::Alarm" {
            continue;
        }
        let name = name.as_str().unwrap().to_owned();
        let properties = &resource["Properties"];
        if let Some(metric) = properties["MetricName"].as_str() {
            watched.push((
                name.clone(),
                properties["Namespace"].as_str().unwrap().to_owned(),
                metric.to_owned(),
                dimensions(&properties["Dimensions"]),
            ));
        }
        for query in properties["Metrics"].as_sequence().into_iter().flatten() {
            let metric = &query["MetricStat"]["Metric"];
            if let Some(metric_name) = metric["MetricName"].as_str() {
                watched.push((
                    name.clone(),
                    metric["Namespace"].as_str().unwrap().to_owned(),
                    metric_name.to_owned(),
                    dimensions(&metric["Dimensions"]),
                ));
            }
        }
    }
    watched
}

fn table_dimensions(index: Option<&str>) -> BTreeMap<String, Value> {
    let mut dimensions = BTreeMap::from([("TableName".to_owned(), yaml("!Ref Table"))]);
    if let Some(index) = index {
        dimensions.insert("GlobalSecondaryIndexName".into(), Value::from(index));
    }
    dimensions
}

/// DynamoDB publishes throttle events per table and, separately, per index: the table and every
/// GSI declared on it have a read and a write throttle alarm, each notifying the alarm topic.
#[test]
fn the_table_and_every_index_have_read_and_write_throttle_alarms() {
    let template = template();
    let watched = watched_metrics(&template);
    let indexes: Vec<Option<String>> = std::iter::once(None)
        .chain(
            template["Resources"]["Table"]["Properties"]["GlobalSecondaryIndexes"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|index| Some(index["IndexName"].as_str().unwrap().to_owned())),
        )
        .collect();
    assert!(indexes.len() > 1, "the table declares its GSIs");
    for index in &indexes {
        for metric in ["ReadThrottleEvents", "WriteThrottleEvents"] {
            let expected = table_dimensions(index.as_deref());
            let (alarm, ..) = watched
                .iter()
                .find(|(_, namespace, name, dimensions)| {
                    namespace == "AWS/DynamoDB" && name == metric && *dimensions == expected
                })
                .unwrap_or_else(|| panic!("no {metric} alarm for {index:?}"));
            assert_notifies_the_topic(alarm, &template["Resources"][alarm.as_str()]);
        }
    }
}

#[test]
fn the_table_has_a_transaction_conflict_alarm() {
    let template = template();
    let (alarm, ..) = watched_metrics(&template)
        .into_iter()
        .find(|(_, namespace, name, dimensions)| {
            namespace == "AWS/DynamoDB"
                && name == "TransactionConflict"
                && *dimensions == table_dimensions(None)
        })
        .expect("a TransactionConflict alarm on the table");
    let resource = &template["Resources"][alarm.as_str()];
    assert_notifies_the_topic(&alarm, resource);
    parameter(&template, &resource["Properties"]["Threshold"]);
}

/// `ThrottledRequests` exists only per operation (TableName + Operation): an alarm on it by
/// TableName alone never gets a datapoint.
#[test]
fn no_alarm_watches_throttled_requests_by_table_alone() {
    let template = template();
    for (alarm, namespace, metric, dimensions) in watched_metrics(&template) {
        if namespace == "AWS/DynamoDB" && metric == "ThrottledRequests" {
            assert!(
                dimensions.contains_key("Operation"),
                "{alarm}: {dimensions:?}"
            );
        }
    }
    // And every alarm, these included, notifies the topic.
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] == "AWS::CloudWatch::Alarm" {
            assert_notifies_the_topic(name.as_str().unwrap(), resource);
        }
    }
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
