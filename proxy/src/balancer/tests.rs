//! The algorithms, health skipping and passive reporting, without sockets.

use std::collections::HashMap;
use std::net::IpAddr;

use http::HeaderMap;
use http::header::HeaderValue;
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;

fn upstream(fields: Value) -> Upstream {
    let mut doc = json!({"id": Uuid::nil(), "name": "u"});
    doc.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    serde_json::from_value(doc).unwrap()
}

fn targets(weights: &[u32]) -> Vec<Target> {
    weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            serde_json::from_value(json!({"id": Uuid::from_u128(i as u128 + 1), "upstream": {"id": Uuid::nil()},
                                          "target": format!("10.0.0.{i}:80"), "weight": w}))
            .unwrap()
        })
        .collect()
}

fn balancer(fields: Value, weights: &[u32]) -> Balancer {
    Balancer::new(upstream(fields), &targets(weights), &HealthRegistry::default(), &Resolved::new())
}

/// Kong's default `healthchecks`, edited.
fn checks(edit: impl FnOnce(&mut Value)) -> Value {
    let mut checks = serde_json::to_value(crate::model::entities::healthchecks::Healthchecks::default()).unwrap();
    edit(&mut checks);
    json!({ "healthchecks": checks })
}

fn host(b: &Balancer, index: Option<usize>) -> String {
    b.member(index.expect("a peer")).unwrap().peer.host.clone()
}

fn counts(picks: impl Iterator<Item = String>) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for pick in picks {
        *counts.entry(pick).or_insert(0) += 1;
    }
    counts
}

fn request<'a>(headers: &'a HeaderMap, client: &str) -> HashRequest<'a> {
    HashRequest { headers, client_addr: client.parse::<IpAddr>().unwrap(), consumer: None, credential: None }
}

#[test]
fn round_robin_shares_the_traffic_by_weight_and_interleaves() {
    let b = balancer(json!({}), &[100, 50, 0]);
    let picks: Vec<String> = (0..6).map(|_| host(&b, b.pick(None, None))).collect();
    let counts = counts(picks.iter().cloned());
    assert_eq!((counts["10.0.0.0"], counts["10.0.0.1"]), (4, 2));
    assert!(!counts.contains_key("10.0.0.2"), "weight 0 never gets traffic");
    assert_ne!(picks[0], picks[1], "smooth: the heavier target does not take a run first");
}

#[test]
fn no_usable_target_means_no_peer() {
    for algorithm in ["round-robin", "least-connections", "consistent-hashing"] {
        let fields = json!({"algorithm": algorithm});
        assert_eq!(balancer(fields.clone(), &[0, 0]).pick(Some(7), None), None, "{algorithm}");
        assert_eq!(balancer(fields, &[]).pick(None, None), None, "{algorithm}");
    }
}

#[test]
fn every_algorithm_skips_unhealthy_targets() {
    let headers = HeaderMap::new();
    for fields in [
        json!({}),
        json!({"algorithm": "least-connections"}),
        json!({"algorithm": "consistent-hashing", "hash_on": "ip"}),
    ] {
        let b = balancer(fields.clone(), &[100, 100, 100]);
        b.members()[0].health.set_healthy(false);
        b.members()[2].health.set_healthy(false);
        for i in 0..20 {
            let hash = b.hash(&request(&headers, &format!("192.0.2.{i}"))).value;
            assert_eq!(host(&b, b.pick(hash, None)), "10.0.0.1", "{fields}");
        }
        b.members()[1].health.set_healthy(false);
        assert_eq!(b.pick(None, None), None, "{fields}: nothing healthy is a 503");
    }
}

#[test]
fn a_retry_avoids_the_peer_that_failed_unless_it_is_the_only_one() {
    for fields in [json!({}), json!({"algorithm": "least-connections"}), json!({"algorithm": "consistent-hashing"})] {
        let b = balancer(fields.clone(), &[100, 100]);
        let first = b.pick(Some(42), None).unwrap();
        let retry = b.pick(Some(42), Some(first)).unwrap();
        assert_ne!(first, retry, "{fields}");
        b.members()[retry].health.set_healthy(false);
        assert_eq!(b.pick(Some(42), Some(first)), Some(first), "{fields}: the failed one is better than none");
    }
}

