//! The SQS workers end to end on the emulator: jobs travel a real queue that has a dead-letter
//! queue, each batch reaches `Worker::handle` as the Lambda event the event source mapping
//! sends, and the messages the answer does not list as failed are deleted, as that mapping does.

use crate::support;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use axum::Router;
use axum::body::Bytes;
use axum::http::{StatusCode, header};
use mail_parser::{Message as ParsedMail, MessageParser};
use serde_json::{Value, json};
use shared::clock::now_ms;
use shared::config::Config;
use shared::jobs::sqs::SqsQueue;
use shared::jobs::worker::Worker;
use shared::jobs::{
    Deliveries, Job, MailMessage, Notice, SecurityEvent, TelegramDelivery, Work, reconcile_outbox,
};
use shared::notify::mail::{MailSettings, MailTransport, SmtpSettings};
use shared::notify::telegram::{Telegram, TelegramConfig};
use support::TestApp;
use support::smtp::{SmtpServer, files_in};

const FROM: &str = "App <no-reply@example.com>";
const BOT_TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
const CHAT_ID: &str = "-1001234567890";

/// A fresh queue with its dead-letter queue, configured as the stack configures its queues.
struct TestQueue {
    url: String,
    arn: String,
    dead_letter_url: String,
}

async fn sqs_client() -> aws_sdk_sqs::Client {
    support::emulator_endpoint();
    aws_sdk_sqs::Client::new(&aws_config::load_from_env().await)
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes()
        .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn).cloned())
        .expect("a queue ARN")
}

async fn create_queue(sqs: &aws_sdk_sqs::Client) -> TestQueue {
    let name = format!("worker-test-{}", uuid::Uuid::new_v4().simple());
    let dead_letter_url = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .expect("dead-letter queue created")
        .queue_url
        .expect("a queue URL");
    let redrive = json!({
        "deadLetterTargetArn": queue_arn(sqs, &dead_letter_url).await,
        "maxReceiveCount": infra::MAX_RECEIVES.to_string(),
    });
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .attributes(QueueAttributeName::VisibilityTimeout, "60")
        .send()
        .await
        .expect("queue created")
        .queue_url
        .expect("a queue URL");
    TestQueue {
        arn: queue_arn(sqs, &url).await,
        url,
        dead_letter_url,
    }
}

async fn send_raw(sqs: &aws_sdk_sqs::Client, url: &str, body: &str) {
    sqs.send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .expect("message sent");
}

/// Receives until `count` messages arrived; fails the test if they do not within a few seconds.
async fn receive(sqs: &aws_sdk_sqs::Client, url: &str, count: usize) -> Vec<Message> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut messages = Vec::new();
    while messages.len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} messages arrived on {url}",
            messages.len()
        );
        let output = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("messages received");
        messages.extend(output.messages.unwrap_or_default());
    }
    messages
}

