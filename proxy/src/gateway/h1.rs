//! The proxy listeners' HTTP/1.1 server for ordinary requests: a head without a body, read into the
//! connection's own buffer and parsed in place (header values share its bytes), and a response written as
//! one buffer where it can be. hyper's server dispatch, its per-request buffers and its header encoding
//! cost more than the gateway's own work on such requests.
//!
//! Everything else goes to hyper, with the bytes already read put back in front: a request with a body
//! (`Content-Length` other than 0, `Transfer-Encoding`), `Expect`, an upgrade (WebSocket, h2c), HTTP/1.0,
//! HTTP/2 (prior knowledge or ALPN), a head this parser refuses or cannot hold within the parser cap. From
//! then on hyper serves that connection to its end, so its framing rules, its answers to malformed and
//! oversize heads (400, 431) and its request-smuggling defences stay what they were.

use std::cell::RefCell;
use std::future::Future;
use std::io::Write;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::Poll;
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::{BodyExt, Empty};
use hyper::body::Body;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::{Gateway, GatewayService, ResponseLines};
use crate::deadline::Deadline;
use crate::errors::GatewayBody;
use crate::io::Prefixed;
use crate::listener::{Accepted, Connections, InFlightGuard, stopped};
use crate::request_head::{self, HeadFacts, HeadLimits};

/// hyper's limit on request header lines; beyond it hyper answers 431.
const MAX_HEADERS: usize = 100;
/// A connection's read buffer; a read needs at least [`MIN_READ`] free bytes in it.
const BUFFER: usize = 8 * 1024;
const MIN_READ: usize = 1024;
/// Response body bytes gathered before they are written.
const WRITE_CHUNK: usize = 64 * 1024;

/// Serves the proxy listeners: HTTP/1.1 here, HTTP/2 and the rest with hyper.
#[derive(Clone)]
pub struct GatewayConnections(pub Gateway);

impl Connections for GatewayConnections {
    fn serve<IO>(self, io: IO, accepted: Accepted) -> impl Future<Output = ()> + Send
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = self.0.service(accepted.info.clone());
        async move {
            if accepted.http2 {
                accepted.hyper.serve(io, service).await;
            } else {
                serve_http1(io, service, accepted).await;
            }
        }
    }
}

async fn serve_http1<IO>(mut io: IO, service: GatewayService, accepted: Accepted)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Accepted { hyper, stats, shutdown, options, .. } = accepted;
    let cap = options.head_limits.parser_cap();
    let limits = service.bound.0.inner.settings.head_limits;
    let mut read_buf = BytesMut::with_capacity(BUFFER);
    let mut write_buf = Vec::with_capacity(1024);
    let mut spans = Vec::new();
    // One deadline per connection, moved for each head: a client has `header_read_timeout` to send it,
    // counted from when the gateway starts waiting for it (idle keep-alive time included, as in hyper).
    let mut timer = Deadline::new(tokio::time::Instant::now() + options.header_read_timeout);
    // The stop signal is waited for by one future for the connection's life: a waiter registered anew for
    // each request costs more than parsing its head.
    let mut stop_signal = shutdown.clone();
    let stop = async move { stopped(&mut stop_signal).await };
    tokio::pin!(stop);
    loop {
        let mut armed = false;
        let request = loop {
            if !read_buf.is_empty() {
                match parse_request(&mut read_buf, &mut spans, &limits) {
                    Parsed::Request(request) => break Some(request),
                    Parsed::Partial if read_buf.len() < cap => {}
                    Parsed::Partial | Parsed::Other => break None,
                }
            }
            if !armed {
                timer.set(tokio::time::Instant::now() + options.header_read_timeout);
                armed = true;
            }
            let idle = read_buf.is_empty();
            let filled = tokio::select! {
                biased;
                filled = fill(&mut io, &mut read_buf) => filled,
                () = timer.expired() => return,
                () = &mut stop, if idle => return,
            };
            match filled {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        };
        let Some(request) = request else {
            hyper.serve(Prefixed::new(read_buf.freeze(), io), service).await;
            return;
        };
        let (closes, facts) = (request.closes, request.facts);
        let head = request.request.method() == Method::HEAD;
        stats.total_requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let in_flight = InFlightGuard::start(&stats);
        let (response, lines) = service.respond(request.request, facts).await;
        let keep_alive = !closes && !has_token(response.headers(), "close");
        let written = write_response(&mut io, &mut write_buf, response, lines, head).await;
        drop(in_flight);
        if written.is_err() {
            return;
        }
        if !keep_alive || *shutdown.borrow() {
            let _ = io.shutdown().await;
            return;
        }
    }
}

