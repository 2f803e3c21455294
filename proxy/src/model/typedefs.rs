//! Kong's shared field types (`kong/db/schema/typedefs.lua`): ids, timestamps, names, tags, hosts, ports,
//! paths, timeouts, header names, addresses. Each returns a [`Field`] ready to be named.

use std::net::IpAddr;

use serde_json::{Value, json};

use super::EntityKind;
use super::schema::{Check, Field};

pub fn id() -> Field {
    Field::string("id").auto().check(Check::Uuid)
}

pub fn created_at() -> Field {
    Field::integer("created_at").auto()
}

pub fn updated_at() -> Field {
    Field::integer("updated_at").auto()
}

/// Names of services, routes and upstreams' siblings: letters and digits of any script plus `._~-`.
pub fn name() -> Field {
    Field::string("name").unique().check(Check::Custom(check_name))
}

fn check_name(value: &Value) -> Result<(), String> {
    let name = value.as_str().unwrap_or_default();
    if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || "._~-".contains(c)) {
        Ok(())
    } else {
        Err(format!("invalid value '{name}': it must only contain alphanumeric and '., -, _, ~' characters"))
    }
}

pub fn tags() -> Field {
    Field::set("tags", Field::string("").check(Check::Custom(check_tag)))
}

fn check_tag(value: &Value) -> Result<(), String> {
    let tag = value.as_str().unwrap_or_default();
    if !tag.is_empty() && tag.chars().all(|c| c.is_ascii_alphanumeric() || "._~-".contains(c)) {
        Ok(())
    } else {
        Err(format!("invalid value '{tag}': it must only contain alphanumeric and '., -, _, ~' characters"))
    }
}

pub fn port(name: &'static str) -> Field {
    Field::integer(name).check(Check::Between(0, 65535))
}

/// Service timeouts: 1 ms to 2^31-2 ms.
pub fn nonzero_timeout(name: &'static str) -> Field {
    Field::integer(name).default(json!(60000)).check(Check::Between(1, 2_147_483_646))
}

pub fn foreign(name: &'static str, kind: EntityKind) -> Field {
    Field::foreign(name, kind)
}

/// A hostname or IP address without a port.
pub fn host(name: &'static str) -> Field {
    Field::string(name).check(Check::Custom(check_host))
}

/// A hostname or IP address with an optional `:port`.
pub fn host_with_optional_port(name: &'static str) -> Field {
    Field::string(name).check(Check::Custom(check_host_with_optional_port))
}

pub fn check_host(value: &Value) -> Result<(), String> {
    let host = value.as_str().unwrap_or_default();
    let (name, port) = split_host_port(host);
    if port.is_some() {
        return Err("must not have a port".into());
    }
    if is_hostname(name) || parse_ip(name).is_some() { Ok(()) } else { Err(format!("invalid value: {host}")) }
}

fn check_host_with_optional_port(value: &Value) -> Result<(), String> {
    let host = value.as_str().unwrap_or_default();
    let (name, port) = split_host_port(host);
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok());
    if port_ok && (is_hostname(name) || parse_ip(name).is_some()) {
        Ok(())
    } else {
        Err(format!("invalid value: {host}"))
    }
}

/// Absolute URLs (`typedefs.url`), such as the Gluu plugins' `oxd_url` and `op_url`.
pub fn url(name: &'static str) -> Field {
    Field::string(name).check(Check::Custom(check_url))
}

/// Kong's `validate_url` over luasocket's `url.parse`: an optional `scheme:`, then `//[userinfo@]host[:port]`;
/// the host is checked before the scheme.
pub fn check_url(value: &Value) -> Result<(), String> {
    let url = value.as_str().unwrap_or_default();
    let url = url.split('#').next().unwrap_or_default();
    let (scheme, rest) = match url.split_once(':') {
        Some((scheme, rest)) if is_scheme(scheme) => (Some(scheme), rest),
        _ => (None, url),
    };
    let authority = rest.strip_prefix("//").map(|rest| rest.split('/').next().unwrap_or_default());
    let host = authority.map(|authority| {
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, host_port)| host_port);
        split_host_port(host_port).0
    });
    if host.is_none_or(str::is_empty) {
        return Err("missing host in url".into());
    }
    if scheme.is_none() {
        return Err("missing scheme in url".into());
    }
    Ok(())
}

