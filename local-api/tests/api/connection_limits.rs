//! Idle and slow connections over real TCP: the header, body and idle timeouts close them, and no
//! more than `MAX_CONNECTIONS` are served at once. Bounds are generous: only the order of magnitude
//! of a timing is asserted.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::Server;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// The head of a registration whose body is `length` bytes long.
fn register_head(length: usize) -> Vec<u8> {
    format!(
        "POST /api/auth/register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

fn start(env: &[(&str, &str)]) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    (Server::start(dir.path(), env), dir)
}

async fn connect(server: &Server) -> TcpStream {
    let address = server.base.strip_prefix("http://").expect("http base");
    TcpStream::connect(address).await.expect("connects")
}

/// Everything the server sends until it closes the connection; panics if it is still open after
/// `limit`.
async fn read_until_closed(stream: &mut (impl AsyncRead + Unpin), limit: Duration) -> Vec<u8> {
    let mut received = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
                // A reset closes it too.
                Err(_) => return,
            }
        }
    };
    tokio::time::timeout(limit, read)
        .await
        .expect("the server closed the connection in time");
    received
}

/// Reads until a whole response head has arrived.
async fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    while !received.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.expect("reads");
        assert!(n > 0, "closed before a response");
        received.extend_from_slice(&buf[..n]);
    }
    received
}

async fn until_released(release: &mut watch::Receiver<bool>) {
    let _ = release.wait_for(|released| *released).await;
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn a_request_whose_headers_stop_coming_is_closed_after_the_header_timeout() {
    let (server, _dir) = start(&[
        ("HEADER_READ_TIMEOUT_SECS", "1"),
        ("IDLE_TIMEOUT_SECS", "60"),
    ]);
    tokio::join!(
        expect_header_timeout(&server, b"GET /hea"),
        expect_header_timeout(
            &server,
            b"GET /health HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n"
        ),
    );
}

async fn expect_header_timeout(server: &Server, partial: &[u8]) {
    let started = Instant::now();
    let mut stream = connect(server).await;
    stream.write_all(partial).await.expect("writes");
    let received = read_until_closed(&mut stream, Duration::from_secs(15)).await;
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "closed at once"
    );
    // hyper closes without an answer; a 408 would do as well.
    assert!(
        received.is_empty() || received.starts_with(b"HTTP/1.1 408"),
        "{}",
        text(&received)
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let (server, _dir) = start(&[
        ("HEADER_READ_TIMEOUT_SECS", "60"),
        ("IDLE_TIMEOUT_SECS", "1"),
    ]);
    let mut stream = connect(&server).await;
    stream.write_all(HEALTH).await.expect("writes");
    let started = Instant::now();
    // Well before the 60 s header timeout could close it.
    let received = read_until_closed(&mut stream, Duration::from_secs(20)).await;
    assert!(received.starts_with(b"HTTP/1.1 200"), "{}", text(&received));
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "kept alive for a while first"
    );
}

#[tokio::test]
async fn no_more_than_max_connections_are_served_at_once() {
    const CAP: usize = 8;
    let (server, _dir) = start(&[
        ("MAX_CONNECTIONS", "8"),
        ("HEADER_READ_TIMEOUT_SECS", "60"),
        ("IDLE_TIMEOUT_SECS", "60"),
    ]);
    let served = Arc::new(AtomicUsize::new(0));
    let (release, released) = watch::channel(false);
    let mut clients = tokio::task::JoinSet::new();
    // The kernel completes these connections; the server accepts only as many as it serves.
    for _ in 0..50 {
        let mut stream = connect(&server).await;
        let served = served.clone();
        let (mut head_released, mut hold_released) = (released.clone(), released.clone());
        clients.spawn(async move {
            stream.write_all(HEALTH).await.expect("writes");
            tokio::select! {
                head = read_head(&mut stream) => {
                    assert!(head.starts_with(b"HTTP/1.1 200"), "{}", text(&head));
                    served.fetch_add(1, Ordering::SeqCst);
                    // Keep the connection open, idle, until released.
                    until_released(&mut hold_released).await;
                }
                () = until_released(&mut head_released) => {}
            }
        });
    }

    let deadline = Instant::now() + Duration::from_secs(30);
    while served.load(Ordering::SeqCst) < CAP {
        assert!(Instant::now() < deadline, "the first {CAP} were not served");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Plenty of time for a ninth to be served if the cap did not hold.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(served.load(Ordering::SeqCst), CAP);

    // Once the idle ones close, the server answers as usual.
    release.send(true).expect("clients listen");
    while let Some(client) = clients.join_next().await {
        client.expect("client task");
    }
    let response = tokio::time::timeout(
        Duration::from_secs(30),
        server.http.get(server.url("/health")).send(),
    )
    .await
    .expect("answered in time")
    .expect("request sent");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn normal_and_slow_but_timely_requests_are_answered() {
    let (server, _dir) = start(&[
        ("HEADER_READ_TIMEOUT_SECS", "5"),
        ("IDLE_TIMEOUT_SECS", "60"),
    ]);
    let response = server
        .http
        .get(server.url("/health"))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 200);

    // About 1.2 s to send the headers, well inside the 5 s allowed.
    let mut stream = connect(&server).await;
    let pieces: [&[u8]; 4] = [
        b"GET /hea",
        b"lth HTTP/1.1\r\n",
        b"Host: localhost\r\n",
        b"Connection: close\r\n\r\n",
    ];
    for (i, piece) in pieces.into_iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
        stream.write_all(piece).await.expect("writes");
    }
    let received = read_until_closed(&mut stream, Duration::from_secs(15)).await;
    assert!(received.starts_with(b"HTTP/1.1 200"), "{}", text(&received));
}