#[test]
fn consistent_hashing_sends_a_key_to_the_same_target_across_rebuilds() {
    let fields = json!({"algorithm": "consistent-hashing", "hash_on": "header", "hash_on_header": "x-user"});
    let registry = HealthRegistry::default();
    let build =
        |weights: &[u32]| Balancer::new(upstream(fields.clone()), &targets(weights), &registry, &Resolved::new());
    let (first, again) = (build(&[100, 100, 100]), build(&[100, 100, 100]));
    let route = |b: &Balancer, key: usize| {
        let mut headers = HeaderMap::new();
        headers.insert("x-user", HeaderValue::from_str(&format!("user-{key}")).unwrap());
        host(b, b.pick(b.hash(&request(&headers, "127.0.0.1")).value, None))
    };
    for key in 0..200 {
        assert_eq!(route(&first, key), route(&first, key), "the same key, the same target");
        assert_eq!(route(&first, key), route(&again, key), "a rebuilt ring is the same ring");
    }
    let shares = counts((0..3000).map(|key| route(&first, key)));
    assert!(shares.values().all(|n| (700..1300).contains(n)), "roughly even: {shares:?}");

    // A fourth target takes about a quarter of the keys; the rest mostly stay where they were (the ring keeps
    // `slots` points, so the old targets give some up and a few of their keys move among them).
    let grown = build(&[100, 100, 100, 100]);
    let (mut to_new, mut between_old) = (0, 0);
    for key in 0..3000 {
        match (route(&first, key), route(&grown, key)) {
            (before, after) if before == after => {}
            (_, after) if after == "10.0.0.3" => to_new += 1,
            _ => between_old += 1,
        }
    }
    assert!((450..1050).contains(&to_new), "{to_new} keys moved to the new target");
    assert!(between_old < 450, "{between_old} keys moved between the old targets");
}

#[test]
fn consistent_hashing_weights_the_ring() {
    let b = balancer(json!({"algorithm": "consistent-hashing", "hash_on": "ip"}), &[300, 100]);
    let headers = HeaderMap::new();
    let shares = counts((0..4000).map(|i| {
        let client = format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256);
        host(&b, b.pick(b.hash(&request(&headers, &client)).value, None))
    }));
    assert!((2600..3400).contains(&shares["10.0.0.0"]), "{shares:?}");
}

#[test]
fn consistent_hashing_falls_back_to_the_second_input_then_round_robin() {
    let b = balancer(
        json!({"algorithm": "consistent-hashing", "hash_on": "header", "hash_on_header": "x-a",
               "hash_fallback": "header", "hash_fallback_header": "x-b"}),
        &[100, 100],
    );
    let mut headers = HeaderMap::new();
    assert_eq!(b.hash(&request(&headers, "127.0.0.1")).value, None, "neither header: round-robin");
    let picks = counts((0..4).map(|_| host(&b, b.pick(None, None))));
    assert_eq!(picks.len(), 2, "round-robin uses both targets");
    headers.insert("x-b", HeaderValue::from_static("fallback"));
    assert_eq!(b.hash(&request(&headers, "127.0.0.1")).value, Some(Crc32::of(b"fallback")));
    headers.append("x-a", HeaderValue::from_static("one"));
    headers.append("x-a", HeaderValue::from_static("two"));
    assert_eq!(b.hash(&request(&headers, "127.0.0.1")).value, Some(Crc32::of(b"onetwo")), "values concatenated");
}

#[test]
fn consistent_hashing_on_consumer_uses_the_credential_when_no_consumer() {
    let b = balancer(json!({"algorithm": "consistent-hashing", "hash_on": "consumer", "hash_fallback": "ip"}), &[1]);
    let headers = HeaderMap::new();
    let consumer = Uuid::from_u128(9);
    let mut req = request(&headers, "192.0.2.1");
    assert_eq!(b.hash(&req).value, Some(Crc32::of(b"192.0.2.1")), "no consumer: the ip fallback");
    req.credential = Some("client-1");
    assert_eq!(b.hash(&req).value, Some(Crc32::of(b"client-1")));
    req.consumer = Some(consumer);
    assert_eq!(b.hash(&req).value, Some(Crc32::of(consumer.to_string().as_bytes())));
}

#[test]
fn consistent_hashing_on_a_cookie_makes_one_up_only_when_absent() {
    let b = balancer(
        json!({"algorithm": "consistent-hashing", "hash_on": "cookie", "hash_on_cookie": "lb",
               "hash_on_cookie_path": "/app"}),
        &[100, 100],
    );
    let mut headers = HeaderMap::new();
    let made_up = b.hash(&request(&headers, "127.0.0.1"));
    let set_cookie = made_up.set_cookie.expect("a new cookie").to_str().unwrap().to_string();
    let (pair, path) = set_cookie.split_once("; ").unwrap();
    assert_eq!(path, "Path=/app");
    let value = pair.strip_prefix("lb=").unwrap();
    assert_eq!(made_up.value, Some(Crc32::of(value.as_bytes())), "the made-up value is the one hashed");

    headers.insert(http::header::COOKIE, HeaderValue::from_str(&format!("x=1; lb={value}")).unwrap());
    let sent = b.hash(&request(&headers, "127.0.0.1"));
    assert_eq!(sent.value, made_up.value, "the client that keeps the cookie keeps its target");
    assert!(sent.set_cookie.is_none());
}

