//! The header lines the gateway writes itself, straight into the bytes of a message head: `Host`, the
//! `X-Forwarded-*` set and plugin-added headers into upstream requests, `Via` and the latency headers into
//! proxied responses (or into a header map, where something reads the map).

use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use super::{Client, header_str, without_port};
use crate::upstream::h1::{HeadExtras, RawHead};

/// The gateway's own headers on a proxied response (`Via`, `X-Kong-Upstream-Latency`, `X-Kong-Proxy-Latency`,
/// as the `headers` setting enables them), kept out of the header map: the proxy's HTTP/1.1 server writes
/// them after the upstream's headers, and they are put into the map only where something reads it (a
/// plugin's response phase, hyper). Empty when the upstream sent one of those names: then the map has them.
/// The upstream's own head travels here too when it passed through as bytes.
#[derive(Debug, Clone, Default)]
pub(super) struct ResponseLines {
    /// The upstream's head as bytes, when it passed through (the response's map is then empty).
    pub(super) raw: Option<RawHead>,
    pub(super) via: bool,
    pub(super) upstream_latency: Option<Duration>,
    pub(super) proxy_latency: Option<Duration>,
}

const VIA: &str = concat!("1.1 gatehouse/", env!("CARGO_PKG_VERSION"));

impl ResponseLines {
    pub(super) fn insert_into(self, headers: &mut HeaderMap) {
        if let Some(raw) = &self.raw {
            raw.append_to(headers);
        }
        if self.via {
            headers.insert(header::VIA, HeaderValue::from_static(VIA));
        }
        if let Some(latency) = self.upstream_latency {
            headers.insert(X_KONG_UPSTREAM_LATENCY, millis(latency));
        }
        if let Some(latency) = self.proxy_latency {
            headers.insert(X_KONG_PROXY_LATENCY, millis(latency));
        }
    }

    /// Writes the gateway's lines (the raw head, if any, is the writer's to place).
    pub(super) fn write(&self, buf: &mut Vec<u8>) {
        if self.via {
            line(buf, "via", &[VIA.as_bytes()]);
        }
        for (name, latency) in
            [("x-kong-upstream-latency: ", self.upstream_latency), ("x-kong-proxy-latency: ", self.proxy_latency)]
        {
            if let Some(latency) = latency {
                buf.extend_from_slice(name.as_bytes());
                push_decimal(buf, u64::try_from(latency.as_millis()).unwrap_or(u64::MAX));
                buf.extend_from_slice(b"\r\n");
            }
        }
    }
}

/// The `X-Forwarded-*` and `X-Real-IP` headers of an upstream request (`proxy.md` §4.2).
pub(super) struct Forwarded<'a> {
    pub(super) trusted: bool,
    pub(super) peer: IpAddr,
    /// The connection's own values: the peer's address and the local port.
    pub(super) client: &'a Client,
    pub(super) client_addr: IpAddr,
    pub(super) proto: &'a str,
    pub(super) host: &'a str,
    pub(super) path: &'a str,
    pub(super) prefix: Option<&'a str>,
    /// The request may have an `X-Forwarded-For` of its own (see [`crate::request_head::HeadFacts`]).
    pub(super) may_have_forwarded_for: bool,
}

const X_KONG_UPSTREAM_LATENCY: HeaderName = HeaderName::from_static("x-kong-upstream-latency");
const X_KONG_PROXY_LATENCY: HeaderName = HeaderName::from_static("x-kong-proxy-latency");
pub(super) const X_KONG_RESPONSE_LATENCY: HeaderName = HeaderName::from_static("x-kong-response-latency");
pub(super) const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub(super) const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
const X_FORWARDED_PATH: HeaderName = HeaderName::from_static("x-forwarded-path");
const X_FORWARDED_PREFIX: HeaderName = HeaderName::from_static("x-forwarded-prefix");

