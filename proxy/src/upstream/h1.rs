//! HTTP/1.1 on upstream connections, driven by the request's own task (`proxy.md` §8.3).
//!
//! hyper's client runs each connection in a task of its own and hands every request, response and body
//! chunk across channels; on a keep-alive loopback that machinery cost more than the proxying. Here the
//! request's future writes the head and body and reads the response head; the response body
//! ([`super::body::UpstreamBody`]) owns the connection while it streams and gives it back to the pool at its
//! end. The head is encoded from the gateway's headers by reference, so a retried attempt encodes them
//! again instead of keeping a copy, and each connection reuses its own read and write buffers.

use std::io::{self, Write};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Version};
use http_body_util::BodyExt;
use hyper::body::Body;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::deadlines::{Bounds, Deadlines};
use super::pool::PoolKey;
use crate::errors::{BoxError, GatewayBody};
use crate::headers::{is_hop_by_hop, set_on_proxied_responses};
use crate::io::Prefixed;

/// The largest response head accepted; a larger one is a 502 (nginx: "upstream sent too big header").
const MAX_HEAD: usize = 64 * 1024;
/// Response heads with more header lines than this are refused the same way.
const MAX_HEADERS: usize = 128;
/// A read needs at least this much free room in the buffer, else a new buffer of [`BUFFER`] bytes is made.
const MIN_READ: usize = 2 * 1024;
const BUFFER: usize = 16 * 1024;
/// Request body bytes gathered before they are written.
const WRITE_CHUNK: usize = 64 * 1024;

/// An upstream socket, plain or TLS, with its write and read bounds.
pub enum Stream {
    Plain(Deadlines<TcpStream>),
    Tls(Box<TlsStream<Deadlines<TcpStream>>>),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(io) => Pin::new(io).poll_read(cx, buf),
            Stream::Tls(io) => Pin::new(io.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(io) => Pin::new(io).poll_write(cx, data),
            Stream::Tls(io) => Pin::new(io.as_mut()).poll_write(cx, data),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(io) => Pin::new(io).poll_flush(cx),
            Stream::Tls(io) => Pin::new(io.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(io) => Pin::new(io).poll_shutdown(cx),
            Stream::Tls(io) => Pin::new(io.as_mut()).poll_shutdown(cx),
        }
    }
}

/// One upstream connection, its buffers, its timeouts, and the key it is pooled under.
pub struct Connection {
    stream: Stream,
    /// Bytes read and not yet consumed; kept across exchanges.
    pub(super) read_buf: BytesMut,
    write_buf: Vec<u8>,
    spans: Vec<Span>,
    pub bounds: std::sync::Arc<Bounds>,
    /// Exchanges carried so far, this one included.
    pub exchanges: u32,
    pub key: PoolKey,
}

/// What the request's head is made of; the headers are the gateway's, `Host` and `X-Forwarded-*` set.
pub struct RequestHead<'a> {
    pub method: &'a Method,
    /// Origin-form: path and query.
    pub target: &'a str,
    pub headers: &'a HeaderMap,
    /// What the gateway writes itself.
    pub extras: &'a dyn HeadExtras,
}

/// Header lines the gateway writes into a request head itself, in place of any the request has of the same
/// names.
pub trait HeadExtras: Sync {
    /// Whether the request's own header `name` is left out.
    fn replaces(&self, name: &HeaderName) -> bool;
    /// Appends the lines (each ending in CRLF).
    fn write(&self, buf: &mut Vec<u8>);
}

/// No extra header lines.
pub struct NoExtras;

impl HeadExtras for NoExtras {
    fn replaces(&self, _: &HeaderName) -> bool {
        false
    }

    fn write(&self, _: &mut Vec<u8>) {}
}

/// A response head, and how its body is framed.
pub struct ResponseHead {
    pub status: StatusCode,
    pub version: Version,
    /// Empty when the head passes through as bytes (`raw`).
    pub headers: HeaderMap,
    pub raw: Option<RawHead>,
    pub framing: Framing,
    /// Whether the connection can carry another exchange once the body is read.
    pub reusable: bool,
}