/// Reads what the socket has; `Ok(0)` is the end of the stream.
async fn fill<IO: AsyncRead + Unpin>(io: &mut IO, buf: &mut BytesMut) -> std::io::Result<usize> {
    if buf.capacity() - buf.len() < MIN_READ {
        buf.reserve(BUFFER);
    }
    std::future::poll_fn(|cx| tokio_util::io::poll_read_buf(Pin::new(&mut *io), cx, buf)).await
}

struct ParsedRequest {
    request: Request<Empty<Bytes>>,
    /// `Connection: close`.
    closes: bool,
    /// The head checks it passed (they need not run again) and the headers it lacks.
    facts: HeadFacts,
}

// Returned by value once per request and matched at once: boxing the request would cost an allocation.
#[allow(clippy::large_enum_variant)]
enum Parsed {
    Request(ParsedRequest),
    /// Not a whole head yet.
    Partial,
    /// Not for this server: hyper takes the connection.
    Other,
}

/// Where one header line's name and value are in the head.
struct Span {
    name: std::ops::Range<usize>,
    value: std::ops::Range<usize>,
}

/// Parses one request head at the start of `buf`; a request this server takes is cut out of the buffer.
fn parse_request(buf: &mut BytesMut, spans: &mut Vec<Span>, limits: &HeadLimits) -> Parsed {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut []);
    let length = match httparse::ParserConfig::default().parse_request_with_uninit_headers(&mut parsed, buf, &mut slots)
    {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Other,
    };
    let (Some(method), Some(target), Some(1)) = (parsed.method, parsed.path, parsed.version) else {
        return Parsed::Other;
    };
    if !target.starts_with('/') {
        return Parsed::Other;
    }
    let Ok(method) = Method::from_bytes(method.as_bytes()) else { return Parsed::Other };
    let base = buf.as_ptr() as usize;
    let target_start = target.as_ptr() as usize - base;
    let target = target_start..target_start + target.len();
    let (mut closes, mut hosts, mut valid_host) = (false, 0, false);
    let (mut content_type, mut forwarded_for) = (false, false);
    spans.clear();
    for line in parsed.headers.iter() {
        let name = line.name.as_bytes();
        // Only what a bodiless, non-upgrading HTTP/1.1 request may carry stays here.
        match name.first().map(u8::to_ascii_lowercase) {
            Some(b't') if name.eq_ignore_ascii_case(b"transfer-encoding") => return Parsed::Other,
            Some(b'u') if name.eq_ignore_ascii_case(b"upgrade") => return Parsed::Other,
            Some(b'e') if name.eq_ignore_ascii_case(b"expect") => return Parsed::Other,
            Some(b'c') if name.eq_ignore_ascii_case(b"content-length") && line.value.trim_ascii() != b"0" => {
                return Parsed::Other;
            }
            Some(b'c') if name.eq_ignore_ascii_case(b"content-type") => content_type = true,
            Some(b'x') if name.eq_ignore_ascii_case(b"x-forwarded-for") => forwarded_for = true,
            Some(b'h') if name.eq_ignore_ascii_case(b"host") => {
                hosts += 1;
                valid_host = request_head::valid_host(line.value);
            }
            Some(b'c') if name.eq_ignore_ascii_case(b"connection") => {
                for token in line.value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                    if token.eq_ignore_ascii_case(b"close") {
                        closes = true;
                    } else if token.eq_ignore_ascii_case(b"upgrade") {
                        return Parsed::Other;
                    }
                }
            }
            _ => {}
        }
        let name_start = line.name.as_ptr() as usize - base;
        let value_start = line.value.as_ptr() as usize - base;
        spans.push(Span {
            name: name_start..name_start + line.name.len(),
            value: value_start..value_start + line.value.len(),
        });
    }
    // nginx counts each line as `name: value`: at most one byte more per header than the client sent. A head
    // that fits one line's limit that way fits every limit.
    let checked = hosts == 1 && valid_host && length + spans.len() <= limits.line.min(limits.total);
    let head = buf.split_to(length).freeze();
    let Some(request) = build_request(&head, method, target, spans) else {
        // What hyper must see again, in front of whatever followed.
        let mut restored = BytesMut::with_capacity(head.len() + buf.len());
        restored.extend_from_slice(&head);
        restored.extend_from_slice(buf);
        *buf = restored;
        return Parsed::Other;
    };
    let facts = HeadFacts { checked, content_type, forwarded_for };
    Parsed::Request(ParsedRequest { request, closes, facts })
}