/// A URL scheme as luasocket reads it: a letter or digit, then letters, digits, `+`, `-` and `.`.
fn is_scheme(text: &str) -> bool {
    text.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`; a bare IPv6 address has no port.
pub fn split_host_port(value: &str) -> (&str, Option<&str>) {
    if let Some(rest) = value.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((ip, tail)) => (ip, tail.strip_prefix(':')),
            None => (value, None),
        };
    }
    match value.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (value, None),
    }
}

fn parse_ip(value: &str) -> Option<IpAddr> {
    value.parse().ok()
}

/// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
pub fn is_hostname(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 253
        && value.trim_end_matches('.').split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Paths: absolute, no empty segments, RFC 3986 characters, `%` only as `%XX`.
pub fn path(name: &'static str) -> Field {
    Field::string(name).check(Check::StartsWith("/")).check(Check::Custom(check_path))
}

pub fn check_path(value: &Value) -> Result<(), String> {
    let path = value.as_str().unwrap_or_default();
    if path.contains("//") {
        return Err("must not have empty segments".into());
    }
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'%' {
            let valid = bytes.len() > i + 2 && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit();
            if !valid {
                return Err(format!("invalid url-encoded value: '{}'", &path[i..(i + 3).min(path.len())]));
            }
            i += 3;
            continue;
        }
        if !(c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&c)) {
            return Err(format!("invalid path: '{path}' (characters outside of the reserved list of RFC 3986 found)"));
        }
        i += 1;
    }
    Ok(())
}

/// HTTP header names (RFC 7230 tokens).
pub fn check_header_name(value: &Value) -> Result<(), String> {
    let name = value.as_str().unwrap_or_default();
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)) {
        Ok(())
    } else {
        Err(format!("bad header name '{name}', allowed characters are A-Z, a-z, 0-9, '_', and '-'"))
    }
}

pub fn check_http_method(value: &Value) -> Result<(), String> {
    let method = value.as_str().unwrap_or_default();
    if !method.is_empty() && method.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(format!("invalid value: {method}"))
    }
}

/// An IP address or a CIDR block.
pub fn check_ip_or_cidr(value: &Value) -> Result<(), String> {
    let text = value.as_str().unwrap_or_default();
    match parse_ip_or_cidr(text) {
        Some(_) => Ok(()),
        None => Err(format!("invalid ip or cidr range: '{text}'")),
    }
}

/// `a.b.c.d`, `a.b.c.d/n`, IPv6 likewise: the address and its prefix length (a bare address is a full-length
/// block).
pub fn parse_ip_or_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = match text.split_once('/') {
        Some((ip, bits)) => (parse_ip(ip)?, Some(bits.parse::<u8>().ok()?)),
        None => (parse_ip(text)?, None),
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    match bits {
        Some(bits) if bits > max => None,
        Some(bits) => Some((ip, bits)),
        None => Some((ip, max)),
    }
}

/// The protocols a plugin may run on (`protocols_http`).
pub fn plugin_protocols() -> Field {
    Field::set("protocols", Field::string("").check(one_of(&["grpc", "grpcs", "http", "https"])))
        .default(json!(["grpc", "grpcs", "http", "https"]))
        .check(Check::LenMin(1))
}

pub fn one_of(options: &[&str]) -> Check {
    Check::OneOf(options.iter().map(|o| json!(o)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(check: fn(&Value) -> Result<(), String>, value: &str) -> bool {
        check(&json!(value)).is_ok()
    }

    #[test]
    fn names_accept_utf8_letters_and_kong_punctuation() {
        assert!(ok(check_name, "my-service_1.v2~x"));
        assert!(ok(check_name, "сервис"));
        assert_eq!(
            check_name(&json!("a b")).unwrap_err(),
            "invalid value 'a b': it must only contain alphanumeric and '., -, _, ~' characters"
        );
    }

    #[test]
    fn hosts_refuse_ports_and_garbage() {
        assert!(ok(check_host, "example.com"));
        assert!(ok(check_host, "10.0.0.1"));
        assert!(ok(check_host, "::1"));
        assert_eq!(check_host(&json!("example.com:80")).unwrap_err(), "must not have a port");
        assert_eq!(check_host(&json!("exa mple")).unwrap_err(), "invalid value: exa mple");
        assert!(ok(check_host_with_optional_port, "example.com:8080"));
        assert!(ok(check_host_with_optional_port, "[::1]:8080"));
        assert!(!ok(check_host_with_optional_port, "example.com:99999"));
    }

    #[test]
    fn urls_need_a_host_and_a_scheme() {
        assert!(ok(check_url, "https://op.example.com"));
        assert!(ok(check_url, "http://user:secret@127.0.0.1:8443/oxd?x=1#top"));
        assert!(ok(check_url, "https://[::1]:8443"));
        assert_eq!(check_url(&json!("op.example.com")).unwrap_err(), "missing host in url");
        assert_eq!(check_url(&json!("localhost:8443")).unwrap_err(), "missing host in url");
        assert_eq!(check_url(&json!("https://")).unwrap_err(), "missing host in url");
        assert_eq!(check_url(&json!("//op.example.com")).unwrap_err(), "missing scheme in url");
    }

    #[test]
    fn paths_follow_rfc_3986() {
        assert!(ok(check_path, "/a/b%20c"));
        assert_eq!(check_path(&json!("/a//b")).unwrap_err(), "must not have empty segments");
        assert!(check_path(&json!("/a%zz")).unwrap_err().contains("invalid url-encoded value"));
        assert!(check_path(&json!("/a b")).unwrap_err().contains("RFC 3986"));
    }

    #[test]
    fn addresses_and_methods() {
        assert!(ok(check_ip_or_cidr, "10.0.0.0/8"));
        assert!(ok(check_ip_or_cidr, "::1"));
        assert!(!ok(check_ip_or_cidr, "10.0.0.0/33"));
        assert!(ok(check_http_method, "GET"));
        assert!(!ok(check_http_method, "get"));
        assert!(ok(check_header_name, "X-Api-Key"));
        assert!(!ok(check_header_name, "bad header"));
    }
}
