//! Percent-encoding of one URL component: unreserved characters stay, every other byte becomes `%XX`.

pub fn encode_component(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The inverse of [`encode_component`]: `%XX` back to bytes (invalid escapes stay as they are).
pub fn decode_component(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn decoding_undoes_encoding() {
        let text = "/services?tags=a,b&x=ü %zz";
        assert_eq!(super::decode_component(&super::encode_component(text)), text);
        assert_eq!(super::decode_component("%zz%4"), "%zz%4");
    }

    #[test]
    fn keeps_unreserved_and_encodes_the_rest() {
        assert_eq!(super::encode_component("a-b.c_d~e f/@:+"), "a-b.c_d~e%20f%2F%40%3A%2B");
    }
}