/// A response head passed through as the upstream sent it: its header lines (each ending in CRLF) less the
/// `Connection` line, in at most two pieces of the head's bytes. Only a plain head is passed so: framed by
/// `Content-Length`, no other hop-by-hop header, none of the names the gateway sets on responses; anything
/// else goes into a header map.
#[derive(Debug, Clone)]
pub struct RawHead {
    head: Bytes,
    pieces: [std::ops::Range<usize>; 2],
    /// The upstream sent `Date`.
    pub has_date: bool,
}

impl RawHead {
    /// The header lines as they go to the client.
    pub fn pieces(&self) -> [&[u8]; 2] {
        [&self.head[self.pieces[0].clone()], &self.head[self.pieces[1].clone()]]
    }

    /// Appends the lines to a header map (for whatever reads the map); the values share the head's bytes.
    pub fn append_to(&self, headers: &mut HeaderMap) {
        let base = self.head.as_ptr() as usize;
        for piece in self.pieces() {
            for line in piece.split(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
                // httparse checked the name's and the value's bytes when it parsed the head.
                let Ok(name) = HeaderName::from_bytes(&line[..colon]) else { continue };
                let value = line[colon + 1..].trim_ascii();
                let start = value.as_ptr() as usize - base;
                if let Ok(value) = HeaderValue::from_maybe_shared(self.head.slice(start..start + value.len())) {
                    headers.append(name, value);
                }
            }
        }
    }
}

/// How a message body ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length` (0 for responses that have no body).
    Length(u64),
    Chunked,
    /// At the end of the connection (a response with neither header).
    Close,
}

#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("the upstream closed the connection before answering")]
    ClosedEarly,
    #[error("invalid response from the upstream: {0}")]
    Invalid(&'static str),
    #[error("invalid request: {0}")]
    Request(&'static str),
    #[error("the request body failed: {0}")]
    Body(BoxError),
}

impl ExchangeError {
    pub fn is_timeout(&self) -> bool {
        matches!(self, ExchangeError::Io(error) if error.kind() == io::ErrorKind::TimedOut)
    }

    /// The upstream closed the connection before taking the request: what a pooled connection the upstream
    /// timed out meanwhile looks like.
    pub fn is_closed(&self) -> bool {
        match self {
            ExchangeError::ClosedEarly => true,
            ExchangeError::Io(error) => matches!(
                error.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
            ),
            _ => false,
        }
    }
}

impl Connection {
    pub fn new(stream: Stream, bounds: std::sync::Arc<Bounds>, key: PoolKey) -> Connection {
        Connection {
            stream,
            read_buf: BytesMut::new(),
            write_buf: Vec::new(),
            spans: Vec::new(),
            bounds,
            exchanges: 0,
            key,
        }
    }

    /// Reads what the socket has into the read buffer; `Ready(Ok(0))` is the end of the stream.
    pub(super) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.read_buf.capacity() - self.read_buf.len() < MIN_READ {
            self.read_buf.reserve(BUFFER);
        }
        tokio_util::io::poll_read_buf(Pin::new(&mut self.stream), cx, &mut self.read_buf)
    }

    async fn fill(&mut self) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_fill(cx)).await
    }

    /// Whether an idle connection is unusable: closed by the upstream, failed, or holding bytes nobody
    /// asked for. Costs no system call unless the socket reported something since the last read.
    pub fn is_closed(&mut self) -> bool {
        if !self.read_buf.is_empty() {
            return true;
        }
        let mut cx = Context::from_waker(std::task::Waker::noop());
        !matches!(self.poll_fill(&mut cx), Poll::Pending)
    }

    /// Writes the request: the head, then the body with its framing. Reading is armed once it is all sent.
    pub async fn write_request(&mut self, head: &RequestHead<'_>, body: &mut GatewayBody) -> Result<(), ExchangeError> {
        let (framing, stated) = request_framing(head, body)?;
        let mut buf = std::mem::take(&mut self.write_buf);
        buf.clear();
        encode_head(&mut buf, head, framing, stated, body.is_end_stream());
        let result = self.write_body(&mut buf, framing, body).await;
        // The buffer is kept for the next exchange unless a large body grew it.
        if buf.capacity() <= 2 * WRITE_CHUNK {
            self.write_buf = buf;
        }
        result?;
        self.bounds.arm_reading();
        Ok(())
    }

    async fn write_body(
        &mut self,
        buf: &mut Vec<u8>,
        framing: Framing,
        body: &mut GatewayBody,
    ) -> Result<(), ExchangeError> {
        if body.is_end_stream() || framing == Framing::Length(0) {
            self.stream.write_all(buf).await?;
            return Ok(self.stream.flush().await?);
        }
        let mut sent = 0u64;
        // The head goes out with the first chunk of the body, and each chunk as soon as it came.
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(ExchangeError::Body)?;
            let Ok(data) = frame.into_data() else { continue };
            if data.is_empty() {
                continue;
            }
            sent += data.len() as u64;
            match framing {
                Framing::Length(length) if sent > length => {
                    return Err(ExchangeError::Request("the body is longer than its Content-Length"));
                }
                Framing::Chunked => {
                    let _ = write!(buf, "{:x}\r\n", data.len());
                }
                _ => {}
            }
            if buf.len() + data.len() <= WRITE_CHUNK {
                buf.extend_from_slice(&data);
            } else {
                self.stream.write_all(buf).await?;
                buf.clear();
                self.stream.write_all(&data).await?;
            }
            if framing == Framing::Chunked {
                buf.extend_from_slice(b"\r\n");
            }
            if !buf.is_empty() && !body.is_end_stream() {
                self.stream.write_all(buf).await?;
                buf.clear();
            }
        }
        match framing {
            Framing::Length(length) if sent < length => {
                return Err(ExchangeError::Body("the request body ended before its Content-Length".into()));
            }
            Framing::Chunked => buf.extend_from_slice(b"0\r\n\r\n"),
            _ => {}
        }
        if !buf.is_empty() {
            self.stream.write_all(buf).await?;
        }
        Ok(self.stream.flush().await?)
    }

    /// Reads the response head, skipping interim (1xx) responses other than 101. `raw_ok`: the caller takes a
    /// plain head as bytes ([`RawHead`]).
    pub async fn read_head(&mut self, method: &Method, raw_ok: bool) -> Result<ResponseHead, ExchangeError> {
        let mut received = !self.read_buf.is_empty();
        loop {
            if !self.read_buf.is_empty() {
                match parse_head(&mut self.read_buf, method, &mut self.spans, raw_ok)? {
                    Some(head) if head.status.is_informational() && head.status != StatusCode::SWITCHING_PROTOCOLS => {
                        continue;
                    }
                    Some(head) => return Ok(head),
                    None if self.read_buf.len() >= MAX_HEAD => {
                        return Err(ExchangeError::Invalid("the response head is too large"));
                    }
                    None => {}
                }
            }
            if self.fill().await? == 0 {
                return Err(if received {
                    ExchangeError::Invalid("the connection closed in the response head")
                } else {
                    ExchangeError::ClosedEarly
                });
            }
            received = true;
        }
    }

    /// The connection after a 101: the socket, and whatever the upstream sent past the head.
    pub fn into_upgraded(self) -> Upgraded {
        Prefixed::new(self.read_buf.freeze(), self.stream)
    }
}

