//! Fixtures: an app on each store, and requests sent through the same router the local server
//! runs (every function's routes and the shared middleware).

pub mod authenticator;
pub mod oidc_provider;
pub mod range_api;
pub mod smtp;
pub mod watched_posts;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::Value;
use shared::App;
use shared::auth::KeySet;
use shared::config::Config;
use shared::secrets::KeyProvider;
use shared::store::Stores;
use shared::store::entities::TableStore;
use shared::store::table::dynamodb::{self, DynamoTable, StreamFeed};
use shared::store::table::{Change, ChangeFeed, Table, TableError};
use shared::stream::{Consumer, Runner};
use tower::ServiceExt;

/// An app on a fresh store and the router over it; the temp dir (embedded store) lives as
/// long as it does. Its stream consumers (counts, outbox relay) run when a test says so
/// (`settle`), over the embedded engine's change log or the DynamoDB Local table's stream.
pub struct TestApp {
    pub app: Arc<App>,
    pub router: Router,
    /// The `counts` consumer on the table's stream.
    pub counts: Arc<Runner>,
    /// The outbox relay on the table's stream, sending to the app's queue.
    pub relay: Arc<Runner>,
    _dir: Option<Owned>,
}

/// What a test app keeps alive besides the app: the embedded store's folder, or its DynamoDB
/// Local table (`DroppedTable`).
pub type Owned = Box<dyn std::any::Any + Send + Sync>;

/// A DynamoDB Local table deleted when the test app that made it is dropped: the emulator
/// slows down as hundreds of tables and their streams pile up in one run.
pub struct DroppedTable(String);

impl DroppedTable {
    pub fn named(table: &str) -> Self {
        Self(table.to_owned())
    }
}

impl Drop for DroppedTable {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.0);
        // On a runtime and client of its own: the test's runtime may be shutting down. Best
        // effort.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let client = aws_sdk_dynamodb::Client::new(&aws_config::load_from_env().await);
                client.delete_table().table_name(name).send().await.ok()
            })
        })
        .join();
    }
}

impl std::ops::Deref for TestApp {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

impl TestApp {
    pub fn new(app: App, dir: Option<Owned>) -> Self {
        let app = Arc::new(app);
        let runner = |consumer: Consumer| {
            let feed: Arc<dyn ChangeFeed> = match app.embedded_store() {
                Some(table) => Arc::new(table.change_log(consumer.name()).expect("change log")),
                None => Arc::new(LazyStream::new(&app.config.table_name)),
            };
            Arc::new(Runner {
                feed,
                stores: app.stores.clone(),
                consumer,
            })
        };
        Self {
            router: local_api::router(app.clone()),
            counts: runner(Consumer::Counts),
            relay: runner(Consumer::Relay(app.queue.clone())),
            app,
            _dir: dir,
        }
    }

    /// Runs the `counts` consumer until every change so far is counted (jobs stay in the
    /// outbox).
    pub async fn count(&self) {
        self.counts.drain().await.expect("counts consumer ran");
    }
}

/// A reader of the app's stream of its own (its own place in it, from the oldest change kept):
/// on the embedded engine a change-log reader named `name`, on DynamoDB a stream feed.
pub fn change_reader(app: &TestApp, name: &str) -> Arc<dyn ChangeFeed> {
    match app.embedded_store() {
        Some(table) => Arc::new(table.change_log(name).expect("change log")),
        None => Arc::new(LazyStream::new(&app.config.table_name)),
    }
}

/// Every change `feed` has not handed out yet, acknowledged as read.
pub async fn read_all(feed: &dyn ChangeFeed) -> Vec<Change> {
    let mut all = Vec::new();
    loop {
        let batch = feed.pending(100).await.expect("changes read");
        let Some(last) = batch.last() else {
            return all;
        };
        feed.acknowledge(last).await.expect("changes acknowledged");
        all.extend(batch);
    }
}

/// The stream of a DynamoDB Local table, opened on first use.
struct LazyStream {
    table: String,
    feed: tokio::sync::OnceCell<StreamFeed>,
}

impl LazyStream {
    fn new(table: &str) -> Self {
        Self {
            table: table.to_owned(),
            feed: tokio::sync::OnceCell::new(),
        }
    }

    async fn feed(&self) -> Result<&StreamFeed, TableError> {
        self.feed
            .get_or_try_init(|| async {
                emulator_endpoint();
                StreamFeed::of_table(&aws_config::load_from_env().await, &self.table).await
            })
            .await
    }
}

#[async_trait::async_trait]
impl ChangeFeed for LazyStream {
    async fn pending(&self, max: usize) -> Result<Vec<Change>, TableError> {
        self.feed().await?.pending(max).await
    }