fn build_request(
    head: &Bytes,
    method: Method,
    target: std::ops::Range<usize>,
    spans: &[Span],
) -> Option<Request<Empty<Bytes>>> {
    let uri = Uri::from_maybe_shared(head.slice(target)).ok()?;
    // Room for what plugins add (identity headers, X-Forwarded-* stay out of the map).
    let mut headers = header_map(spans.len() + 8);
    for span in spans {
        let name = HeaderName::from_bytes(&head[span.name.clone()]).ok()?;
        let value = HeaderValue::from_maybe_shared(head.slice(span.value.clone())).ok()?;
        headers.append(name, value);
    }
    let mut request = Request::new(Empty::new());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = headers;
    Some(request)
}

fn has_token(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// How a response body is framed on the client connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length,
    Chunked,
}

/// Writes `response`: the head (with `Date`, and the framing its body needs), then the body, coalesced into
/// as few writes as the body's pace allows.
async fn write_response<IO>(
    io: &mut IO,
    buf: &mut Vec<u8>,
    response: Response<GatewayBody>,
    lines: ResponseLines,
    head_request: bool,
) -> std::io::Result<()>
where
    IO: AsyncWrite + Unpin,
{
    let (parts, mut body) = response.into_parts();
    buf.clear();
    let status = parts.status;
    buf.extend_from_slice(b"HTTP/1.1 ");
    buf.extend_from_slice(status.as_str().as_bytes());
    buf.push(b' ');
    buf.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    buf.extend_from_slice(b"\r\n");
    let (mut date, mut length) = (false, false);
    if let Some(raw) = &lines.raw {
        for piece in raw.pieces() {
            buf.extend_from_slice(piece);
        }
        // A head passes as bytes only with its Content-Length.
        (date, length) = (raw.has_date, true);
    }
    for (name, value) in &parts.headers {
        if *name == header::TRANSFER_ENCODING {
            // The framing is this connection's own.
            continue;
        }
        date |= *name == header::DATE;
        length |= *name == header::CONTENT_LENGTH;
        buf.extend_from_slice(name.as_str().as_bytes());
        buf.extend_from_slice(b": ");
        buf.extend_from_slice(value.as_bytes());
        buf.extend_from_slice(b"\r\n");
    }
    lines.write(buf);
    if !date {
        write_date(buf);
    }
    let bodiless = status.is_informational() || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
    let framing = if bodiless {
        Framing::None
    } else if length {
        Framing::Length
    } else if let Some(exact) = body.size_hint().exact() {
        let _ = write!(buf, "content-length: {exact}\r\n");
        Framing::Length
    } else if head_request {
        Framing::None
    } else {
        buf.extend_from_slice(b"transfer-encoding: chunked\r\n");
        Framing::Chunked
    };
    buf.extend_from_slice(b"\r\n");
    if framing == Framing::None || head_request || body.is_end_stream() {
        io.write_all(buf).await?;
        return io.flush().await;
    }
    loop {
        // A frame that is ready joins what is buffered; one that is not lets the buffer go out first.
        let frame = match std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut body).poll_frame(cx))).await {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                if !buf.is_empty() {
                    io.write_all(buf).await?;
                    io.flush().await?;
                    buf.clear();
                }
                body.frame().await
            }
        };
        let Some(frame) = frame else { break };
        let frame = frame.map_err(std::io::Error::other)?;
        let Ok(data) = frame.into_data() else { continue };
        if data.is_empty() {
            continue;
        }
        if framing == Framing::Chunked {
            let _ = write!(buf, "{:x}\r\n", data.len());
        }
        if buf.len() + data.len() <= WRITE_CHUNK {
            buf.extend_from_slice(&data);
        } else {
            io.write_all(buf).await?;
            buf.clear();
            io.write_all(&data).await?;
        }
        if framing == Framing::Chunked {
            buf.extend_from_slice(b"\r\n");
        }
        if buf.len() >= WRITE_CHUNK {
            io.write_all(buf).await?;
            buf.clear();
        }
    }
    if framing == Framing::Chunked {
        buf.extend_from_slice(b"0\r\n\r\n");
    }
    if !buf.is_empty() {
        io.write_all(buf).await?;
    }
    io.flush().await
}