/// Receives without waiting: the messages visible right now.
async fn receive_now(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Message> {
    sqs.receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(0)
        .send()
        .await
        .expect("messages received")
        .messages
        .unwrap_or_default()
}

/// Messages still on the queue, visible or in flight.
async fn messages_left(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    let output = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes");
    let attributes = output.attributes().expect("attributes");
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .map(|name| attributes[name].parse::<u64>().expect("a count"))
    .sum()
}

fn bodies(messages: &[Message]) -> Vec<&str> {
    messages.iter().filter_map(Message::body).collect()
}

/// The event Lambda's SQS event source mapping hands the function for these messages.
fn lambda_event(queue: &TestQueue, messages: &[Message]) -> Value {
    let region = queue.arn.split(':').nth(3).expect("a region in the ARN");
    let records: Vec<Value> = messages
        .iter()
        .map(|message| {
            let attributes: serde_json::Map<String, Value> = message
                .attributes()
                .into_iter()
                .flatten()
                .map(|(name, value)| (name.as_str().to_owned(), Value::from(value.as_str())))
                .collect();
            json!({
                "messageId": message.message_id(),
                "receiptHandle": message.receipt_handle(),
                "body": message.body(),
                "md5OfBody": message.md5_of_body(),
                "attributes": attributes,
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": queue.arn,
                "awsRegion": region,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// Runs one batch through the worker, then deletes what it did not report failed; returns
/// the ids it reported.
async fn run_batch(worker: &Worker, queue: &TestQueue, messages: &[Message]) -> Vec<String> {
    let event = serde_json::from_value(lambda_event(queue, messages)).expect("an SQS event");
    let failed: Vec<String> = worker
        .handle(event)
        .await
        .batch_item_failures
        .into_iter()
        .map(|failure| failure.item_identifier)
        .collect();
    for message in messages {
        if !failed
            .iter()
            .any(|id| Some(id.as_str()) == message.message_id())
        {
            worker
                .sqs
                .delete_message()
                .queue_url(&queue.url)
                .receipt_handle(message.receipt_handle().expect("a receipt handle"))
                .send()
                .await
                .expect("message deleted");
        }
    }
    failed
}

fn worker(
    app: &TestApp,
    sqs: &aws_sdk_sqs::Client,
    queue: &TestQueue,
    deliveries: Deliveries,
) -> Worker {
    Worker {
        job_records: app.stores.job_records.clone(),
        deliveries,
        sqs: sqs.clone(),
        dead_letter_url: queue.dead_letter_url.clone(),
    }
}

/// Mails into `<dir>/mail` as `.eml` files, notices into `<dir>/telegram` as JSON files.
fn file_deliveries(dir: &Path) -> Deliveries {
    Deliveries {
        mail: Some(mail_transport(None, dir)),
        telegram: Some(TelegramDelivery::Files {
            dir: dir.join("telegram"),
            chat_id: CHAT_ID.into(),
        }),
    }
}

fn mail_transport(smtp: Option<SmtpSettings>, dir: &Path) -> MailTransport {
    MailTransport::from_settings(&MailSettings {
        from: FROM.into(),
        smtp,
        files_dir: dir.join("mail"),
    })
    .expect("valid mail settings")
}

fn bot_deliveries(api_base: &str) -> Deliveries {
    Deliveries {
        mail: None,
        telegram: Some(TelegramDelivery::Bot(Box::new(Telegram::new(
            TelegramConfig {
                api_base: api_base.to_owned(),
                bot_token: BOT_TOKEN.into(),
                admin_chat_id: CHAT_ID.to_owned(),
            },
        )))),
    }
}

/// An app on a fresh table whose job queue sends to `queue` (both kinds of job).
async fn app_sending_to(sqs: &aws_sdk_sqs::Client, queue: &str) -> TestApp {
    let app = support::dynamo_app_with(Config::for_tests()).await;
    let sqs_queue = SqsQueue::new(sqs.clone(), Some(queue.into()), Some(queue.into()));
    support::with_queue(app, Arc::new(sqs_queue))
}

fn raw_mails(dir: &Path) -> Vec<Vec<u8>> {
    files_in(&dir.join("mail"))
        .iter()
        .map(|path| std::fs::read(path).expect("a readable mail"))
        .collect()
}

fn parse(raw: &[u8]) -> ParsedMail<'_> {
    MessageParser::default()
        .parse(raw)
        .expect("a parseable mail")
}

fn recipient_and_subject(raw: &[u8]) -> (String, String) {
    let mail = parse(raw);
    let to = mail
        .to()
        .and_then(|to| to.first()?.address())
        .expect("a recipient");
    (to.to_owned(), mail.subject().expect("a subject").to_owned())
}

const SENT: &str = r#"{"ok":true,"result":{"message_id":7}}"#;
const RATE_LIMITED: &str = r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}"#;
const BLOCKED: &str =
    r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#;

/// A Bot API on 127.0.0.1 that gives its answers in order (the last one from then on) and
/// keeps the body of every request.
struct BotStandIn {
    base: String,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl BotStandIn {
    async fn answering(answers: &'static [(StatusCode, &'static str)]) -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let app = Router::new().fallback(move |body: Bytes| {
            let log = log.clone();
            async move {
                let mut log = log.lock().unwrap();
                log.push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                let (status, answer) = answers[(log.len() - 1).min(answers.len() - 1)];
                (status, [(header::CONTENT_TYPE, "application/json")], answer)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, requests }
    }

    fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_reports_only_its_poison_message() {
    let sqs = sqs_client().await;
    let queue = create_queue(&sqs).await;
    let app = app_sending_to(&sqs, &queue.url).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let worker = worker(&app, &sqs, &queue, file_deliveries(dir.path()));
    let now = now_ms();
    for job in [
        Job::email("ada@example.com", "Ada", MailMessage::PasswordChanged, now),
        Job::email("bob@example.com", "Bob", MailMessage::AccountDeleted, now),
    ] {
        app.queue.send(&job).await.expect("job enqueued");
    }
    let poison = r#"{"version":1,"type":"fax","to":"+15550100"}"#;
    send_raw(&sqs, &queue.url, poison).await;

    let batch = receive(&sqs, &queue.url, 3).await;
    let failed = run_batch(&worker, &queue, &batch).await;

    assert!(failed.is_empty(), "nothing is worth retrying: {failed:?}");
    let mut delivered: Vec<(String, String)> = raw_mails(dir.path())
        .iter()
        .map(|raw| recipient_and_subject(raw))
        .collect();
    delivered.sort();
    assert_eq!(
        delivered,
        [
            (
                "ada@example.com".to_owned(),
                "Your password was changed".to_owned()
            ),
            (
                "bob@example.com".to_owned(),
                "Your account was deleted".to_owned()
            ),
        ]
    );
    let dead = receive(&sqs, &queue.dead_letter_url, 1).await;
    assert_eq!(bodies(&dead), [poison]);
    assert_eq!(messages_left(&sqs, &queue.url).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_delivered_twice_sends_once() {
    let sqs = sqs_client().await;
    let queue = create_queue(&sqs).await;
    let app = app_sending_to(&sqs, &queue.url).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let worker = worker(&app, &sqs, &queue, file_deliveries(dir.path()));
    let job = Job::email(
        "ada@example.com",
        "Ada",
        MailMessage::PasswordChanged,
        now_ms(),
    );
    app.queue.send(&job).await.expect("job enqueued");
    app.queue.send(&job).await.expect("job enqueued again");

    let messages = receive(&sqs, &queue.url, 2).await;
    assert_eq!(bodies(&messages), [job.to_json(), job.to_json()]);
    for message in messages {
        let failed = run_batch(&worker, &queue, std::slice::from_ref(&message)).await;
        assert!(failed.is_empty(), "a repeat is done with, not retried");
    }

    assert_eq!(raw_mails(dir.path()).len(), 1, "one mail for one job");
    assert_eq!(messages_left(&sqs, &queue.url).await, 0);
    assert!(receive_now(&sqs, &queue.dead_letter_url).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciliation_delivers_what_a_dead_queue_left_in_the_outbox() {
    let sqs = sqs_client().await;
    let email_queue = create_queue(&sqs).await;
    let telegram_queue = create_queue(&sqs).await;
    let missing_queue = format!("{}-gone", email_queue.url);
    let app = app_sending_to(&sqs, &missing_queue).await;

    support::account(&app, "newcomer@example.com", "Newcomer").await;
    let stranded = app.stores.outbox.outbox_due(i64::MAX, 10).await.unwrap();
    assert!(
        stranded.iter().any(|job| matches!(&job.work,
            Work::Email(mail) if mail.to == "newcomer@example.com"
                && matches!(mail.message, MailMessage::Welcome { .. }))),
        "the welcome mail waits in the outbox: {stranded:?}"
    );
    assert!(
        stranded
            .iter()
            .any(|job| matches!(job.work, Work::Telegram(Notice::NewSignup { .. }))),
        "{stranded:?}"
    );

    let live_queue = SqsQueue::new(
        sqs.clone(),
        Some(email_queue.url.clone()),
        Some(telegram_queue.url.clone()),
    );
    // The relay cannot send them (no such queue): it reports the batch unhandled, and they
    // wait in the outbox.
    assert!(app.relay.drain().await.is_err());
    assert_eq!(
        app.stores.outbox.outbox_due(i64::MAX, 10).await.unwrap(),
        stranded
    );
    // Only jobs strictly older than the pass's `now` are due.
    let swept = reconcile_outbox(&app.stores, &live_queue, now_ms() + 1, Duration::ZERO)
        .await
        .expect("outbox reconciled");
    assert_eq!(swept.sent, stranded.len());
    assert!(
        app.stores
            .outbox
            .outbox_due(i64::MAX, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let dir = tempfile::tempdir().expect("temp dir");
    for queue in [&email_queue, &telegram_queue] {
        let worker = worker(&app, &sqs, queue, file_deliveries(dir.path()));
        let batch = receive(&sqs, &queue.url, 1).await;
        assert!(run_batch(&worker, queue, &batch).await.is_empty());
        assert_eq!(messages_left(&sqs, &queue.url).await, 0);
    }

    let mails = raw_mails(dir.path());
    assert_eq!(mails.len(), 1);
    let (to, _) = recipient_and_subject(&mails[0]);
    assert_eq!(to, "newcomer@example.com");
    let text = parse(&mails[0])
        .body_text(0)
        .expect("a text part")
        .into_owned();
    assert!(text.contains("/verify-email#token="), "{text}");
    let notices = files_in(&dir.path().join("telegram"));
    assert_eq!(notices.len(), 1);
    let notice = std::fs::read_to_string(&notices[0]).expect("a readable notice");
    assert!(notice.contains("newcomer@example.com"), "{notice}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_rate_limits_retry_and_refusals_dead_letter() {
    let sqs = sqs_client().await;
    let queue = create_queue(&sqs).await;
    let app = app_sending_to(&sqs, &queue.url).await;

    // Rate limited once: retried after the delay the Bot API asked for, then delivered.
    let bot = BotStandIn::answering(&[
        (StatusCode::TOO_MANY_REQUESTS, RATE_LIMITED),
        (StatusCode::OK, SENT),
    ])
    .await;
    let worker = worker(&app, &sqs, &queue, bot_deliveries(&bot.base));
    let signup = Job::new(
        Work::Telegram(Notice::NewSignup {
            email: "eve@example.com".into(),
            name: r#"_ * [ < & ""#.into(),
        }),
        now_ms(),
    );
    app.queue.send(&signup).await.expect("job enqueued");

    let first = receive(&sqs, &queue.url, 1).await;
    let failed = run_batch(&worker, &queue, &first).await;
    assert_eq!(failed, [first[0].message_id().unwrap()]);
    assert!(
        receive_now(&sqs, &queue.url).await.is_empty(),
        "hidden until the delay is over"
    );
    // Back after the 1 s asked for, long before the queue's own 60 s visibility timeout.
    let second = receive(&sqs, &queue.url, 1).await;
    assert_eq!(second[0].message_id(), first[0].message_id());
    assert!(run_batch(&worker, &queue, &second).await.is_empty());

    let requests = bot.requests();
    assert_eq!(requests.len(), 2, "one refused try, one delivery");
    assert_eq!(requests[1]["chat_id"], CHAT_ID);
    assert_eq!(requests[1]["parse_mode"], "HTML");
    let text = requests[1]["text"].as_str().expect("a text");
    assert!(
        text.lines()
            .any(|line| line == "Name: _ * [ &lt; &amp; &quot;"),
        "escaped and otherwise intact: {text}"
    );
    assert!(
        text.lines().any(|line| line == "E-mail: eve@example.com"),
        "{text}"
    );

    // Blocked: no retry can help, so straight to the dead-letter queue.
    let blocked_bot = BotStandIn::answering(&[(StatusCode::FORBIDDEN, BLOCKED)]).await;
    let worker = Worker {
        deliveries: bot_deliveries(&blocked_bot.base),
        ..worker
    };
    let security = Job::security("eve@example.com", SecurityEvent::PasswordChanged, now_ms());
    app.queue.send(&security).await.expect("job enqueued");

    let batch = receive(&sqs, &queue.url, 1).await;
    assert!(run_batch(&worker, &queue, &batch).await.is_empty());
    assert_eq!(blocked_bot.requests().len(), 1, "tried once only");
    let dead = receive(&sqs, &queue.dead_letter_url, 1).await;
    assert_eq!(bodies(&dead), [security.to_json()]);
    assert_eq!(messages_left(&sqs, &queue.url).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_delivery_through_the_worker() {
    let sqs = sqs_client().await;
    let queue = create_queue(&sqs).await;
    let app = app_sending_to(&sqs, &queue.url).await;
    let server = SmtpServer::start();
    let unused = tempfile::tempdir().expect("temp dir");
    let deliveries = Deliveries {
        mail: Some(mail_transport(Some(server.settings()), unused.path())),
        telegram: None,
    };
    let worker = worker(&app, &sqs, &queue, deliveries);
    // Long enough to be wrapped by quoted-printable, with the `=` that encoding must escape.
    let link = format!(
        "https://app.example.com/reset-password#token={}",
        "aB3-_x9Z".repeat(16)
    );
    let job = Job::email(
        "zoe@example.org",
        "Zoë",
        MailMessage::ResetPassword { link: link.clone() },
        now_ms(),
    );
    app.queue.send(&job).await.expect("job enqueued");

    let batch = receive(&sqs, &queue.url, 1).await;
    assert!(run_batch(&worker, &queue, &batch).await.is_empty());

    let received = server.received();
    assert_eq!(received.len(), 1, "exactly one message arrives");
    let (to, subject) = recipient_and_subject(&received[0]);
    assert_eq!(to, "zoe@example.org");
    assert_eq!(subject, "Reset your password");
    let text = parse(&received[0])
        .body_text(0)
        .expect("a text part")
        .into_owned();
    assert!(text.contains(&link), "the link survives the trip:\n{text}");
    assert!(files_in(unused.path()).is_empty(), "nothing went to files");
}