    async fn acknowledge(&self, through: &Change) -> Result<(), TableError> {
        self.feed().await?.acknowledge(through).await
    }
}

/// The same app changed by `change`, with a router and stream consumers of its own.
pub fn rebuilt_with(app: TestApp, change: impl FnOnce(App) -> App) -> TestApp {
    rebuilt(app, change)
}

fn rebuilt(app: TestApp, change: impl FnOnce(App) -> App) -> TestApp {
    let TestApp {
        app, router, _dir, ..
    } = app;
    drop(router);
    let app = Arc::try_unwrap(app)
        .ok()
        .expect("no other handle on the app");
    TestApp::new(change(app), _dir)
}

/// The same app with another job queue (e.g. a `Captured` one to read what was sent).
pub fn with_queue(app: TestApp, queue: Arc<dyn shared::jobs::JobQueue>) -> TestApp {
    rebuilt(app, |app| app.with_queue(queue))
}

/// The same app with its post store wrapped (e.g. to make a race happen every time).
pub fn with_posts(
    app: TestApp,
    wrap: impl FnOnce(Arc<dyn shared::store::PostStore>) -> Arc<dyn shared::store::PostStore>,
) -> TestApp {
    rebuilt(app, |mut app| {
        app.stores.posts = wrap(app.stores.posts.clone());
        app
    })
}

/// The same app reading its one-time codes' time from `clock` (a fixed one a test moves).
pub fn with_clock(app: TestApp, clock: shared::clock::Clock) -> TestApp {
    rebuilt(app, |mut app| {
        app.clock = clock;
        app
    })
}

/// The same app with its audit log wrapped (e.g. to make its writes fail).
pub fn with_audit(
    app: TestApp,
    wrap: impl FnOnce(Arc<dyn shared::store::AuditLog>) -> Arc<dyn shared::store::AuditLog>,
) -> TestApp {
    rebuilt(app, |mut app| {
        app.stores.audit = wrap(app.stores.audit.clone());
        app
    })
}

/// The same app checking new passwords as `config` says (e.g. against a `RangeStandIn`).
pub fn with_breached_passwords(
    app: TestApp,
    config: shared::config::BreachedPasswordsConfig,
) -> TestApp {
    rebuilt(app, |mut app| {
        app.breached_passwords = shared::auth::BreachedPasswords::new(config.clone());
        app.config.breached_passwords = config;
        app
    })
}

/// The same app with a `Captured` queue, and that queue.
pub fn capturing(app: TestApp) -> (TestApp, Arc<Captured>) {
    let captured = Arc::new(Captured::default());
    (with_captured(app, captured.clone()), captured)
}

/// The same app sending its jobs to `captured`, which settles the app's stream before it is
/// read.
pub fn with_captured(app: TestApp, captured: Arc<Captured>) -> TestApp {
    let app = with_queue(app, captured.clone());
    let _ = captured.relay.set(app.relay.clone());
    app
}

/// Which link of a mail a test follows (for `Captured::token_mailed_to`).
pub mod links {
    use shared::jobs::MailMessage;

    /// The verification link of a welcome or verification mail.
    pub fn verify(message: &MailMessage) -> Option<&str> {
        match message {
            MailMessage::Welcome { verify_link } => Some(verify_link),
            MailMessage::VerifyEmail { link } => Some(link),
            _ => None,
        }
    }

    pub fn reset(message: &MailMessage) -> Option<&str> {
        match message {
            MailMessage::ResetPassword { link } => Some(link),
            _ => None,
        }
    }

    /// The link of a sign-in mail.
    pub fn sign_in(message: &MailMessage) -> Option<&str> {
        match message {
            MailMessage::EmailLogin { link, .. } => Some(link),
            _ => None,
        }
    }

    /// The confirmation link mailed to a new address.
    pub fn change(message: &MailMessage) -> Option<&str> {
        match message {
            MailMessage::ConfirmEmailChange { link } => Some(link),
            _ => None,
        }
    }
}

/// A queue that keeps what it is sent, so a test can read the mails a flow produced. Reading
/// it first relays whatever the app's changes wrote to the outbox (`with_captured`).
#[derive(Default)]
pub struct Captured {
    sent: std::sync::Mutex<Vec<shared::jobs::Job>>,
    relay: std::sync::OnceLock<Arc<Runner>>,
}

#[async_trait::async_trait]
impl shared::jobs::JobQueue for Captured {
    async fn send(&self, job: &shared::jobs::Job) -> Result<(), shared::BoxError> {
        self.sent.lock().unwrap().push(job.clone());
        Ok(())
    }
}

impl Captured {
    /// Every job sent so far, once the app's stream is settled. A job relayed twice (a
    /// redelivered change) is listed once, as workers run it once.
    pub async fn jobs(&self) -> Vec<shared::jobs::Job> {
        if let Some(relay) = self.relay.get() {
            relay.drain().await.expect("outbox relay ran");
        }
        let mut seen = std::collections::HashSet::new();
        let sent = self.sent.lock().unwrap().clone();
        sent.into_iter()
            .filter(|job| seen.insert(job.id.clone()))
            .collect()
    }