thread_local! {
    /// The `Date` line of the current second, made once per second per worker.
    static DATE: RefCell<(u64, Vec<u8>)> = const { RefCell::new((u64::MAX, Vec::new())) };
}

thread_local! {
    /// Request header maps of finished requests, emptied, for the next heads this worker parses: a new map
    /// costs two allocations, an emptied one only its clearing.
    static SPARE_MAPS: RefCell<Vec<HeaderMap>> = const { RefCell::new(Vec::new()) };
}

/// How many spare maps a worker keeps, and the largest it keeps (a request with many headers grew it).
const SPARE_MAPS_KEPT: usize = 8;
const SPARE_MAP_CAPACITY: usize = 64;

/// Hands a finished request's header map back for a later request on this worker; it is emptied first.
pub(super) fn recycle_header_map(mut map: HeaderMap) {
    if map.capacity() > SPARE_MAP_CAPACITY {
        return;
    }
    map.clear();
    SPARE_MAPS.with_borrow_mut(|spare| {
        if spare.len() < SPARE_MAPS_KEPT {
            spare.push(map);
        }
    });
}

/// An empty map with room for `capacity` headers, a spare one if there is one.
fn header_map(capacity: usize) -> HeaderMap {
    match SPARE_MAPS.with_borrow_mut(Vec::pop) {
        Some(mut map) => {
            map.reserve(capacity);
            map
        }
        None => HeaderMap::with_capacity(capacity),
    }
}

