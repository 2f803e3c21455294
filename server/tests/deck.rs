//! decK (Kong's own configuration tool, Debian's `deck` 1.4) against a running Gatehouse: ping, sync, dump,
//! diff, and a sync that deletes. `./scripts/setup test` installs it.

mod support;

use support::Gatehouse;
use support::deck::deck;

const FILE: &str = r#"_format_version: "1.1"
services:
- name: billing
  url: http://billing.internal:8080/v1
  tags: [team-a]
  routes:
  - name: billing-api
    paths: [/billing]
    methods: [GET, POST]
    plugins:
    - name: cors
      config:
        origins: ["https://app.example.com"]
  plugins:
  - name: rate-limiting
    config:
      minute: 20
      policy: local
- name: ledger
  host: ledger.internal
consumers:
- username: app
  custom_id: client-123
  acls:
  - group: gold
  plugins:
  - name: rate-limiting
    config:
      minute: 100
      policy: local
- username: batch
upstreams:
- name: billing.internal
  targets:
  - target: 10.0.0.1:8080
  - target: 10.0.0.2:8080
    weight: 50
"#;

#[test]
fn deck_syncs_dumps_diffs_and_deletes() {
    let (node, dir) = Gatehouse::start(&[]);
    let (ok, out) = deck(&node, &["ping"]);
    assert!(ok && out.contains("Successfully connected"), "{out}");

    let file = dir.path().join("kong.yaml");
    std::fs::write(&file, FILE).unwrap();
    let (ok, out) = deck(&node, &["sync", "-s", file.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("Created: 12"), "{out}");

    let dump = dir.path().join("dump.yaml");
    let (ok, out) = deck(&node, &["dump", "-o", dump.to_str().unwrap()]);
    assert!(ok, "{out}");
    let dumped = std::fs::read_to_string(&dump).unwrap();
    for expected in [
        "name: billing-api",
        "target: 10.0.0.2:8080",
        "custom_id: client-123",
        "path: /v1",
        "- team-a",
        "name: cors",
        "minute: 100",
        "group: gold",
    ] {
        assert!(dumped.contains(expected), "{expected} missing from:\n{dumped}");
    }
    let (ok, out) = deck(&node, &["diff", "-s", dump.to_str().unwrap()]);
    assert!(ok && out.contains("Created: 0") && out.contains("Updated: 0") && out.contains("Deleted: 0"), "{out}");

    // A file without the ledger service and the batch consumer: sync deletes them.
    let trimmed: String = {
        let mut value: serde_yaml::Value = serde_yaml::from_str(&dumped).unwrap();
        let services = value["services"].as_sequence_mut().unwrap();
        services.retain(|s| s["name"].as_str() != Some("ledger"));
        let consumers = value["consumers"].as_sequence_mut().unwrap();
        consumers.retain(|c| c["username"].as_str() != Some("batch"));
        serde_yaml::to_string(&value).unwrap()
    };
    std::fs::write(&file, trimmed).unwrap();
    let (ok, out) = deck(&node, &["sync", "-s", file.to_str().unwrap()]);
    assert!(ok && out.contains("Deleted: 2"), "{out}");
    let (ok, out) = deck(&node, &["diff", "-s", file.to_str().unwrap()]);
    assert!(ok && out.contains("Created: 0") && out.contains("Updated: 0") && out.contains("Deleted: 0"), "{out}");
}
