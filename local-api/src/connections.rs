//! Serves HTTP/1 connections so that idle or slow clients cannot pile up: at most
//! `MAX_CONNECTIONS` at once (the rest wait in the kernel's accept backlog, costing the server
//! nothing), a request's headers within `HEADER_READ_TIMEOUT_SECS`, its body within
//! `BODY_READ_TIMEOUT_SECS` of them (else 408, see `body_deadline`), and a connection with no
//! request in flight for `IDLE_TIMEOUT_SECS` closed. On shutdown it stops accepting, lets the
//! requests in flight finish, and returns once every connection has closed.
//!
//! hyper's header timer starts whenever a connection waits for a request head, so it also closes
//! an idle keep-alive connection; the idle timer matters when it is the shorter of the two.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use shared::http::set_source_ip;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

use crate::body_deadline::{DeadlineBody, request_timeout};

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_connections: u32,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Limits {
    pub fn from_env() -> Result<Self, String> {
        let seconds =
            |name, default| positive(name, default).map(|s| Duration::from_secs(s.into()));
        Ok(Self {
            max_connections: positive("MAX_CONNECTIONS", 256)?,
            header_read_timeout: seconds("HEADER_READ_TIMEOUT_SECS", 10)?,
            body_read_timeout: seconds("BODY_READ_TIMEOUT_SECS", 10)?,
            idle_timeout: seconds("IDLE_TIMEOUT_SECS", 5)?,
        })
    }
}

fn positive(name: &str, default: u32) -> Result<u32, String> {
    match std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => (v.trim().parse().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{name} must be a whole number above zero")),
    }
}

/// Serves `router` on every connection `listener` accepts until `shutdown` completes.
pub async fn serve<L>(
    mut listener: L,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) where
    L: Listener<Addr = SocketAddr>,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections as usize));
    // Dropping `stop` tells every connection to finish its request in flight and close.
    let (stop, stopped) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A connection is accepted only once it has a slot.
        let accepted = async {
            let slot = slots.clone().acquire_owned().await.expect("never closed");
            (slot, listener.accept().await)
        };
        tokio::select! {
            (slot, (io, peer)) = accepted => {
                let connection = connection(io, peer, router.clone(), limits, stopped.clone(), slot);
                tokio::spawn(connection);
            }
            () = &mut shutdown => break,
        }
    }
    drop(stop);
    drop(listener);
    // Every slot back: every connection has closed.
    let _ = slots.acquire_many(limits.max_connections).await;
}

async fn connection<I>(
    io: I,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    mut stopped: watch::Receiver<()>,
    _slot: OwnedSemaphorePermit,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (in_flight, mut requests) = watch::channel(0usize);
    let body_read_timeout = limits.body_read_timeout;
    let service = service_fn(move |request: hyper::Request<Incoming>| {
        let (mut parts, body) = request.into_parts();
        // The peer, where API Gateway puts the source address: handlers read it one way on
        // Lambda and here (`X-Forwarded-For` only counts behind `TRUSTED_PROXIES`).
        set_source_ip(&mut parts.extensions, peer.ip());
        let (body, timed_out) = DeadlineBody::new(body, body_read_timeout);
        let response = router
            .clone()
            .oneshot(hyper::Request::from_parts(parts, body));
        let in_flight = in_flight.clone();
        in_flight.send_modify(|n| *n += 1);
        async move {
            let response = response.await;
            in_flight.send_modify(|n| *n -= 1);
            response.map(|response| {
                if timed_out.get() {
                    request_timeout(response, body_read_timeout)
                } else {
                    response
                }
            })
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut conn = std::pin::pin!(builder.serve_connection(TokioIo::new(io), service));
    let close = async {
        tokio::select! {
            () = idle(&mut requests, limits.idle_timeout) => {}
            _ = stopped.changed() => {}
        }
    };
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = close => {
            // Closes an idle connection now, a busy one once its response is written.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "connection ended");
    }
}

/// Returns once no request has been in flight for `timeout`.
async fn idle(requests: &mut watch::Receiver<usize>, timeout: Duration) {
    loop {
        let _ = requests.wait_for(|n| *n == 0).await;
        if !matches!(
            tokio::time::timeout(timeout, requests.changed()).await,
            Ok(Ok(()))
        ) {
            return;
        }
    }
}