/// How the request body is framed: the `Content-Length` the request has, none for an empty body, the body's
/// exact length when it knows it (a plugin's replacement), chunked otherwise; and whether the request's own
/// `Content-Length` line states it.
fn request_framing(head: &RequestHead<'_>, body: &GatewayBody) -> Result<(Framing, bool), ExchangeError> {
    if let Some(length) = head.headers.get(header::CONTENT_LENGTH) {
        let length = std::str::from_utf8(length.as_bytes()).ok().and_then(|l| l.trim().parse().ok());
        return length.map(|l| (Framing::Length(l), true)).ok_or(ExchangeError::Request("invalid Content-Length"));
    }
    if body.is_end_stream() {
        return Ok((Framing::Length(0), false));
    }
    Ok((body.size_hint().exact().map_or(Framing::Chunked, Framing::Length), false))
}

/// The request head; `stated`: the request's headers have the `Content-Length` line already.
fn encode_head(buf: &mut Vec<u8>, head: &RequestHead<'_>, framing: Framing, stated: bool, empty: bool) {
    buf.extend_from_slice(head.method.as_str().as_bytes());
    buf.push(b' ');
    buf.extend_from_slice(head.target.as_bytes());
    buf.extend_from_slice(b" HTTP/1.1\r\n");
    head.extras.write(buf);
    for (name, value) in head.headers {
        if head.extras.replaces(name) {
            continue;
        }
        buf.extend_from_slice(name.as_str().as_bytes());
        buf.extend_from_slice(b": ");
        buf.extend_from_slice(value.as_bytes());
        buf.extend_from_slice(b"\r\n");
    }
    if !stated {
        match framing {
            // As hyper does: an empty body is stated only where a body is expected.
            Framing::Length(0) if empty => {
                if matches!(*head.method, Method::POST | Method::PUT | Method::PATCH) {
                    buf.extend_from_slice(b"content-length: 0\r\n");
                }
            }
            Framing::Length(length) => {
                let _ = write!(buf, "content-length: {length}\r\n");
            }
            Framing::Chunked => buf.extend_from_slice(b"transfer-encoding: chunked\r\n"),
            Framing::Close => {}
        }
    }
    buf.extend_from_slice(b"\r\n");
}

