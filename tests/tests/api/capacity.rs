//! Every route and stream consumer run through the real handlers on DynamoDB Local, each
//! DynamoDB call recorded with the capacity it consumed (`ReturnConsumedCapacity=INDEXES`):
//! - no `TransactWriteItems` of a request holds an item another user's requests also write
//!   (two users walk the same journey; their transactional items never meet);
//! - every other call a route makes is one its function's IAM policy in template.yaml allows;
//! - the measured table in `docs/capacity.md` is what the code does now: a route whose calls
//!   or units change fails this test until the document is regenerated
//!   (`UPDATE_CAPACITY_DOC=1 cargo test -p api-tests --test api capacity`) and its model read
//!   again.

use crate::oauth::API;
use crate::support;
use shared::auth::oauth::{OAuthProviders, Providers};
use support::oidc_provider::{OidcProvider, ProviderAccount};

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use shared::App;
use shared::clock::now_ms;
use shared::config::Config;
use shared::config::RateLimits;
use shared::domain::Role;
use shared::metrics::{QueueDepth, QueueDepths, run_metrics_job};
use shared::store::Stores;
use shared::store::entities::TableStore;
use shared::store::table::Key;
use shared::store::table::dynamodb::{self, CallRecord, CapacityLog, DynamoTable};
use support::{Call, Captured, TestApp, TestResponse, body_json, links};

const DOC: &str = "docs/capacity.md";
const BEGIN: &str = "<!-- measured:begin -->";
const END: &str = "<!-- measured:end -->";
const PASSWORD: &str = "correct horse battery";

#[derive(Default)]
struct Recorder(Mutex<Vec<CallRecord>>);

impl CapacityLog for Recorder {
    fn record(&self, call: CallRecord) {
        self.0.lock().unwrap().push(call);
    }
}

impl Recorder {
    fn take(&self) -> Vec<CallRecord> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

struct NoQueues;

#[async_trait::async_trait]
impl QueueDepths for NoQueues {
    async fn depths(&self) -> Result<Vec<QueueDepth>, shared::BoxError> {
        Ok(Vec::new())
    }
}

/// What one route (or consumer) did, summed over the times it ran.
#[derive(Default, Clone)]
struct Cost {
    /// For a consumer: the units of work (jobs, changes) summed, and its raw totals, from
    /// which the per-100 figures are worked out.
    units: f64,
    raw_calls: BTreeMap<&'static str, f64>,
    raw: (f64, f64, f64, f64),
    runs: u32,
    calls: BTreeMap<&'static str, u32>,
    read_units: f64,
    write_units: f64,
    index_write_units: f64,
    /// Table units of `TransactWriteItems` (billed twice on AWS, reported once locally).
    transact_units: f64,
}

impl Cost {
    /// A consumer's figures per 100 units of work, as one run.
    fn rescale(&mut self) {
        let scale = 100.0 / self.units;
        self.runs = 1;
        self.calls = self
            .raw_calls
            .iter()
            .map(|(op, n)| (*op, (n * scale).round() as u32))
            .collect();
        self.read_units = self.raw.0 * scale;
        self.write_units = self.raw.1 * scale;
        self.index_write_units = self.raw.2 * scale;
        self.transact_units = self.raw.3 * scale;
    }

    fn add(&mut self, calls: &[CallRecord]) {
        self.runs += 1;
        for call in calls {
            *self.calls.entry(call.operation).or_insert(0) += 1;
            let reads = matches!(call.operation, "GetItem" | "BatchGetItem" | "Query");
            let units = call.table_units + call.index_units.values().sum::<f64>();
            if reads {
                self.read_units += units;
            } else {
                self.write_units += call.table_units;
                self.index_write_units += call.index_units.values().sum::<f64>();
            }
            if call.operation == "TransactWriteItems" {
                self.transact_units += call.table_units;
            }
        }
    }