    /// The token in the last mail to `to` whose message `pick` accepts.
    /// The code of the newest sign-in mail to `to`.
    pub async fn code_mailed_to(&self, to: &str) -> String {
        let jobs = self.jobs().await;
        jobs.iter()
            .rev()
            .find_map(|job| match &job.work {
                shared::jobs::Work::Email(mail) if mail.to == to => match &mail.message {
                    shared::jobs::MailMessage::EmailLogin { code, .. } => Some(code.clone()),
                    _ => None,
                },
                _ => None,
            })
            .unwrap_or_else(|| panic!("no sign-in mail to {to}: {jobs:?}"))
    }

    pub async fn token_mailed_to(
        &self,
        to: &str,
        pick: impl Fn(&shared::jobs::MailMessage) -> Option<&str>,
    ) -> String {
        let jobs = self.jobs().await;
        let link = jobs
            .iter()
            .rev()
            .filter_map(|job| match &job.work {
                shared::jobs::Work::Email(mail) if mail.to == to => pick(&mail.message),
                _ => None,
            })
            .next()
            .unwrap_or_else(|| panic!("no such mail to {to}: {jobs:?}"));
        link.split_once("#token=")
            .expect("a token link")
            .1
            .to_owned()
    }
}

pub fn test_keys() -> KeyProvider {
    KeyProvider::fixed(KeySet::generate())
}

pub fn sqlite_app_with(config: Config) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        data_dir: dir.path().to_owned(),
        ..config
    };
    TestApp::new(
        App::embedded(config, test_keys()).expect("embedded store opens"),
        Some(Box::new(dir)),
    )
}

/// The DynamoDB endpoint the test command exported (DynamoDB Local). DynamoDB tests are never
/// skipped: without one they fail and say how to start it.
pub fn emulator_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL_DYNAMODB is not set: run scripts/test, which starts DynamoDB Local \
             (or start it by hand, see the README)"
        )
    })
}

pub async fn dynamo_client() -> aws_sdk_dynamodb::Client {
    emulator_endpoint();
    aws_sdk_dynamodb::Client::new(&aws_config::load_from_env().await)
}

/// The store on the DynamoDB table `table`.
pub fn dynamo_store(client: aws_sdk_dynamodb::Client, table: &str) -> Arc<TableStore> {
    Arc::new(TableStore::new(Arc::new(DynamoTable::new(client, table))))
}

/// The table under `app`, for tests that write what no handler would.
pub async fn table_of(app: &TestApp) -> Arc<dyn Table> {
    match app.embedded_store() {
        Some(table) => table.clone(),
        None => Arc::new(DynamoTable::new(
            dynamo_client().await,
            &app.config.table_name,
        )),
    }
}

/// An app on a brand-new DynamoDB table in the emulator, created from the shared schema.
pub async fn dynamo_app_with(config: Config) -> TestApp {
    dynamo_app_on(dynamo_client().await, config).await
}

/// Like `dynamo_app_with`, with a client of the test's own (e.g. one with an interceptor).
pub async fn dynamo_app_on(client: aws_sdk_dynamodb::Client, config: Config) -> TestApp {
    let table = format!("test-{}", uuid::Uuid::new_v4().simple());
    dynamodb::create_table(&client, &table)
        .await
        .expect("table created");
    let store = Arc::new(
        TableStore::new(Arc::new(DynamoTable::new(client, &table)))
            .with_listing_shards(config.listing_shards),
    );
    let config = Config {
        table_name: table,
        ..config
    };
    // Jobs the relay sends are kept, as the embedded store's queue keeps them: a test reads them
    // with `with_captured`.
    let app = App::new(config, Stores::from_adapter(store), test_keys())
        .with_queue(Arc::new(Captured::default()));
    let name = app.config.table_name.clone();
    TestApp::new(app, Some(Box::new(DroppedTable(name))))
}

