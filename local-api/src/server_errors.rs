//! hyper answers some malformed requests itself, before any middleware runs: a broken request
//! line (400), too many headers (431), a request target over its limit (414). Those answers
//! carry no request id, no security headers and no problem document. This listener wraps each
//! connection so that such an answer is replaced, as it is written, by the same problem+json
//! response the middleware gives every other error. A response of ours always carries
//! `x-request-id`; hyper's own never do.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::http::StatusCode;
use shared::http::{Problem, X_REQUEST_ID};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

pub struct ProblemListener(pub TcpListener);

impl axum::serve::Listener for ProblemListener {
    type Io = ServerErrors<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, address)) => {
                    return (
                        ServerErrors {
                            inner: stream,
                            pending: Vec::new(),
                        },
                        address,
                    );
                }
                // Out of file descriptors and the like: wait, then accept again.
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

pub struct ServerErrors<S> {
    inner: S,
    /// Bytes of a replacement response not yet written.
    pending: Vec<u8>,
}

/// The status of a response head hyper wrote on its own, if `bytes` is one.
fn servers_own_error(bytes: &[u8]) -> Option<StatusCode> {
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..head_end]).ok()?;
    let status: u16 = head.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    let status = StatusCode::from_u16(status).ok()?;
    let ours = head
        .lines()
        .any(|line| line.to_ascii_lowercase().starts_with(X_REQUEST_ID.as_str()));
    (status.as_u16() >= 400 && !ours).then_some(status)
}

fn replacement(status: StatusCode) -> Vec<u8> {
    let request_id = uuid::Uuid::new_v4().to_string();
    tracing::info!(
        request_id,
        status = status.as_u16(),
        route = "-",
        "request rejected by the HTTP server"
    );
    let body = shared::http::problem_document(&Problem::from_status(status), &request_id);
    let mut head = format!(
        "HTTP/1.1 {} {}\r\ncontent-length: {}\r\nconnection: close\r\nx-request-id: {request_id}\r\ncache-control: no-store\r\ncontent-type: {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error"),
        body.len(),
        shared::http::PROBLEM_JSON
    );
    for (name, value) in shared::http::SECURITY_HEADERS {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend(body.into_bytes());
    bytes
}

impl<S: AsyncWrite + Unpin> ServerErrors<S> {
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let written = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..written);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ServerErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ServerErrors<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(status) = servers_own_error(buf) {
            self.pending = replacement(status);
            ready!(self.poll_pending(cx))?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_only_the_servers_own_error_heads() {
        let own =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        assert_eq!(
            servers_own_error(own),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        let ours = b"HTTP/1.1 404 Not Found\r\nx-request-id: abc\r\n\r\n{}";
        assert_eq!(servers_own_error(ours), None);
        assert_eq!(servers_own_error(b"HTTP/1.1 100 Continue\r\n\r\n"), None);
        assert_eq!(servers_own_error(b"{\"body\": 1}"), None);
    }
}
