//! Request URIs as the router sees them (`proxy.md` §2.1, §3.4): normalized before routing, re-escaped
//! before they go upstream.

/// Characters whose `%XX` encodings normalization keeps (upper-cased) instead of decoding.
const RESERVED: &[u8] = b"!#$%&'()*+,/:;=?@[]";

/// Normalizes a request path (no query): decodes `%XX` except reserved characters (kept, upper-cased),
/// removes dot segments (RFC 3986 §5.2.4) and merges `//` into `/`.
pub fn normalize(path: &str) -> String {
    let decoded = decode_unreserved(path);
    remove_dot_segments(&merge_slashes(&decoded))
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

/// Percent-encodes every byte outside Kong's allowed set; existing `%XX` triplets stay as they are.
pub fn escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&'()*+,/:;=?@[]-_.~%".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
