//! An upstream response body: it owns its connection while it streams, decodes the framing (length,
//! chunked, or to the end of the connection), and gives the connection back to the pool once it is all
//! received — or closes it, when the client went away first or the body broke.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use hyper::body::{Body, Frame, SizeHint};

use super::h1::{Connection, Framing};
use super::pool::Pool;
use crate::errors::BoxError;

/// The longest chunk-size line (with extensions) and trailer section accepted.
const MAX_CHUNK_LINE: usize = 4 * 1024;
const MAX_TRAILERS: usize = 16 * 1024;

pub struct UpstreamBody {
    /// `None` once the body is complete (the connection went back) or broke.
    connection: Option<Connection>,
    pool: Arc<Pool>,
    state: State,
    reusable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Bytes left of a `Content-Length` body.
    Length(u64),
    /// To the end of the connection.
    Close,
    /// A chunk-size line is next.
    ChunkSize,
    /// Bytes left of the current chunk.
    ChunkData(u64),
    /// The CRLF after a chunk.
    ChunkEnd,
    /// After the last chunk: trailer lines up to an empty one.
    Trailers,
    Done,
}

#[derive(Debug, thiserror::Error)]
#[error("upstream response body: {0}")]
struct BodyError(&'static str);

impl UpstreamBody {
    pub fn new(connection: Connection, pool: Arc<Pool>, framing: Framing, reusable: bool) -> UpstreamBody {
        let state = match framing {
            Framing::Length(length) => State::Length(length),
            Framing::Chunked => State::ChunkSize,
            Framing::Close => State::Close,
        };
        let mut body = UpstreamBody { connection: Some(connection), pool, state, reusable };
        if body.state == State::Length(0) {
            body.finish();
        }
        body
    }

    /// The body is all received: the connection goes back to the pool if it can carry another exchange.
    fn finish(&mut self) {
        self.state = State::Done;
        if let Some(connection) = self.connection.take()
            && self.reusable
        {
            self.pool.checkin(connection);
        }
    }

    fn fail(&mut self, error: impl Into<BoxError>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.state = State::Done;
        self.connection = None;
        Poll::Ready(Some(Err(error.into())))
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            let Some(connection) = this.connection.as_mut() else { return Poll::Ready(None) };
            let buf = &mut connection.read_buf;
            match this.state {
                State::Done => return Poll::Ready(None),
                State::Length(left) | State::ChunkData(left) if !buf.is_empty() => {
                    let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let data = buf.split_to(n).freeze();
                    let left = left - n as u64;
                    match this.state {
                        State::Length(_) if left == 0 => this.finish(),
                        State::Length(_) => this.state = State::Length(left),
                        _ => this.state = if left == 0 { State::ChunkEnd } else { State::ChunkData(left) },
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                State::Close if !buf.is_empty() => {
                    let data = buf.split().freeze();
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                State::ChunkSize => {
                    if let Some(end) = line_end(buf) {
                        let Some(size) = chunk_size(&buf[..end]) else {
                            return this.fail(BodyError("invalid chunk size"));
                        };
                        buf.advance(end + 2);
                        this.state = if size == 0 { State::Trailers } else { State::ChunkData(size) };
                        continue;
                    }
                    if buf.len() > MAX_CHUNK_LINE {
                        return this.fail(BodyError("chunk-size line too long"));
                    }
                }
                State::ChunkEnd if buf.len() >= 2 => {
                    if &buf[..2] != b"\r\n" {
                        return this.fail(BodyError("chunk not followed by CRLF"));
                    }
                    buf.advance(2);
                    this.state = State::ChunkSize;
                    continue;
                }
                State::Trailers => {
                    // Trailers are not forwarded (nginx drops them too); the section is read to its end.
                    if let Some(end) = line_end(buf) {
                        buf.advance(end + 2);
                        if end == 0 {
                            this.finish();
                            return Poll::Ready(None);
                        }
                        continue;
                    }
                    if buf.len() > MAX_TRAILERS {
                        return this.fail(BodyError("trailer section too large"));
                    }
                }
                _ => {}
            }
            // More bytes are needed.
            match connection.poll_fill(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(error)) => return this.fail(error),
                Poll::Ready(Ok(0)) if this.state == State::Close => {
                    this.state = State::Done;
                    this.connection = None;
                    return Poll::Ready(None);
                }
                Poll::Ready(Ok(0)) => return this.fail(BodyError("the upstream closed the connection mid-body")),
                Poll::Ready(Ok(_)) => {}
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.state == State::Done
    }

    fn size_hint(&self) -> SizeHint {
        match self.state {
            State::Length(left) => SizeHint::with_exact(left),
            State::Done => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

/// Where the first CRLF of `buf` starts.
fn line_end(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|pair| pair == b"\r\n")
}

/// The size of a chunk-size line (hex digits, then optional `;extensions`).
fn chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.split(|&b| b == b';').next()?;
    let digits = digits.trim_ascii();
    if digits.is_empty() || digits.len() > 16 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let text = std::str::from_utf8(digits).ok()?;
    u64::from_str_radix(text, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes_are_hex_with_extensions() {
        assert_eq!(chunk_size(b"1a"), Some(26));
        assert_eq!(chunk_size(b"0"), Some(0));
        assert_eq!(chunk_size(b"ff;name=value"), Some(255));
        assert_eq!(chunk_size(b""), None);
        assert_eq!(chunk_size(b"-1"), None);
        assert_eq!(chunk_size(b"zz"), None);
        assert_eq!(chunk_size(b"+1"), None);
        assert_eq!(chunk_size(b"11111111111111111"), None);
    }
}