/// Parses one response head at the start of `buf`; on success the head is taken out of the buffer (its
/// header values share the bytes, no copies).
fn parse_head(
    buf: &mut BytesMut,
    method: &Method,
    spans: &mut Vec<Span>,
    raw_ok: bool,
) -> Result<Option<ResponseHead>, ExchangeError> {
    // Uninitialised slots: httparse fills only what it parses (a zeroed array was a third of the cost).
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let length_of_head =
        match httparse::ParserConfig::default().parse_response_with_uninit_headers(&mut response, buf, &mut slots) {
            Ok(httparse::Status::Complete(length)) => length,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => return Err(ExchangeError::Invalid("too many header lines")),
            Err(_) => return Err(ExchangeError::Invalid("malformed response head")),
        };
    let status = response.code.and_then(|code| StatusCode::from_u16(code).ok());
    let status = status.ok_or(ExchangeError::Invalid("invalid status code"))?;
    let version = if response.version == Some(0) { Version::HTTP_10 } else { Version::HTTP_11 };
    // Where each name and value sits in the head, so that the values can be slices of it once it is frozen;
    // the framing headers are read on the way, so the map is never searched for them.
    let base = buf.as_ptr() as usize;
    spans.clear();
    let (mut close, mut keep_alive, mut chunked, mut encoded) = (false, false, false, false);
    let mut length: Option<Result<u64, ()>> = None;
    // Whether the head can pass as bytes: at most one line left out (a plain `Connection`), nothing the
    // gateway must remove or replace.
    let (mut plain, mut dropped, mut has_date) = (raw_ok, None, false);
    for h in response.headers.iter() {
        let name = h.name.as_bytes();
        let mut kept = true;
        if plain {
            // Connection and Transfer-Encoding are the framing's, read below.
            let framing = name.eq_ignore_ascii_case(b"connection") || name.eq_ignore_ascii_case(b"transfer-encoding");
            plain = (framing || !is_hop_by_hop(name)) && !set_on_proxied_responses(name);
            has_date |= name.eq_ignore_ascii_case(b"date");
        }
        match name.first().map(u8::to_ascii_lowercase) {
            Some(b'c') if name.eq_ignore_ascii_case(b"connection") => {
                // Only `keep-alive` and `close`: a hop-by-hop header the gateway would remove at once. Any
                // other token names headers to drop, so the gateway gets to see it.
                kept = false;
                for token in h.value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        keep_alive = true;
                    } else if !token.is_empty() {
                        kept = true;
                    }
                }
            }
            Some(b'c') if name.eq_ignore_ascii_case(b"content-length") => {
                let value = std::str::from_utf8(h.value).ok().and_then(|v| v.trim().parse::<u64>().ok());
                length = match (length, value) {
                    (None, Some(value)) => Some(Ok(value)),
                    (Some(Ok(first)), Some(value)) if first == value => Some(Ok(first)),
                    _ => Some(Err(())),
                };
            }
            Some(b't') if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                encoded = true;
                // The last coding of the last line decides.
                let last = h.value.rsplit(|&b| b == b',').next().map(<[u8]>::trim_ascii);
                chunked = last.is_some_and(|coding| coding.eq_ignore_ascii_case(b"chunked"));
            }
            _ => {}
        }
        let name = h.name.as_ptr() as usize - base;
        let value = h.value.as_ptr() as usize - base;
        if !kept {
            plain &= dropped.is_none();
            dropped = Some(spans.len());
        } else if plain && h.name.eq_ignore_ascii_case("connection") {
            // It names headers to remove.
            plain = false;
        }
        spans.push(Span { name: name..name + h.name.len(), value: value..value + h.value.len(), kept });
    }
    let mut reusable = if version == Version::HTTP_11 { !close } else { keep_alive };
    let bodiless = *method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let framing = if bodiless {
        Framing::Length(0)
    } else if encoded {
        // RFC 9112 §6.3: Transfer-Encoding wins over Content-Length, and such a message ends the connection.
        if length.is_some() {
            reusable = false;
        }
        if chunked {
            Framing::Chunked
        } else {
            reusable = false;
            Framing::Close
        }
    } else {
        match length {
            Some(Ok(length)) => Framing::Length(length),
            Some(Err(())) => return Err(ExchangeError::Invalid("invalid or conflicting Content-Length")),
            None => {
                reusable = false;
                Framing::Close
            }
        }
    };
    let head = buf.split_to(length_of_head).freeze();
    if plain
        && !encoded
        && matches!(length, Some(Ok(_)))
        && status != StatusCode::SWITCHING_PROTOCOLS
        && let Some(raw) = raw_head(&head, spans, dropped, has_date)
    {
        return Ok(Some(ResponseHead {
            status,
            version,
            headers: HeaderMap::new(),
            raw: Some(raw),
            framing,
            reusable,
        }));
    }
    // Room for the gateway's own response headers (Via, the latency headers).
    let mut headers = HeaderMap::with_capacity(spans.len() + 4);
    for span in spans.iter() {
        let header_name = &head[span.name.clone()];
        if !span.kept || (encoded && header_name.eq_ignore_ascii_case(b"content-length")) {
            continue;
        }
        let name = HeaderName::from_bytes(header_name).map_err(|_| ExchangeError::Invalid("invalid header name"))?;
        let value = HeaderValue::from_maybe_shared(head.slice(span.value.clone()))
            .map_err(|_| ExchangeError::Invalid("invalid header value"))?;
        headers.append(name, value);
    }
    Ok(Some(ResponseHead { status, version, headers, raw: None, framing, reusable }))
}

