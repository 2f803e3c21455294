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

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_unreserved_and_encodes_the_rest() {
        assert_eq!(super::encode_component("a-b.c_d~e f/@:+"), "a-b.c_d~e%20f%2F%40%3A%2B");
    }
}
