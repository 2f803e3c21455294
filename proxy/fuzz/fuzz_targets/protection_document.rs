//! Arbitrary bytes, read as UTF-8 text, as a stored protection document (`gluu-plugins.md` §4): parsing must
//! never panic, and neither must matching requests against a document that parsed.

#![no_main]

use libfuzzer_sys::fuzz_target;
use proxy::model::gluu::ProtectionDocument;

/// Requests tried against every document that parses, besides each of its own patterns.
const REQUESTS: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", ""),
    ("POST", "/a/b/c"),
    ("DELETE", "/path/one/two/image.jpg"),
    ("GET", "/users/123/todos/"),
    ("PUT", "/a//b/?/??/{x}"),
    ("?", "/superhero bla"),
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(document) = ProtectionDocument::parse(&text) else {
        return;
    };
    for (method, path) in REQUESTS {
        let _ = document.find(method, path);
    }
    for condition in document.conditions() {
        let found = document.find("GET", &condition.pattern);
        let _ = found.map(|found| found.captures.len());
    }
});