/// The header lines of `head` as at most two pieces, leaving out line `dropped`; `None` unless every line ends
/// in CRLF (what goes to the client unchanged must be well-formed HTTP/1.1).
fn raw_head(head: &Bytes, spans: &[Span], dropped: Option<usize>, has_date: bool) -> Option<RawHead> {
    let end = head.len().checked_sub(2)?;
    if !head.ends_with(b"\r\n\r\n") {
        return None;
    }
    let line_start = |i: usize| spans.get(i).map_or(end, |span| span.name.start);
    for i in 1..=spans.len() {
        let next = line_start(i);
        if next < 2 || &head[next - 2..next] != b"\r\n" {
            return None;
        }
    }
    let start = line_start(0);
    let pieces = match dropped {
        None => [start..end, end..end],
        Some(i) => [start..line_start(i), line_start(i + 1)..end],
    };
    Some(RawHead { head: head.clone(), pieces, has_date })
}

/// Where one header line's name and value are in a response head.
pub(super) struct Span {
    name: std::ops::Range<usize>,
    value: std::ops::Range<usize>,
    /// Whether the line goes into the header map.
    kept: bool,
}

/// An upstream connection switched to another protocol (WebSocket): what it sent past the 101 is read
/// first.
pub type Upgraded = Prefixed<Stream>;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, method: Method) -> Result<Option<ResponseHead>, ExchangeError> {
        let mut buf = BytesMut::from(text);
        parse_head(&mut buf, &method, &mut Vec::new(), false)
    }

    #[test]
    fn a_head_is_taken_out_of_the_buffer_and_the_body_stays() {
        let mut buf = BytesMut::from("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello");
        let head = parse_head(&mut buf, &Method::GET, &mut Vec::new(), false).unwrap().unwrap();
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.framing, Framing::Length(5));
        assert!(head.reusable);
        assert_eq!(head.headers["x-a"], "b");
        assert_eq!(&buf[..], b"hello");
        assert!(parse("HTTP/1.1 200 OK\r\nContent-Len", Method::GET).unwrap().is_none());
    }

    #[test]
    fn plain_heads_pass_as_bytes_without_their_connection_line() {
        let raw = |text: &str| {
            let mut buf = BytesMut::from(text);
            parse_head(&mut buf, &Method::GET, &mut Vec::new(), true).unwrap().unwrap()
        };
        let head =
            raw("HTTP/1.1 200 OK\r\nServer: o\r\nConnection: keep-alive\r\nContent-Length: 2\r\nDate: d\r\n\r\nhi");
        assert!(head.headers.is_empty());
        let passed = head.raw.expect("a plain head");
        assert_eq!(passed.pieces(), [&b"Server: o\r\n"[..], &b"Content-Length: 2\r\nDate: d\r\n"[..]]);
        assert!(passed.has_date);
        let mut map = HeaderMap::new();
        passed.append_to(&mut map);
        assert_eq!((map.len(), map["server"].as_bytes(), map["content-length"].as_bytes()), (3, &b"o"[..], &b"2"[..]));
        assert_eq!(
            raw("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").raw.unwrap().pieces()[0],
            b"Content-Length: 0\r\n"
        );
        // Anything the gateway must change goes into the map.
        for text in [
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nKeep-Alive: timeout=5\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: x-a\r\nX-A: 1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\nConnection: close\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nVia: 1.0 other\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Kong-Proxy-Latency: 1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nProxy-Authenticate: x\r\n\r\n",
            "HTTP/1.1 200 OK\r\n\r\n",
            "HTTP/1.1 200 OK\nContent-Length: 0\nX-A: 1\n\n",
        ] {
            let head = raw(text);
            assert!(head.raw.is_none(), "{text:?}");
        }
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let chunked = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", Method::GET);
        assert_eq!(chunked.unwrap().unwrap().framing, Framing::Chunked);
        let both = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", Method::GET)
            .unwrap()
            .unwrap();
        assert_eq!(both.framing, Framing::Chunked);
        assert!(!both.reusable && !both.headers.contains_key(header::CONTENT_LENGTH));
        let close = parse("HTTP/1.1 200 OK\r\n\r\n", Method::GET).unwrap().unwrap();
        assert_eq!((close.framing, close.reusable), (Framing::Close, false));
        let head = parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", Method::HEAD).unwrap().unwrap();
        assert_eq!(head.framing, Framing::Length(0));
        let no_content = parse("HTTP/1.1 204 No Content\r\n\r\n", Method::GET).unwrap().unwrap();
        assert_eq!((no_content.framing, no_content.reusable), (Framing::Length(0), true));
        let old = parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", Method::GET).unwrap().unwrap();
        assert!(!old.reusable);
        let closing = parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", Method::GET);
        assert!(!closing.unwrap().unwrap().reusable);
    }

    #[test]
    fn conflicting_or_invalid_lengths_are_refused() {
        let conflict = parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", Method::GET);
        assert!(matches!(conflict, Err(ExchangeError::Invalid(_))));
        assert!(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", Method::GET).is_ok());
        assert!(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", Method::GET).is_err());
        assert!(parse("HTTP/1.1 2000 OK\r\n\r\n", Method::GET).is_err());
        assert!(parse("garbage\r\n\r\n", Method::GET).is_err());
    }

    #[test]
    fn request_heads_state_their_framing() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("example.com"));
        let head = RequestHead { method: &Method::POST, target: "/a?b", headers: &headers, extras: &NoExtras };
        let mut buf = Vec::new();
        encode_head(&mut buf, &head, Framing::Length(0), false, true);
        assert_eq!(buf, b"POST /a?b HTTP/1.1\r\nhost: example.com\r\ncontent-length: 0\r\n\r\n");
        buf.clear();
        encode_head(&mut buf, &RequestHead { method: &Method::GET, ..head }, Framing::Length(0), false, true);
        assert_eq!(buf, b"GET /a?b HTTP/1.1\r\nhost: example.com\r\n\r\n");
        buf.clear();
        encode_head(&mut buf, &head, Framing::Chunked, false, false);
        assert!(buf.ends_with(b"transfer-encoding: chunked\r\n\r\n"));
        buf.clear();
        let mut stated = headers.clone();
        stated.insert(header::CONTENT_LENGTH, HeaderValue::from_static("3"));
        let head = RequestHead { headers: &stated, ..head };
        encode_head(&mut buf, &head, Framing::Length(3), true, false);
        assert_eq!(buf, b"POST /a?b HTTP/1.1\r\nhost: example.com\r\ncontent-length: 3\r\n\r\n", "stated once");
    }
}