#[tokio::test]
async fn a_body_that_stops_coming_is_answered_408_and_its_connection_freed() {
    let (server, _dir) = start(&[
        ("MAX_CONNECTIONS", "4"),
        ("HEADER_READ_TIMEOUT_SECS", "60"),
        ("BODY_READ_TIMEOUT_SECS", "1"),
        ("IDLE_TIMEOUT_SECS", "60"),
    ]);
    // Every slot taken by a request whose 100-byte body never comes.
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let mut stream = connect(&server).await;
        stream.write_all(&register_head(100)).await.expect("writes");
        stalled.push(stream);
    }
    let started = Instant::now();
    // Waits in the accept backlog until a stalled one is closed.
    let normal = tokio::spawn(
        server
            .http
            .get(server.url("/health"))
            .timeout(Duration::from_secs(30))
            .send(),
    );
    for mut stream in stalled {
        let received = read_until_closed(&mut stream, Duration::from_secs(15)).await;
        let received = text(&received);
        assert!(received.starts_with("HTTP/1.1 408"), "{received}");
        assert!(received.contains("application/problem+json"), "{received}");
        assert!(
            received.contains(r#""code":"request_timeout""#),
            "{received}"
        );
    }
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "timed out at once"
    );
    let response = normal.await.expect("client task").expect("answered");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_body_trickling_in_is_cut_off_at_the_total_deadline() {
    let (server, _dir) = start(&[
        ("HEADER_READ_TIMEOUT_SECS", "60"),
        ("BODY_READ_TIMEOUT_SECS", "1"),
        ("IDLE_TIMEOUT_SECS", "60"),
    ]);
    let mut stream = connect(&server).await;
    stream.write_all(&register_head(100)).await.expect("writes");
    let started = Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    // One byte every 300 ms: each well inside the timeout, the whole body 30 s.
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if writer.write_all(b" ").await.is_err() {
                return;
            }
        }
    });
    let received = read_until_closed(&mut reader, Duration::from_secs(15)).await;
    trickle.abort();
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "closed at once"
    );
    // Bytes still arriving as the server closes may reset the connection before its 408 is read.
    assert!(
        received.is_empty() || received.starts_with(b"HTTP/1.1 408"),
        "{}",
        text(&received)
    );
}

#[tokio::test]
async fn a_slow_but_timely_body_is_answered() {
    let (server, _dir) = start(&[
        ("HEADER_READ_TIMEOUT_SECS", "60"),
        ("BODY_READ_TIMEOUT_SECS", "5"),
        ("IDLE_TIMEOUT_SECS", "60"),
    ]);
    let body =
        br#"{"email": "slow@example.com", "password": "correct horse battery", "name": "Ada"}"#;
    let mut stream = connect(&server).await;
    stream
        .write_all(&register_head(body.len()))
        .await
        .expect("writes");
    // Three pieces over about 600 ms, well inside the 5 s allowed.
    for (i, piece) in body.chunks(body.len().div_ceil(3)).enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        stream.write_all(piece).await.expect("writes");
    }
    let received = read_until_closed(&mut stream, Duration::from_secs(20)).await;
    assert!(received.starts_with(b"HTTP/1.1 201"), "{}", text(&received));
}

#[tokio::test]
async fn a_handler_that_does_not_read_the_body_answers_at_once() {
    let (server, _dir) = start(&[
        ("HEADER_READ_TIMEOUT_SECS", "60"),
        ("BODY_READ_TIMEOUT_SECS", "60"),
        ("IDLE_TIMEOUT_SECS", "60"),
    ]);
    let mut stream = connect(&server).await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n")
        .await
        .expect("writes");
    // Answered, and the connection with its unread body closed, long before the body timeout.
    let received = read_until_closed(&mut stream, Duration::from_secs(20)).await;
    assert!(received.starts_with(b"HTTP/1.1 200"), "{}", text(&received));
}
