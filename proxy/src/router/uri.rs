//! Request URIs as the router sees them (`proxy.md` §2.1, §3.4): normalized before routing, re-escaped
//! before they go upstream.

use std::borrow::Cow;

/// Characters whose `%XX` encodings normalization keeps (upper-cased) instead of decoding.
const RESERVED: &[u8] = b"!#$%&'()*+,/:;=?@[]";

/// Normalizes a request path (no query): decodes `%XX` except reserved characters (kept, upper-cased),
/// removes dot segments (RFC 3986 §5.2.4) and merges `//` into `/`. Most paths are already normal and are
/// returned as they are, without allocating.
pub fn normalize(path: &str) -> Cow<'_, str> {
    if is_normal(path) {
        return Cow::Borrowed(path);
    }
    let decoded = decode_unreserved(path);
    Cow::Owned(remove_dot_segments(&merge_slashes(&decoded)))
}

/// Whether normalization leaves `path` unchanged: it starts with `/` and has no `%`, no `//` and no segment
/// starting with a dot (a conservative test: `/.well-known` takes the long way and comes out the same).
fn is_normal(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.first() == Some(&b'/')
        && !bytes.contains(&b'%')
        && !bytes.windows(2).any(|pair| pair[0] == b'/' && (pair[1] == b'/' || pair[1] == b'.'))
}

fn decode_unreserved(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            let byte = h * 16 + l;
            if RESERVED.contains(&byte) {
                out.push(b'%');
                out.push(bytes[i + 1].to_ascii_uppercase());
                out.push(bytes[i + 2].to_ascii_uppercase());
            } else {
                out.push(byte);
            }
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

fn merge_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    out
}

/// RFC 3986 §5.2.4.
fn remove_dot_segments(path: &str) -> String {
    let mut input = path;
    let mut out = String::with_capacity(path.len());
    let pop = |out: &mut String| match out.rfind('/') {
        Some(at) => out.truncate(at),
        None => out.clear(),
    };
    while !input.is_empty() {
        if let Some(rest) = input.strip_prefix("../").or_else(|| input.strip_prefix("./")) {
            input = rest;
        } else if input.starts_with("/./") {
            input = &input[2..];
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") {
            input = &input[3..];
            pop(&mut out);
        } else if input == "/.." {
            input = "/";
            pop(&mut out);
        } else if input == "." || input == ".." {
            input = "";
        } else {
            let start = usize::from(input.starts_with('/'));
            let end = input[start..].find('/').map_or(input.len(), |i| i + start);
            out.push_str(&input[..end]);
            input = &input[end..];
        }
    }
    if out.is_empty() { "/".to_string() } else { out }
}

/// Percent-encodes every byte outside Kong's allowed set; existing `%XX` triplets stay as they are. A path
/// with nothing to encode is returned as it is.
pub fn escape(path: &str) -> Cow<'_, str> {
    let allowed = |byte: u8| byte.is_ascii_alphanumeric() || b"!#$&'()*+,/:;=?@[]-_.~%".contains(&byte);
    if path.bytes().all(allowed) {
        return Cow::Borrowed(path);
    }
    let mut out = String::with_capacity(path.len() + 8);
    for byte in path.bytes() {
        if allowed(byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_already_normal_are_borrowed_and_the_others_take_the_long_way_to_the_same_result() {
        for path in ["/", "/a/b", "/a/b/", "/a.b/c..d", "/x-y_z~"] {
            assert!(matches!(normalize(path), Cow::Borrowed(p) if p == path), "{path}");
            assert_eq!(remove_dot_segments(&merge_slashes(&decode_unreserved(path))), path);
        }
        for path in ["", "a", "/.well-known", "/a//b", "/a%20b", "/a/./b", "/a/.."] {
            assert!(matches!(normalize(path), Cow::Owned(_)), "{path}");
        }
    }

    #[test]
    fn normalization_decodes_unreserved_keeps_reserved_and_resolves_dots() {
        assert_eq!(normalize("/a%41%2fb"), "/aA%2Fb");
        assert_eq!(normalize("/a/./b/../c"), "/a/c");
        assert_eq!(normalize("/a//b///c"), "/a/b/c");
        assert_eq!(normalize("/a/b/.."), "/a/");
        assert_eq!(normalize("/a/b/."), "/a/b/");
        assert_eq!(normalize("/../../x"), "/x");
        assert_eq!(normalize("/route%2E%2E/req"), "/route../req");
        assert_eq!(normalize("/"), "/");
    }

    #[test]
    fn escaping_keeps_allowed_bytes_and_triplets() {
        assert_eq!(escape("/a b/ü"), "/a%20b/%C3%BC");
        assert_eq!(escape("/a%2Fb"), "/a%2Fb");
    }
}