fn write_date(buf: &mut Vec<u8>) {
    let now = SystemTime::now();
    let second = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE.with_borrow_mut(|(cached, line)| {
        if *cached != second {
            line.clear();
            let _ = write!(line, "date: {}\r\n", httpdate::fmt_http_date(now));
            *cached = second;
        }
        buf.extend_from_slice(line);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Parsed, BytesMut) {
        let mut buf = BytesMut::from(text);
        let parsed = parse_request(&mut buf, &mut Vec::new(), &HeadLimits::default());
        (parsed, buf)
    }

    #[test]
    fn a_bodiless_head_is_taken_and_what_follows_stays() {
        let (parsed, rest) = parse("GET /a?b=1 HTTP/1.1\r\nHost: x.example\r\nConnection: close\r\n\r\nGET /next");
        let Parsed::Request(request) = parsed else { panic!("taken") };
        assert!(request.closes);
        assert_eq!(request.request.uri().path_and_query().unwrap().as_str(), "/a?b=1");
        assert_eq!(request.request.headers()["host"], "x.example");
        assert_eq!(&rest[..], b"GET /next");
        assert!(matches!(parse("GET / HTTP/1.1\r\nHost: x").0, Parsed::Partial));
        let (zero, _) = parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
        assert!(matches!(zero, Parsed::Request(_)));
    }

    #[test]
    fn a_recycled_header_map_carries_nothing_into_the_next_request() {
        let Parsed::Request(first) = parse("GET / HTTP/1.1\r\nHost: a\r\nX-Secret: first\r\n\r\n").0 else {
            panic!("taken")
        };
        let (parts, _) = first.request.into_parts();
        recycle_header_map(parts.headers);
        let Parsed::Request(second) = parse("GET / HTTP/1.1\r\nHost: b\r\n\r\n").0 else { panic!("taken") };
        let headers = second.request.headers();
        assert_eq!(headers.len(), 1);
        assert_eq!(headers["host"], "b");
        assert!(headers.capacity() >= 9, "room for what plugins add");
    }

    #[test]
    fn the_facts_say_which_headers_a_head_lacks() {
        let facts = |head: &str| match parse(head).0 {
            Parsed::Request(request) => request.facts,
            _ => panic!("taken: {head:?}"),
        };
        let bare = facts("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
        assert!(bare.checked && !bare.content_type && !bare.forwarded_for);
        let full = facts("GET / HTTP/1.1\r\nHost: a\r\ncontent-TYPE: text/plain\r\nX-Forwarded-For: 192.0.2.1\r\n\r\n");
        assert!(full.checked && full.content_type && full.forwarded_for);
    }

    #[test]
    fn only_heads_that_pass_the_gateways_checks_are_marked_checked() {
        let checked = |head: &str, limits: HeadLimits| {
            let mut buf = BytesMut::from(head);
            match parse_request(&mut buf, &mut Vec::new(), &limits) {
                Parsed::Request(request) => request.facts.checked,
                _ => panic!("taken: {head:?}"),
            }
        };
        let limits = HeadLimits::default();
        assert!(checked("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n", limits));
        assert!(!checked("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", limits), "no Host");
        assert!(!checked("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", limits), "two");
        assert!(!checked("GET / HTTP/1.1\r\nHost: a..b\r\n\r\n", limits), "invalid");
        let small = HeadLimits { line: 40, total: 1024 };
        assert!(checked("GET / HTTP/1.1\r\nHost: a\r\n\r\n", small));
        assert!(!checked("GET / HTTP/1.1\r\nHost: a\r\nX-Long: 0123456789\r\n\r\n", small), "near a limit");
    }

    #[test]
    fn bodies_upgrades_and_odd_heads_go_to_hyper_untouched() {
        for head in [
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            "PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
            "GET / HTTP/1.0\r\n\r\n",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "GET http://x.example/ HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
            "GET /\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
        ] {
            let (parsed, rest) = parse(head);
            assert!(matches!(parsed, Parsed::Other), "{head:?}");
            assert_eq!(&rest[..], head.as_bytes(), "hyper sees every byte: {head:?}");
        }
    }

    #[tokio::test]
    async fn responses_state_their_framing_and_date() {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        let mut response = Response::new(crate::errors::full(Bytes::from_static(b"hello")));
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        write_response(&mut out, &mut buf, response, ResponseLines::default(), false).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: "), "{text}");
        assert!(text.ends_with("\r\ncontent-length: 5\r\n\r\nhello"), "{text}");

        let mut out = Vec::new();
        let lines = ResponseLines {
            raw: None,
            via: true,
            upstream_latency: Some(std::time::Duration::from_millis(12)),
            proxy_latency: None,
        };
        write_response(&mut out, &mut buf, Response::new(crate::errors::full(Bytes::new())), lines, false)
            .await
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        let via =
            concat!("via: 1.1 gatehouse/", env!("CARGO_PKG_VERSION"), "\r\nx-kong-upstream-latency: 12\r\ndate: ");
        assert!(text.starts_with(&format!("HTTP/1.1 200 OK\r\n{via}")), "the gateway's lines after the map's: {text}");
        assert!(!text.contains("x-kong-proxy-latency"), "{text}");

        let body: GatewayBody = Chunks(vec![Bytes::from_static(b"cde"), Bytes::from_static(b"ab")]).boxed();
        let mut out = Vec::new();
        write_response(&mut out, &mut buf, Response::new(body), ResponseLines::default(), false).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("transfer-encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"), "{text}");

        let mut out = Vec::new();
        let mut no_content = Response::new(crate::errors::full(Bytes::new()));
        *no_content.status_mut() = StatusCode::NO_CONTENT;
        write_response(&mut out, &mut buf, no_content, ResponseLines::default(), false).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("content-length") && text.ends_with("\r\n\r\n"), "{text}");
    }

    /// A body of unknown length (what a streaming upstream body looks like to the writer), last chunk first.
    struct Chunks(Vec<Bytes>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = crate::errors::BoxError;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.0.pop().map(|chunk| Ok(hyper::body::Frame::data(chunk))))
        }
    }
}