/// A response with its body read, so tests can look at it more than once.
#[derive(Debug)]
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl TestResponse {
    pub async fn read(response: axum::response::Response) -> Self {
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("a readable body");
        Self {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn body(&self) -> &Bytes {
        &self.body
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

pub fn body_json(response: &TestResponse) -> Value {
    if response.body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(&response.body).expect("JSON body")
}

pub fn header<'a>(response: &'a TestResponse, name: &str) -> Option<&'a str> {
    response.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Asserts a problem+json error with the given status and code; returns the document.
pub fn assert_problem(response: &TestResponse, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "body: {:?}", response.body());
    assert_eq!(
        header(response, "content-type"),
        Some("application/problem+json")
    );
    let body = body_json(response);
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["requestId"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(body["requestId"].as_str(), header(response, "x-request-id"));
    assert!(body["type"].as_str().is_some() && body["title"].as_str().is_some());
    body
}

/// A request as a client sends it: optional token, JSON body, extra headers, query string.
pub struct Call<'a> {
    pub method: Method,
    pub path: &'a str,
    pub token: Option<&'a str>,
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
    /// The source address API Gateway would report.
    pub source_ip: Option<std::net::IpAddr>,
}

impl<'a> Call<'a> {
    pub fn new(method: Method, path: &'a str) -> Self {
        Self {
            method,
            path,
            token: None,
            body: None,
            headers: Vec::new(),
            source_ip: None,
        }
    }

    /// Sent from this address (as API Gateway's request context says).
    pub fn sent_from(mut self, ip: &str) -> Self {
        self.source_ip = Some(ip.parse().expect("an IP address"));
        self
    }

    pub fn token(mut self, token: &'a str) -> Self {
        self.token = Some(token);
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn request(self) -> Request<Body> {
        let mut builder = Request::builder().method(self.method).uri(self.path);
        if let Some(token) = self.token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in &self.headers {
            builder = builder.header(*name, value);
        }
        let body = match &self.body {
            Some(body) => {
                builder = builder.header("content-type", "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        let mut request = builder.body(body).expect("a valid request");
        if let Some(ip) = self.source_ip {
            shared::http::set_source_ip(request.extensions_mut(), ip);
        }
        request
    }

    pub async fn send(self, app: &TestApp) -> TestResponse {
        send(app, self.request()).await
    }
}

/// Sends a request through the app's router, as the local server would.
pub async fn send(app: &TestApp, req: Request<Body>) -> TestResponse {
    let response = app.router.clone().oneshot(req).await.expect("infallible");
    TestResponse::read(response).await
}

/// Registers through the real handler; returns the response body (user + tokens).
pub async fn register_user(app: &TestApp, email: &str, password: &str) -> Value {
    let response = Call::new(Method::POST, "/api/auth/register")
        .json(serde_json::json!({ "email": email, "password": password, "name": "Test User" }))
        .send(app)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        response.body()
    );
    body_json(&response)
}

pub async fn refresh_with(app: &TestApp, token: &str) -> TestResponse {
    Call::new(Method::POST, "/api/auth/refresh")
        .json(serde_json::json!({ "refreshToken": token }))
        .send(app)
        .await
}

/// `GET /api/users/me` with an access token.
pub async fn get_me(app: &TestApp, token: &str) -> TestResponse {
    Call::new(Method::GET, "/api/users/me")
        .token(token)
        .send(app)
        .await
}

/// A registered user: id, tokens.
pub struct Account {
    pub id: String,
    pub email: String,
    pub access: String,
    pub refresh: String,
}

pub async fn account(app: &TestApp, email: &str, name: &str) -> Account {
    let response = Call::new(Method::POST, "/api/auth/register")
        .json(serde_json::json!({ "email": email, "password": "correct horse battery", "name": name }))
        .send(app)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        response.body()
    );
    let body = body_json(&response);
    Account {
        id: body["user"]["id"].as_str().unwrap().to_owned(),
        email: email.to_owned(),
        access: body["accessToken"].as_str().unwrap().to_owned(),
        refresh: body["refreshToken"].as_str().unwrap().to_owned(),
    }
}

/// A user with a role set through the store, as `local-api promote` does.
pub async fn account_with_role(app: &TestApp, email: &str, role: shared::domain::Role) -> Account {
    let account = account(app, email, "Staff").await;
    app.stores
        .users
        .set_role(&account.id, role, shared::clock::now_ms())
        .await
        .unwrap();
    account
}

/// Runs each case on both stores: `mod sqlite { case() }` and `mod dynamodb { case() }`.
#[macro_export]
macro_rules! on_both_stores {
    ($($case:ident => $config:expr),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case($crate::support::sqlite_app_with($config)).await;
                }
            )*
        }
        mod dynamodb {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case($crate::support::dynamo_app_with($config).await).await;
                }
            )*
        }
    };
}