#[test]
fn least_connections_prefers_the_fewest_in_flight_relative_to_weight() {
    let b = balancer(json!({"algorithm": "least-connections"}), &[200, 100]);
    let mut held = Vec::new();
    let mut picks = Vec::new();
    for _ in 0..6 {
        let index = b.pick(None, None).unwrap();
        held.push(b.begin(index).expect("least-connections counts"));
        picks.push(host(&b, Some(index)));
    }
    let shares = counts(picks.into_iter());
    assert_eq!((shares["10.0.0.0"], shares["10.0.0.1"]), (4, 2), "in flight 2:1, as the weights");
    drop(held);
    assert_eq!(b.members().iter().map(|m| m.health.in_flight()).sum::<u32>(), 0);
    assert!(balancer(json!({}), &[1]).begin(0).is_none(), "other algorithms do not count");
}

#[test]
fn least_connections_rotates_between_idle_equal_targets() {
    let b = balancer(json!({"algorithm": "least-connections"}), &[100, 100, 100]);
    let shares = counts((0..30).map(|_| host(&b, b.pick(None, None))));
    assert_eq!(shares.values().copied().collect::<Vec<_>>(), [10, 10, 10]);
}

#[test]
fn below_the_threshold_the_upstream_takes_no_traffic() {
    let b = balancer(checks(|c| c["threshold"] = json!(60)), &[100, 100, 100]);
    b.members()[0].health.set_healthy(false);
    assert!(b.pick(None, None).is_some(), "67% healthy");
    b.members()[1].health.set_healthy(false);
    assert_eq!(b.pick(None, None), None, "33% healthy is below 60%");
}

#[test]
fn passive_reports_take_a_failing_target_out_and_gateway_statuses_judge_by_the_lists() {
    let fields = checks(|c| {
        c["passive"]["unhealthy"]["tcp_failures"] = json!(2);
        c["passive"]["unhealthy"]["http_failures"] = json!(1);
    });
    let b = balancer(fields, &[100, 100]);
    b.report(0, Attempt::Failed);
    assert!(b.members()[0].health.is_healthy());
    b.report(0, Attempt::Failed);
    assert!(!b.members()[0].health.is_healthy(), "two TCP failures");
    b.report(1, Attempt::Responded(404));
    b.report(1, Attempt::TimedOut);
    assert!(b.members()[1].health.is_healthy(), "404 is in no list; timeouts have no threshold");
    b.report(1, Attempt::Responded(503));
    assert!(!b.members()[1].health.is_healthy());

    let off = balancer(json!({}), &[100]);
    for _ in 0..10 {
        off.report(0, Attempt::Failed);
    }
    assert!(off.members()[0].health.is_healthy(), "with health checks off nothing is counted");
}

#[test]
fn weight_zero_targets_are_tracked_but_never_members() {
    let registry = HealthRegistry::default();
    let b = Balancer::new(upstream(json!({})), &targets(&[100, 0]), &registry, &Resolved::new());
    assert_eq!(b.members().len(), 1);
    assert_eq!(b.tracked().count(), 2);
    assert!(registry.find(Uuid::nil(), "10.0.0.1:80").is_some());
}

#[test]
fn a_host_name_target_is_one_member_per_address_with_the_full_weight() {
    let target = |name: &str, weight: u32| -> Target {
        serde_json::from_value(
            json!({"id": Uuid::new_v4(), "upstream": {"id": Uuid::nil()}, "target": name, "weight": weight}),
        )
        .unwrap()
    };
    let targets = vec![target("App.Internal:8080", 50), target("10.0.0.9:80", 100), target("gone.internal:80", 0)];
    assert_eq!(target_host_names(&targets), ["app.internal"], "IP literals and weight-0 targets need no DNS");
    let resolved: Resolved =
        [("app.internal".to_string(), vec!["10.1.0.1".parse().unwrap(), "10.1.0.2".parse().unwrap()])].into();
    let b = Balancer::new(upstream(json!({})), &targets, &HealthRegistry::default(), &resolved);
    let members: Vec<(&str, &str, u32)> =
        b.members().iter().map(|m| (m.peer.host.as_str(), m.connect_host(), m.weight)).collect();
    assert_eq!(
        members,
        [("App.Internal", "10.1.0.1", 50), ("App.Internal", "10.1.0.2", 50), ("10.0.0.9", "10.0.0.9", 100)],
        "the name stays the Host and SNI; each address connects; each gets the target's full weight"
    );
    assert!(Arc::ptr_eq(&b.members()[0].health, &b.members()[1].health), "one target, one health");
    let mut picks = HashMap::new();
    for _ in 0..200 {
        *picks.entry(b.member(b.pick(None, None).unwrap()).unwrap().connect_host().to_string()).or_insert(0) += 1;
    }
    assert_eq!((picks["10.1.0.1"], picks["10.1.0.2"], picks["10.0.0.9"]), (50, 50, 100));
    let unresolved = Balancer::new(upstream(json!({})), &targets, &HealthRegistry::default(), &Resolved::new());
    assert_eq!(unresolved.members()[0].connect_host(), "App.Internal", "no addresses: resolved at connect time");
}