    /// Per run: calls as `2 Get, 1 Query`, then units, rounded to tenths.
    fn row(&self, name: &str) -> String {
        let per = |x: f64| x / f64::from(self.runs.max(1));
        let calls: Vec<String> = self
            .calls
            .iter()
            .map(|(op, n)| {
                let n = f64::from(*n) / f64::from(self.runs.max(1));
                format!("{} {op}", trim(n))
            })
            .collect();
        // A transactional write is billed twice the units of a plain one on the table (its
        // index updates are plain writes); DynamoDB Local reports it once.
        let billed = per(self.write_units + self.index_write_units + self.transact_units);
        format!(
            "| {name} | {} | {} | {} | {} | {} |",
            calls.join(", "),
            trim(per(self.read_units)),
            trim(per(self.write_units)),
            trim(per(self.index_write_units)),
            trim(billed),
        )
    }
}

fn trim(x: f64) -> String {
    let rounded = (x * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

struct Measured {
    app: TestApp,
    recorder: Arc<Recorder>,
    mails: Arc<Captured>,
    costs: BTreeMap<String, Cost>,
    /// Per actor, the keys of every item its requests wrote in transactions.
    transactional: BTreeMap<String, BTreeSet<Key>>,
    /// Per route, each DynamoDB operation it called outside a transaction, and on which index
    /// (`None`: the table).
    operations: BTreeMap<String, BTreeSet<(&'static str, Option<&'static str>)>>,
    /// The provider the journey signs in with.
    provider: OidcProvider,
}

impl Measured {
    async fn new() -> Self {
        let client = support::dynamo_client().await;
        let table = format!("capacity-{}", uuid::Uuid::new_v4().simple());
        dynamodb::create_table(&client, &table).await.unwrap();
        let recorder = Arc::new(Recorder::default());
        let engine = DynamoTable::new(client, &table).with_capacity_log(recorder.clone());
        let store = Arc::new(TableStore::new(Arc::new(engine)));
        let config = Config {
            table_name: table,
            rate_limits: RateLimits::default(),
            email_login: true,
            ..Config::for_tests()
        };
        let mails = Arc::new(Captured::default());
        let provider = OidcProvider::start().await;
        let mut app = App::new(config, Stores::from_adapter(store), support::test_keys())
            .with_queue(mails.clone());
        app.oauth =
            OAuthProviders::given(Providers::from_json(&provider.config_json("stand-in")).unwrap());
        app.config.api_base_url = Some(API.into());
        // One-time codes are read on a clock the journey moves a step at a time.
        app.clock = shared::clock::Clock::fixed((now_ms() / 30_000 * 30 + 15) * 1000);
        let dropped = support::DroppedTable::named(&app.config.table_name);
        let app = support::with_captured(TestApp::new(app, Some(Box::new(dropped))), mails.clone());
        Self {
            app,
            recorder,
            mails,
            costs: BTreeMap::new(),
            transactional: BTreeMap::new(),
            operations: BTreeMap::new(),
            provider,
        }
    }

    /// A sign-in at the provider started by `path` (recorded as `start`) in a browser holding
    /// `cookie`, approved there, and its callback opened in the same browser (recorded): where
    /// the callback sent the browser, and the browser's binding cookie.
    async fn provider_round(
        &mut self,
        actor: &str,
        path: &str,
        cookie: Option<&str>,
    ) -> (String, String) {
        let mut call = Call::new(Method::GET, path);
        if let Some(cookie) = cookie {
            call = call.header("cookie", cookie);
        }
        let started = self
            .send("GET /api/auth/oauth/{provider}/start", actor, call)
            .await;
        assert_eq!(started.status(), StatusCode::FOUND, "{:?}", started.body());
        let cookie = support::header(&started, "set-cookie").unwrap();
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let authorize = support::header(&started, "location").unwrap().to_owned();
        let approved = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(&authorize)
            .send()
            .await
            .unwrap();
        let back = approved.headers()["location"].to_str().unwrap().to_owned();
        let callback = back.strip_prefix(API).unwrap().to_owned();
        let landed = self
            .send(
                "GET /api/auth/oauth/{provider}/callback",
                actor,
                Call::new(Method::GET, &callback).header("cookie", cookie.clone()),
            )
            .await;
        assert_eq!(landed.status(), StatusCode::FOUND);
        let location = support::header(&landed, "location").unwrap().to_owned();
        (location, cookie)
    }

    /// Sends `call` as `actor`, recording its DynamoDB calls under `route`.
    async fn send(&mut self, route: &str, actor: &str, call: Call<'_>) -> TestResponse {
        self.recorder.take();
        let response = call.send(&self.app).await;
        let calls = self.recorder.take();
        self.note(route, actor, &calls);
        response
    }

    fn note(&mut self, route: &str, actor: &str, calls: &[CallRecord]) {
        self.costs.entry(route.to_owned()).or_default().add(calls);
        let operations = self.operations.entry(route.to_owned()).or_default();
        for call in calls.iter().filter(|c| c.operation != "TransactWriteItems") {
            operations.insert((call.operation, call.index));
        }
        let keys = self.transactional.entry(actor.to_owned()).or_default();
        for call in calls.iter().filter(|c| c.operation == "TransactWriteItems") {
            keys.extend(call.keys.iter().cloned());
        }
    }

    /// Runs the outbox relay (mails are read off the queue it sends to), recording its cost per
    /// job relayed.
    async fn relay(&mut self) {
        self.recorder.take();
        self.app.relay.drain().await.unwrap();
        let calls = self.recorder.take();
        let jobs = calls
            .iter()
            .filter(|c| {
                c.operation == "DeleteItem" && c.keys.iter().any(|k| k.pk.starts_with("OUTBOX#"))
            })
            .count();
        self.per_unit("stream: outbox relay (per 100 jobs)", jobs, &calls);
    }

    /// Runs the counts consumer over every change so far (in full batches of 100, as the
    /// mapping delivers under load), recording its cost per 100 changes.
    async fn counts(&mut self) {
        self.recorder.take();
        let counted = self.app.counts.drain().await.unwrap();
        let calls = self.recorder.take();
        self.per_unit("stream: counts (per 100 changes)", counted, &calls);
    }

    /// Adds `calls` to the consumer `name`'s cost, which is kept per 100 units of its work.
    fn per_unit(&mut self, name: &str, units: usize, calls: &[CallRecord]) {
        if units == 0 {
            return;
        }
        let cost = self.costs.entry(name.to_owned()).or_default();
        cost.runs += 1;
        let mut one = Cost::default();
        one.add(calls);
        // Kept as one run of 100 units: summed work over summed units.
        cost.units += units as f64;
        for (op, n) in one.calls {
            *cost.raw_calls.entry(op).or_insert(0.0) += f64::from(n);
        }
        cost.raw.0 += one.read_units;
        cost.raw.1 += one.write_units;
        cost.raw.2 += one.index_write_units;
        cost.raw.3 += one.transact_units;
        cost.rescale();
    }

    fn table(&self) -> String {
        let mut out = String::new();
        writeln!(out, "| route or consumer | DynamoDB calls per request | read units | write units (table) | write units (indexes) | billed write units |").unwrap();
        writeln!(out, "|---|---|---|---|---|---|").unwrap();
        for (name, cost) in &self.costs {
            writeln!(out, "{}", cost.row(name)).unwrap();
        }
        out
    }
}

#[track_caller]
fn ok(response: &TestResponse, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "{:?}", response.body());
    body_json(response)
}

/// Register, verify, sign in, refresh, list and end one's sessions, read and edit oneself, write and read posts, change the
/// address and the password, reset it, log out: as `email`. Returns the user's id and a token.
async fn journey(m: &mut Measured, email: &str) -> (String, String) {
    let who = email.to_owned();
    let registered = m
        .send(
            "POST /api/auth/register",
            &who,
            Call::new(Method::POST, "/api/auth/register")
                .json(json!({ "email": email, "password": PASSWORD, "name": "Walker" })),
        )
        .await;
    let registered = ok(&registered, StatusCode::CREATED);
    let id = registered["user"]["id"].as_str().unwrap().to_owned();
    m.relay().await;
    let resend = m
        .send(
            "POST /api/auth/verify-email/resend",
            &who,
            Call::new(Method::POST, "/api/auth/verify-email/resend")
                .json(json!({ "email": email })),
        )
        .await;
    assert!(resend.status().is_success(), "{:?}", resend.body());
    m.relay().await;
    let token = m.mails.token_mailed_to(email, links::verify).await;
    let verified = m
        .send(
            "POST /api/auth/verify-email",
            &who,
            Call::new(Method::POST, "/api/auth/verify-email").json(json!({ "token": token })),
        )
        .await;
    assert!(verified.status().is_success(), "{:?}", verified.body());
    let login = m
        .send(
            "POST /api/auth/login",
            &who,
            Call::new(Method::POST, "/api/auth/login")
                .json(json!({ "email": email, "password": PASSWORD })),
        )
        .await;
    let login = ok(&login, StatusCode::OK);
    let refresh = login["refreshToken"].as_str().unwrap().to_owned();
    let refreshed = m
        .send(
            "POST /api/auth/refresh",
            &who,
            Call::new(Method::POST, "/api/auth/refresh").json(json!({ "refreshToken": refresh })),
        )
        .await;
    let refreshed = ok(&refreshed, StatusCode::OK);
    let access = refreshed["accessToken"].as_str().unwrap().to_owned();
    let refresh = refreshed["refreshToken"].as_str().unwrap().to_owned();
    // Two more devices: one ended by id, one with the rest but this one.
    for _ in 0..2 {
        let another = Call::new(Method::POST, "/api/auth/login")
            .json(json!({ "email": email, "password": PASSWORD }))
            .send(&m.app)
            .await;
        ok(&another, StatusCode::OK);
    }
    let listed = m
        .send(
            "GET /api/auth/sessions",
            &who,
            Call::new(Method::GET, "/api/auth/sessions").token(&access),
        )
        .await;
    let listed = ok(&listed, StatusCode::OK);
    let newest = listed["data"][0]["id"].as_str().unwrap().to_owned();
    let ended = m
        .send(
            "DELETE /api/auth/sessions/{id}",
            &who,
            Call::new(Method::DELETE, &format!("/api/auth/sessions/{newest}")).token(&access),
        )
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT, "{:?}", ended.body());
    let others = m
        .send(
            "POST /api/auth/logout?scope=others",
            &who,
            Call::new(Method::POST, "/api/auth/logout?scope=others").token(&access),
        )
        .await;
    assert_eq!(
        others.status(),
        StatusCode::NO_CONTENT,
        "{:?}",
        others.body()
    );
    let me = m
        .send(
            "GET /api/users/me",
            &who,
            Call::new(Method::GET, "/api/users/me").token(&access),
        )
        .await;
    ok(&me, StatusCode::OK);
    let own = format!("/api/users/{id}");
    let renamed = m
        .send(
            "PATCH /api/users/{id}",
            &who,
            Call::new(Method::PATCH, &own)
                .token(&access)
                .json(json!({ "name": "Walker Two" })),
        )
        .await;
    ok(&renamed, StatusCode::OK);
    let mut post_id = String::new();
    for status in ["published", "draft"] {
        let created = m
            .send(
                "POST /api/posts",
                &who,
                Call::new(Method::POST, "/api/posts").token(&access).json(
                    json!({ "title": "Notes", "content": "x".repeat(2_000), "status": status, "tags": ["rust"] }),
                ),
            )
            .await;
        post_id = ok(&created, StatusCode::CREATED)["id"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    let post_path = format!("/api/posts/{post_id}");
    let read = m
        .send(
            "GET /api/posts/{id}",
            &who,
            Call::new(Method::GET, &post_path).token(&access),
        )
        .await;
    ok(&read, StatusCode::OK);
    let edited = m
        .send(
            "PATCH /api/posts/{id}",
            &who,
            Call::new(Method::PATCH, &post_path)
                .token(&access)
                .json(json!({ "status": "published" })),
        )
        .await;
    ok(&edited, StatusCode::OK);
    let feed = m
        .send(
            "GET /api/posts",
            &who,
            Call::new(Method::GET, "/api/posts?limit=20"),
        )
        .await;
    ok(&feed, StatusCode::OK);
    let by_author = format!("/api/users/{id}/posts");
    let listed = m
        .send(
            "GET /api/users/{id}/posts",
            &who,
            Call::new(Method::GET, &by_author),
        )
        .await;
    ok(&listed, StatusCode::OK);
    let deleted = m
        .send(
            "DELETE /api/posts/{id}",
            &who,
            Call::new(Method::DELETE, &post_path).token(&access),
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let new_address = format!("new-{email}");
    let change = m
        .send(
            "POST /api/users/me/email",
            &who,
            Call::new(Method::POST, "/api/users/me/email")
                .token(&access)
                .json(json!({ "email": new_address, "password": PASSWORD })),
        )
        .await;
    assert!(change.status().is_success(), "{:?}", change.body());
    let forgot = m
        .send(
            "POST /api/auth/forgot-password",
            &who,
            Call::new(Method::POST, "/api/auth/forgot-password").json(json!({ "email": email })),
        )
        .await;
    assert!(forgot.status().is_success(), "{:?}", forgot.body());
    m.relay().await;
    let token = m.mails.token_mailed_to(email, links::reset).await;
    let reset = m
        .send(
            "POST /api/auth/reset-password",
            &who,
            Call::new(Method::POST, "/api/auth/reset-password")
                .json(json!({ "token": token, "password": "a brand new passphrase" })),
        )
        .await;
    assert!(reset.status().is_success(), "{:?}", reset.body());
    let login = m
        .send(
            "POST /api/auth/login",
            &who,
            Call::new(Method::POST, "/api/auth/login")
                .json(json!({ "email": email, "password": "a brand new passphrase" })),
        )
        .await;
    let login = ok(&login, StatusCode::OK);
    let access = login["accessToken"].as_str().unwrap().to_owned();
    let refresh_after = login["refreshToken"].as_str().unwrap().to_owned();
    let changed = m
        .send(
            "POST /api/auth/password",
            &who,
            Call::new(Method::POST, "/api/auth/password").token(&access).json(
                json!({ "currentPassword": "a brand new passphrase", "newPassword": "yet another passphrase" }),
            ),
        )
        .await;
    let changed = ok(&changed, StatusCode::OK);
    let refresh_now = changed["refreshToken"].as_str().unwrap().to_owned();
    let _ = (refresh, refresh_after);
    let logout = m
        .send(
            "POST /api/auth/logout",
            &who,
            Call::new(Method::POST, "/api/auth/logout")
                .json(json!({ "refreshToken": refresh_now })),
        )
        .await;
    assert!(logout.status().is_success(), "{:?}", logout.body());
    let methods = m
        .send(
            "GET /api/auth/methods",
            &who,
            Call::new(Method::GET, "/api/auth/methods"),
        )
        .await;
    ok(&methods, StatusCode::OK);
    let asked = m
        .send(
            "POST /api/auth/email-login",
            &who,
            Call::new(Method::POST, "/api/auth/email-login").json(json!({ "email": email })),
        )
        .await;
    assert!(asked.status().is_success(), "{:?}", asked.body());
    m.relay().await;
    let token = m.mails.token_mailed_to(email, links::sign_in).await;
    let by_mail = m
        .send(
            "POST /api/auth/email-login/verify",
            &who,
            Call::new(Method::POST, "/api/auth/email-login/verify").json(json!({ "token": token })),
        )
        .await;
    // A verified address: following the mail changes nothing else.
    let access = ok(&by_mail, StatusCode::OK)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    // Social sign-in: a provider account linked from the signed-in account, then signing in.
    m.provider
        .next_sign_in(ProviderAccount::verified(&format!("sub-{email}"), email));
    let asked = m
        .send(
            "POST /api/auth/identities/{provider}",
            &who,
            Call::new(Method::POST, "/api/auth/identities/stand-in")
                .token(&access)
                .json(json!({ "password": "yet another passphrase" })),
        )
        .await;
    let url = ok(&asked, StatusCode::CREATED)["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let link_cookie = support::header(&asked, "set-cookie").unwrap();
    let link_cookie = link_cookie.split(';').next().unwrap().to_owned();
    let (linked, _) = m
        .provider_round(&who, url.strip_prefix(API).unwrap(), Some(&link_cookie))
        .await;
    assert!(linked.ends_with("#oauth_linked=stand-in"), "{linked}");
    let (landed, cookie) = m
        .provider_round(&who, "/api/auth/oauth/stand-in/start", None)
        .await;
    let code = landed.split_once("#oauth_code=").unwrap().1.to_owned();
    let exchanged = m
        .send(
            "POST /api/auth/oauth/exchange",
            &who,
            Call::new(Method::POST, "/api/auth/oauth/exchange")
                .header("cookie", cookie)
                .json(json!({ "code": code })),
        )
        .await;
    ok(&exchanged, StatusCode::OK);
    let listed = m
        .send(
            "GET /api/auth/identities",
            &who,
            Call::new(Method::GET, "/api/auth/identities").token(&access),
        )
        .await;
    ok(&listed, StatusCode::OK);
    // With a password, the identity may go.
    let unlink = m
        .send(
            "DELETE /api/auth/identities/{provider}",
            &who,
            Call::new(Method::DELETE, "/api/auth/identities/stand-in").token(&access),
        )
        .await;
    assert_eq!(
        unlink.status(),
        StatusCode::NO_CONTENT,
        "{:?}",
        unlink.body()
    );
    // A passkey: registered, signed in with (by address, then without), renamed, removed.
    let mut authenticator = support::authenticator::Authenticator::new("http://localhost:3000");
    let options = m
        .send(
            "POST /api/auth/passkeys/register/options",
            &who,
            Call::new(Method::POST, "/api/auth/passkeys/register/options")
                .token(&access)
                .json(json!({ "password": "yet another passphrase" })),
        )
        .await;
    let options = ok(&options, StatusCode::OK);
    let credential = authenticator.create(&options["publicKey"]);
    let added = m
        .send(
            "POST /api/auth/passkeys/register/verify",
            &who,
            Call::new(Method::POST, "/api/auth/passkeys/register/verify")
                .token(&access)
                .json(json!({ "ceremony": options["ceremony"], "credential": credential })),
        )
        .await;
    let passkey = ok(&added, StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for body in [json!({ "email": email }), json!({})] {
        let options = m
            .send(
                "POST /api/auth/passkeys/login/options",
                &who,
                Call::new(Method::POST, "/api/auth/passkeys/login/options").json(body),
            )
            .await;
        let options = ok(&options, StatusCode::OK);
        let assertion = authenticator.get(&options["publicKey"]);
        let signed = m
            .send(
                "POST /api/auth/passkeys/login/verify",
                &who,
                Call::new(Method::POST, "/api/auth/passkeys/login/verify")
                    .json(json!({ "ceremony": options["ceremony"], "credential": assertion })),
            )
            .await;
        ok(&signed, StatusCode::OK);
    }
    let listed = m
        .send(
            "GET /api/auth/passkeys",
            &who,
            Call::new(Method::GET, "/api/auth/passkeys").token(&access),
        )
        .await;
    ok(&listed, StatusCode::OK);
    let path = format!("/api/auth/passkeys/{passkey}");
    let renamed = m
        .send(
            "PATCH /api/auth/passkeys/{id}",
            &who,
            Call::new(Method::PATCH, &path)
                .token(&access)
                .json(json!({ "name": "Phone" })),
        )
        .await;
    ok(&renamed, StatusCode::OK);
    let removed = m
        .send(
            "DELETE /api/auth/passkeys/{id}",
            &who,
            Call::new(Method::DELETE, &path).token(&access),
        )
        .await;
    assert_eq!(
        removed.status(),
        StatusCode::NO_CONTENT,
        "{:?}",
        removed.body()
    );
    let lead = m
        .send(
            "POST /api/leads",
            &who,
            Call::new(Method::POST, "/api/leads")
                .json(json!({ "phone": "+14155552671", "source": email })),
        )
        .await;
    assert_eq!(lead.status(), StatusCode::ACCEPTED, "{:?}", lead.body());
    m.relay().await;
    (id, access)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_route_is_measured_and_no_transaction_holds_a_shared_item() {
    let mut m = Measured::new().await;
    let admin = support::account_with_role(&m.app, "admin@example.com", Role::Admin).await;
    let admin_login = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": "admin@example.com", "password": PASSWORD }))
        .send(&m.app)
        .await;
    let admin_access = ok(&admin_login, StatusCode::OK)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let _ = admin;
    m.relay().await;
    m.counts().await;
    m.costs.clear();
    m.transactional.clear();

    let (ada, _) = journey(&mut m, "ada@example.com").await;
    let (bob, _) = journey(&mut m, "bob@example.com").await;

    // No item written in one user's transactions is written in the other's.
    let ada_keys = &m.transactional["ada@example.com"];
    let bob_keys = &m.transactional["bob@example.com"];
    let shared: Vec<&Key> = ada_keys.intersection(bob_keys).collect();
    assert!(
        shared.is_empty(),
        "items both users' transactions wrote: {shared:?}"
    );
    for key in ada_keys.iter().chain(bob_keys) {
        assert!(
            !key.pk.starts_with("COUNTER#"),
            "a counter in a request transaction: {key:?}"
        );
    }

    // A session of Ada's for the admin to end (her journey ended hers).
    let ada_login = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": "ada@example.com", "password": "yet another passphrase" }))
        .send(&m.app)
        .await;
    let ada_access = ok(&ada_login, StatusCode::OK)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let ada_session = crate::sessions::sid_of(&m.app, &ada_access).await;

    // The admin's routes, on the users above (each the target of what is done to it).
    let admin_routes: Vec<(&str, Method, String, Option<Value>)> = vec![
        (
            "GET /api/users",
            Method::GET,
            "/api/users?limit=20".into(),
            None,
        ),
        (
            "GET /api/users/{id}",
            Method::GET,
            format!("/api/users/{ada}"),
            None,
        ),
        (
            "PATCH /api/users/{id}",
            Method::PATCH,
            format!("/api/users/{ada}"),
            Some(json!({ "role": "moderator" })),
        ),
        (
            "GET /api/audit",
            Method::GET,
            "/api/audit?limit=20".into(),
            None,
        ),
        (
            "GET /api/leads",
            Method::GET,
            "/api/leads?limit=20".into(),
            None,
        ),
        (
            "GET /api/users/{id}/sessions",
            Method::GET,
            format!("/api/users/{ada}/sessions"),
            None,
        ),
        (
            "DELETE /api/users/{id}/sessions/{sid}",
            Method::DELETE,
            format!("/api/users/{ada}/sessions/{ada_session}"),
            None,
        ),
        (
            "DELETE /api/users/{id}",
            Method::DELETE,
            format!("/api/users/{bob}"),
            None,
        ),
    ];
    for (route, method, path, body) in admin_routes {
        let mut call = Call::new(method, &path).token(&admin_access);
        if let Some(body) = body {
            call = call.json(body);
        }
        let response = m.send(route, "admin", call).await;
        assert!(
            response.status().is_success(),
            "{route}: {:?}",
            response.body()
        );
    }
    let leads = Call::new(Method::GET, "/api/leads?limit=1")
        .token(&admin_access)
        .send(&m.app)
        .await;
    let lead_id = ok(&leads, StatusCode::OK)["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let lead_path = format!("/api/leads/{lead_id}");
    let lead_edit = m
        .send(
            "PATCH /api/leads/{id}",
            "admin",
            Call::new(Method::PATCH, &lead_path)
                .token(&admin_access)
                .json(json!({ "status": "contacted" })),
        )
        .await;
    ok(&lead_edit, StatusCode::OK);
    m.relay().await;
    m.counts().await;

    second_factor_journey(&mut m, &admin_access).await;

    // The metrics job, then the dashboard that reads its snapshot.
    m.recorder.take();
    run_metrics_job(&*m.app.stores.metrics, &NoQueues, now_ms())
        .await
        .unwrap();
    let calls = m.recorder.take();
    m.note("job: metrics (every 5 minutes)", "job", &calls);
    for route in ["/api/dashboard/metrics", "/api/dashboard/insights"] {
        let response = m
            .send(
                &format!("GET {route}"),
                "admin",
                Call::new(Method::GET, route).token(&admin_access),
            )
            .await;
        ok(&response, StatusCode::OK);
    }

    // The public keys: from the cached key set, no store call.
    for route in [
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
    ] {
        let response = m
            .send(
                &format!("GET {route}"),
                "anonymous",
                Call::new(Method::GET, route),
            )
            .await;
        ok(&response, StatusCode::OK);
    }

    // Every route of the route list was measured.
    let mut missing = Vec::new();
    for routes in local_api::http_functions() {
        for spec in routes.specs() {
            let name = format!("{} {}", spec.method, spec.path);
            if !m.costs.contains_key(&name) {
                missing.push(name);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes with no measurement: {missing:?}"
    );

    policies_allow_what_each_route_calls(&m.operations);

    let measured = m.table();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(DOC);
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let documented = doc
        .split_once(BEGIN)
        .and_then(|(_, rest)| rest.split_once(END))
        .map(|(table, _)| table.trim().to_owned())
        .unwrap_or_default();
    let differences = differences(&rows(&documented), &rows(&measured));
    if differences.is_empty() {
        return;
    }
    if std::env::var_os("UPDATE_CAPACITY_DOC").is_some() {
        let updated = match doc.split_once(BEGIN) {
            Some((before, rest)) => {
                let after = rest.split_once(END).map(|(_, after)| after).unwrap_or("");
                format!("{before}{BEGIN}\n{}\n{END}{after}", measured.trim())
            }
            None => format!("{doc}\n{BEGIN}\n{}\n{END}\n", measured.trim()),
        };
        std::fs::write(&path, updated).unwrap();
    } else {
        panic!(
            "{DOC} does not hold what the routes cost now ({}); run with UPDATE_CAPACITY_DOC=1 and \
             read its model again. Measured:\n{measured}",
            differences.join("; ")
        );
    }
}

/// Turn a second factor on, read it, make new recovery codes, step up, sign in with it, turn it
/// off; and an admin's reset of another user's.
async fn second_factor_journey(m: &mut Measured, admin_access: &str) {
    use shared::auth::mfa::{TotpSecret, step_at};
    let clock = m.app.clock.clone();
    let code = |secret: &TotpSecret| secret.code_at(step_at(clock.now_ms()));
    let mut enrolled = Vec::new();
    for email in ["cara@example.com", "dan@example.com"] {
        let account = support::account(&m.app, email, "Cara").await;
        let enrolment = m
            .send(
                "POST /api/auth/mfa/totp",
                email,
                Call::new(Method::POST, "/api/auth/mfa/totp")
                    .token(&account.access)
                    .json(json!({ "password": PASSWORD })),
            )
            .await;
        let enrolment = ok(&enrolment, StatusCode::CREATED);
        let secret = TotpSecret::from_base32(enrolment["secret"].as_str().unwrap()).unwrap();
        let verified = m
            .send(
                "POST /api/auth/mfa/totp/verify",
                email,
                Call::new(Method::POST, "/api/auth/mfa/totp/verify")
                    .token(&account.access)
                    .json(json!({ "code": code(&secret) })),
            )
            .await;
        let verified = ok(&verified, StatusCode::OK);
        let access = verified["accessToken"].as_str().unwrap().to_owned();
        enrolled.push((account, secret, access));
    }
    clock.advance(30_000);
    let (cara, secret, access) = &enrolled[0];
    let status = m
        .send(
            "GET /api/auth/mfa",
            "cara",
            Call::new(Method::GET, "/api/auth/mfa").token(access),
        )
        .await;
    ok(&status, StatusCode::OK);
    let regenerated = m
        .send(
            "POST /api/auth/mfa/recovery-codes",
            "cara",
            Call::new(Method::POST, "/api/auth/mfa/recovery-codes").token(access),
        )
        .await;
    ok(&regenerated, StatusCode::OK);
    let stepped = m
        .send(
            "POST /api/auth/mfa/step-up",
            "cara",
            Call::new(Method::POST, "/api/auth/mfa/step-up")
                .token(access)
                .json(json!({ "code": code(secret) })),
        )
        .await;
    ok(&stepped, StatusCode::OK);
    clock.advance(30_000);
    let login = Call::new(Method::POST, "/api/auth/login")
        .json(json!({ "email": cara.email, "password": PASSWORD }))
        .send(&m.app)
        .await;
    let challenge = ok(&login, StatusCode::OK)["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    let answered = m
        .send(
            "POST /api/auth/mfa/challenge",
            "cara",
            Call::new(Method::POST, "/api/auth/mfa/challenge")
                .json(json!({ "challenge": challenge, "code": code(secret) })),
        )
        .await;
    ok(&answered, StatusCode::OK);
    clock.advance(30_000);
    let disabled = m
        .send(
            "DELETE /api/auth/mfa/totp",
            "cara",
            Call::new(Method::DELETE, "/api/auth/mfa/totp")
                .token(access)
                .json(json!({ "code": code(secret) })),
        )
        .await;
    assert_eq!(
        disabled.status(),
        StatusCode::NO_CONTENT,
        "{:?}",
        disabled.body()
    );
    let dan = &enrolled[1].0;
    let reset = m
        .send(
            "DELETE /api/users/{id}/mfa",
            "admin",
            Call::new(Method::DELETE, &format!("/api/users/{}/mfa", dan.id)).token(admin_access),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT, "{:?}", reset.body());
    m.relay().await;
}

/// A table's rows: route → (calls, units).
fn rows(table: &str) -> BTreeMap<String, (String, Vec<f64>)> {
    table
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| route"))
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let (route, calls) = (cells.first()?, cells.get(1)?);
            let units = cells[2..].iter().filter_map(|c| c.parse().ok()).collect();
            Some((route.to_string(), (calls.to_string(), units)))
        })
        .collect()
}

/// What differs between the documented and the measured rows: any route or call count, and
/// units off by more than a quarter (and one unit). Units move a little between runs: items
/// land in listing and counter shards by random ids, and a query is rounded up per partition;
/// the metrics job's reads depend on how many days its counters hold, so only its calls count.
fn differences(
    documented: &BTreeMap<String, (String, Vec<f64>)>,
    measured: &BTreeMap<String, (String, Vec<f64>)>,
) -> Vec<String> {
    let mut found = Vec::new();
    for (route, (calls, units)) in measured {
        match documented.get(route) {
            None => found.push(format!("{route} is not documented")),
            Some((documented_calls, _)) if documented_calls != calls => found.push(format!(
                "{route}: {documented_calls} documented, {calls} made"
            )),
            // Reads every counter shard's items: as many as days counted so far (90 at most).
            Some(_) if route.starts_with("job: metrics") => {}
            Some((_, documented_units)) => {
                for (was, is) in documented_units.iter().zip(units) {
                    if (was - is).abs() > (was * 0.25).max(1.0) {
                        found.push(format!("{route}: {was} units documented, {is} measured"));
                    }
                }
            }
        }
    }
    for route in documented.keys().filter(|r| !measured.contains_key(*r)) {
        found.push(format!("{route} is documented but no longer measured"));
    }
    found
}

/// The DynamoDB actions a function's policy in template.yaml allows: on the table (`None`) and
/// on each index it names.
fn allowed_actions(function: &str) -> BTreeSet<(String, Option<String>)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let template: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let resource = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .find(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(function))
        .unwrap_or_else(|| panic!("no function {function} in template.yaml"));
    let mut allowed = BTreeSet::new();
    for policy in resource["Properties"]["Policies"].as_sequence().unwrap() {
        for statement in policy["Statement"].as_sequence().into_iter().flatten() {
            let resources = match &statement["Resource"] {
                serde_yaml::Value::Sequence(many) => many.clone(),
                one => vec![one.clone()],
            };
            for resource in resources {
                let text = serde_yaml::to_string(&resource).unwrap();
                if !text.contains("Table.Arn") {
                    continue;
                }
                let index = text
                    .split_once("/index/")
                    .map(|(_, index)| index.trim().trim_matches('"').to_owned());
                for action in statement["Action"].as_sequence().unwrap() {
                    let action = action.as_str().unwrap().to_owned();
                    allowed.insert((action, index.clone()));
                }
            }
        }
    }
    allowed
}

/// Every DynamoDB call a route made outside a transaction is one its function's IAM policy
/// allows (on the table, or on the index a query read), so nothing measured here is refused on
/// AWS. (A transaction's actions are authorised one by one, as `PutItem`, `UpdateItem`,
/// `DeleteItem` or `ConditionCheckItem`; the records do not say which, so they are not checked.)
fn policies_allow_what_each_route_calls(
    operations: &BTreeMap<String, BTreeSet<(&'static str, Option<&'static str>)>>,
) {
    let mut refused = Vec::new();
    for routes in local_api::http_functions() {
        for spec in routes.specs() {
            let allowed = allowed_actions(spec.function);
            let route = format!("{} {}", spec.method, spec.path);
            let measured = operations
                .iter()
                .filter(|(name, _)| name.split('?').next() == Some(route.as_str()))
                .flat_map(|(_, ops)| ops);
            for (operation, index) in measured {
                let needed = (format!("dynamodb:{operation}"), index.map(str::to_owned));
                if !allowed.contains(&needed) {
                    refused.push(format!("{route} ({}): {needed:?}", spec.function));
                }
            }
        }
    }
    assert!(
        refused.is_empty(),
        "calls template.yaml does not allow: {refused:#?}"
    );
}
