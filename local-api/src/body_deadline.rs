//! A request's whole body must arrive within `BODY_READ_TIMEOUT_SECS` of its headers. hyper's
//! header timer stops once the head is parsed, so without this a client that sends a head with
//! `Content-Length` and then nothing (or one byte now and then) holds its connection slot, and
//! the part of the body read so far, for as long as it likes.
//!
//! The deadline is total, not per frame: a trickle of one byte every few seconds is cut off too.
//! It is checked only while the body is waited for, so a handler that reads a body already
//! received, or never reads it, is not affected (hyper closes a connection whose body was left
//! unread). A handler still reading at the deadline gets a read error; the problem it answers
//! (`unreadable_body`) is then replaced by a 408 `request_timeout`, and the connection closed.

use std::error::Error;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use shared::BoxError;
use shared::http::{PROBLEM_JSON, Problem, X_REQUEST_ID, problem_document};
use tokio::time::{Instant, Sleep};

/// `inner`, failing with `BodyTimedOut` once `deadline` has passed with the body unfinished.
pub struct DeadlineBody {
    inner: Incoming,
    deadline: Instant,
    /// Set up the first time the body has to be waited for: no timer for a body already here.
    sleep: Option<Pin<Box<Sleep>>>,
    timed_out: Arc<AtomicBool>,
}

/// Whether a request's body ran out of time: read once its response is ready.
#[derive(Clone, Default)]
pub struct TimedOut(Arc<AtomicBool>);

impl TimedOut {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl DeadlineBody {
    pub fn new(inner: Incoming, timeout: Duration) -> (Self, TimedOut) {
        let timed_out = TimedOut::default();
        let body = Self {
            inner,
            deadline: Instant::now() + timeout,
            sleep: None,
            timed_out: timed_out.0.clone(),
        };
        (body, timed_out)
    }
}

#[derive(Debug)]
pub struct BodyTimedOut;

impl fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl Error for BodyTimedOut {}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.timed_out.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(BodyTimedOut.into())));
        }
        // What has arrived is handed on, even past the deadline: only waiting is bounded.
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        ready!(sleep.as_mut().poll(cx));
        this.timed_out.store(true, Ordering::Relaxed);
        Poll::Ready(Some(Err(BodyTimedOut.into())))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// `response`, made by a handler whose body read timed out, as a 408 problem document with the
/// same request id and headers (security headers, CORS), closing the connection.
pub fn request_timeout(response: Response, timeout: Duration) -> Response {
    let request_id = (response.headers().get(X_REQUEST_ID))
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    tracing::info!(
        request_id,
        status = 408,
        replaced = response.status().as_u16(),
        "request body not received in time"
    );
    let problem = Problem {
        status: StatusCode::REQUEST_TIMEOUT,
        code: "request_timeout",
        detail: format!(
            "the request body did not arrive within {} s of its headers",
            timeout.as_secs()
        ),
        errors: Vec::new(),
    };
    let (mut parts, _) = response.into_parts();
    parts.status = problem.status;
    let headers = &mut parts.headers;
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    let body = Body::from(problem_document(&problem, &request_id));
    parts.extensions.insert(problem);
    Response::from_parts(parts, body)
}
