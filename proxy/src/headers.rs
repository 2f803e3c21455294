//! The `headers` node setting: which of the gateway's own response headers are sent (`proxy.md` §6), and
//! the header names the gateway treats specially on every message.

/// The headers that only concern one connection (RFC 9110 §7.6.1, and the proxy ones nginx drops), by name in
/// any case.
pub fn is_hop_by_hop(name: &[u8]) -> bool {
    const NAMES: [&[u8]; 10] = [
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authorization",
        b"proxy-authenticate",
    ];
    NAMES.iter().any(|hop| name.eq_ignore_ascii_case(hop))
}

/// The gateway's own headers on proxied responses, which replace an upstream's of the same name.
pub fn set_on_proxied_responses(name: &[u8]) -> bool {
    [&b"via"[..], b"x-kong-upstream-latency", b"x-kong-proxy-latency"].iter().any(|own| name.eq_ignore_ascii_case(own))
}

/// The gateway headers a node sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeaderSet {
    pub via: bool,
    pub server: bool,
    pub proxy_latency: bool,
    pub upstream_latency: bool,
    pub response_latency: bool,
    pub admin_latency: bool,
    pub upstream_status: bool,
}

impl HeaderSet {
    /// Parses Kong's setting: `server_tokens` (Via, Server), `latency_tokens` (the four latency headers),
    /// single header names, and `off`, which counts only when nothing else is named. Case-insensitive.
    pub fn parse(setting: &str) -> Result<HeaderSet, String> {
        let mut set = HeaderSet::default();
        for token in setting.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            match token.to_ascii_lowercase().as_str() {
                "off" => {}
                "server_tokens" => {
                    set.via = true;
                    set.server = true;
                }
                "latency_tokens" => {
                    set.proxy_latency = true;
                    set.upstream_latency = true;
                    set.response_latency = true;
                    set.admin_latency = true;
                }
                "via" => set.via = true,
                "server" => set.server = true,
                "x-kong-proxy-latency" => set.proxy_latency = true,
                "x-kong-upstream-latency" => set.upstream_latency = true,
                "x-kong-response-latency" => set.response_latency = true,
                "x-kong-admin-latency" => set.admin_latency = true,
                "x-kong-upstream-status" => set.upstream_status = true,
                _ => return Err(format!("invalid header token '{token}'")),
            }
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kong_default_and_off() {
        let default = HeaderSet::parse("server_tokens, latency_tokens").unwrap();
        assert!(default.via && default.server && default.admin_latency && !default.upstream_status);
        assert_eq!(HeaderSet::parse("off").unwrap(), HeaderSet::default());
    }

    #[test]
    fn off_is_ignored_when_other_tokens_are_named() {
        let set = HeaderSet::parse("server_tokens, off, X-Kong-Proxy-Latency").unwrap();
        assert!(set.via && set.server && set.proxy_latency);
        assert!(!set.upstream_latency && !set.admin_latency);
        assert!(HeaderSet::parse("x-kong-nope").is_err());
    }
}