impl Forwarded<'_> {
    /// Writes the headers into the upstream request head (`headers` are the request's, which these replace).
    fn write(&self, headers: &HeaderMap, buf: &mut Vec<u8>) {
        let existing_for = if self.may_have_forwarded_for { header_str(headers, &X_FORWARDED_FOR) } else { None };
        if !self.trusted && existing_for.is_none() && self.client_addr == self.peer {
            // Nothing incoming counts, and the client is the peer: the connection's lines serve.
            buf.extend_from_slice(&self.client.forwarded_lines);
            line(buf, "x-forwarded-host", &[self.host.as_bytes()]);
            line(buf, "x-forwarded-path", &[self.path.as_bytes()]);
            if let Some(prefix) = self.prefix {
                line(buf, "x-forwarded-prefix", &[prefix.as_bytes()]);
            }
            return;
        }
        let incoming = |name: &HeaderName| {
            if self.trusted {
                headers.get(name).filter(|v| v.to_str().is_ok()).map(HeaderValue::as_bytes)
            } else {
                None
            }
        };
        // The client is the peer unless a trusted peer says otherwise: then the connection's value serves.
        let mut real_ip = [0u8; 48];
        let real_ip: &[u8] = if self.client_addr == self.peer {
            self.client.peer_ip.as_bytes()
        } else {
            let mut cursor = std::io::Cursor::new(&mut real_ip[..]);
            let _ = write!(cursor, "{}", self.client_addr);
            let written = usize::try_from(cursor.position()).unwrap_or(0);
            &real_ip[..written]
        };
        line(buf, "x-real-ip", &[real_ip]);
        match existing_for {
            Some(existing) => {
                line(buf, "x-forwarded-for", &[existing.as_bytes(), b", ", self.client.peer_ip.as_bytes()])
            }
            None => line(buf, "x-forwarded-for", &[real_ip]),
        }
        line(buf, "x-forwarded-proto", &[self.proto.as_bytes()]);
        line(buf, "x-forwarded-host", &[incoming(&X_FORWARDED_HOST).unwrap_or(self.host.as_bytes())]);
        line(buf, "x-forwarded-port", &[incoming(&X_FORWARDED_PORT).unwrap_or(self.client.local_port.as_bytes())]);
        line(buf, "x-forwarded-path", &[incoming(&X_FORWARDED_PATH).unwrap_or(self.path.as_bytes())]);
        if let Some(prefix) = incoming(&X_FORWARDED_PREFIX).or(self.prefix.map(str::as_bytes)) {
            line(buf, "x-forwarded-prefix", &[prefix]);
        }
    }

    /// The request headers these replace.
    fn replaces(name: &HeaderName) -> bool {
        let name = name.as_str();
        name.starts_with("x-")
            && matches!(
                name,
                "x-real-ip"
                    | "x-forwarded-for"
                    | "x-forwarded-proto"
                    | "x-forwarded-host"
                    | "x-forwarded-port"
                    | "x-forwarded-path"
                    | "x-forwarded-prefix"
            )
    }
}

/// One header line of an upstream request head, its value in pieces.
fn line(buf: &mut Vec<u8>, name: &str, value: &[&[u8]]) {
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b": ");
    for piece in value {
        buf.extend_from_slice(piece);
    }
    buf.extend_from_slice(b"\r\n");
}

/// The upstream `Host`.
#[derive(Clone, Copy)]
pub(super) enum UpstreamHost<'a> {
    Text(&'a str),
    /// The peer's address and a port that is not the scheme's default.
    WithPort(&'a str, u16),
}

impl UpstreamHost<'_> {
    /// The TLS server name: no port, no IPv6 brackets.
    pub(super) fn server_name(&self) -> &str {
        let host = match *self {
            UpstreamHost::Text(host) => without_port(host),
            UpstreamHost::WithPort(host, _) => host,
        };
        host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
    }
}

/// What the gateway writes into every upstream request head besides the request's own headers: `Host` and
/// the `X-Forwarded-*` set, written straight into the head (no header map entries, no intermediate strings).
pub(super) struct GatewayHeaders<'a> {
    pub(super) host: UpstreamHost<'a>,
    pub(super) forwarded: &'a Forwarded<'a>,
    pub(super) headers: &'a HeaderMap,
    /// The lines of [`RequestCtx::added_headers`]: none of their names is in `headers`.
    pub(super) added: &'a [u8],
}

impl HeadExtras for GatewayHeaders<'_> {
    fn replaces(&self, name: &HeaderName) -> bool {
        *name == header::HOST || Forwarded::replaces(name)
    }

    fn write(&self, buf: &mut Vec<u8>) {
        match self.host {
            UpstreamHost::Text(host) => line(buf, "host", &[host.as_bytes()]),
            UpstreamHost::WithPort(host, port) => {
                let bracketed = host.contains(':') && !host.starts_with('[');
                buf.extend_from_slice(b"host: ");
                if bracketed {
                    buf.push(b'[');
                }
                buf.extend_from_slice(host.as_bytes());
                if bracketed {
                    buf.push(b']');
                }
                buf.push(b':');
                push_decimal(buf, u64::from(port));
                buf.extend_from_slice(b"\r\n");
            }
        }
        self.forwarded.write(self.headers, buf);
        buf.extend_from_slice(self.added);
    }
}

/// `n` in decimal digits, without the formatting machinery (ports and latencies, on every request).
pub(super) fn push_decimal(buf: &mut Vec<u8>, mut n: u64) {
    if n < 10 {
        // Most latencies.
        buf.push(b'0' + n as u8);
        return;
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[at..]);
}

/// A latency header's value in whole milliseconds; the usual single digits are static values.
pub(super) fn millis(latency: Duration) -> HeaderValue {
    const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    match DIGITS.get(ms as usize) {
        Some(digit) => HeaderValue::from_static(digit),
        None => HeaderValue::from(ms),
    }
}
