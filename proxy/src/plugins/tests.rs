//! Scoping precedence and phase order, on the compiled plugin set.

use serde_json::json;
use uuid::Uuid;

use super::*;

const ROUTE: Uuid = Uuid::from_u128(1);
const SERVICE: Uuid = Uuid::from_u128(2);
const CONSUMER: Uuid = Uuid::from_u128(3);

fn config(id: u128, name: &str, route: Option<Uuid>, service: Option<Uuid>, consumer: Option<Uuid>) -> PluginConfig {
    let reference = |id: Option<Uuid>| id.map(|id| crate::model::entities::Reference { id });
    PluginConfig {
        id: Uuid::from_u128(id),
        name: name.into(),
        route: reference(route),
        service: reference(service),
        consumer: reference(consumer),
        config: match name {
            "rate-limiting" => json!({"minute": 10, "policy": "local"}),
            "ip-restriction" => json!({"allow": ["127.0.0.1"]}),
            _ => json!({}),
        },
        protocols: vec!["http".into(), "https".into()],
        enabled: true,
    }
}

fn resolved(set: &PluginSet, route: Option<Uuid>, service: Option<Uuid>, consumer: Option<Uuid>) -> Option<u128> {
    set.resolve(0, route, service, consumer, Protocol::Http).map(|i| i.id.as_u128())
}

#[test]
fn the_most_specific_enabled_configuration_wins() {
    let mut all = vec![
        config(8, "rate-limiting", None, None, None),
        config(7, "rate-limiting", None, Some(SERVICE), None),
        config(6, "rate-limiting", Some(ROUTE), None, None),
        config(5, "rate-limiting", None, None, Some(CONSUMER)),
        config(4, "rate-limiting", Some(ROUTE), Some(SERVICE), None),
        config(3, "rate-limiting", None, Some(SERVICE), Some(CONSUMER)),
        config(2, "rate-limiting", Some(ROUTE), None, Some(CONSUMER)),
        config(1, "rate-limiting", Some(ROUTE), Some(SERVICE), Some(CONSUMER)),
    ];
    all.reverse();
    let services = PluginServices::default();
    // Remove configurations one by one from the most specific: the next one in Kong's order takes over.
    for first in 0..8 {
        let set = PluginSet::build(all[first..].to_vec(), &services);
        assert_eq!(resolved(&set, Some(ROUTE), Some(SERVICE), Some(CONSUMER)), Some(first as u128 + 1));
    }
    let set = PluginSet::build(all.clone(), &services);
    assert_eq!(resolved(&set, Some(Uuid::from_u128(9)), Some(Uuid::from_u128(9)), None), Some(8), "global");
    assert_eq!(resolved(&set, Some(ROUTE), Some(Uuid::from_u128(9)), None), Some(6));
}

#[test]
fn disabled_and_other_protocol_configurations_are_skipped() {
    let mut route_level = config(1, "rate-limiting", Some(ROUTE), None, None);
    route_level.enabled = false;
    let mut service_level = config(2, "rate-limiting", None, Some(SERVICE), None);
    service_level.protocols = vec!["grpc".into()];
    let global = config(3, "rate-limiting", None, None, None);
    let set = PluginSet::build(vec![route_level, service_level, global], &PluginServices::default());
    assert_eq!(resolved(&set, Some(ROUTE), Some(SERVICE), None), Some(3));
}

#[test]
fn plugins_resolve_in_priority_order_and_invalid_ones_fail_closed() {
    let mut broken = config(2, "ip-restriction", None, None, None);
    broken.config = json!({"allow": ["not an address"]});
    let set = PluginSet::build(vec![config(1, "rate-limiting", None, None, None), broken], &PluginServices::default());
    assert_eq!(set.len(), 2);
    let first = set.resolve(0, None, None, None, Protocol::Http).unwrap();
    assert_eq!(first.def.name, "ip-restriction", "990 runs before 901");
    assert!(first.handler().is_err());
    assert!(set.resolve(1, None, None, None, Protocol::Http).unwrap().handler().is_ok());
}

#[test]
fn a_routes_plan_selects_what_resolution_by_scope_does() {
    let other = Uuid::from_u128(9);
    let scopes = [
        (None, None, None),
        (None, Some(SERVICE), None),
        (Some(ROUTE), None, None),
        (None, None, Some(CONSUMER)),
        (Some(ROUTE), Some(SERVICE), None),
        (None, Some(SERVICE), Some(CONSUMER)),
        (Some(ROUTE), None, Some(CONSUMER)),
        (Some(ROUTE), Some(SERVICE), Some(CONSUMER)),
    ];
    let routes = [(ROUTE, Some(SERVICE)), (ROUTE, None), (other, Some(SERVICE)), (other, None), (other, Some(other))];
    let services = PluginServices::default();
    // Every subset of the scopes, for two plugin names; some configurations run on gRPC only.
    for subset in 0u32..256 {
        let mut configs = Vec::new();
        for (bit, (route, service, consumer)) in scopes.iter().enumerate() {
            if subset & (1 << bit) != 0 {
                let mut rate = config(bit as u128 + 1, "rate-limiting", *route, *service, *consumer);
                if bit % 3 == 2 {
                    rate.protocols = vec!["grpc".into()];
                }
                configs.push(rate);
                if subset.count_ones() % 2 == 0 {
                    configs.push(config(bit as u128 + 101, "ip-restriction", *route, *service, None));
                }
            }
        }
        let mut set = PluginSet::build(configs, &services);
        set.plan_routes(routes);
        for (index, (route, service)) in routes.into_iter().enumerate() {
            let plan = set.route_plan(index);
            for consumer in [None, Some(CONSUMER), Some(other)] {
                for protocol in [Protocol::Http, Protocol::Grpc] {
                    let planned: Vec<u128> = plan
                        .steps()
                        .iter()
                        .filter_map(|step| step.select(&set, Some(route), service, consumer, protocol))
                        .map(|i| i.id.as_u128())
                        .collect();
                    let by_scope: Vec<u128> = (0..set.len())
                        .filter_map(|i| set.resolve(i, Some(route), service, consumer, protocol))
                        .map(|i| i.id.as_u128())
                        .collect();
                    assert_eq!(planned, by_scope, "subset {subset:08b}, route {index}, {consumer:?}, {protocol:?}");
                }
            }
            let nothing_applies = (0..set.len()).all(|i| {
                [None, Some(CONSUMER)].into_iter().all(|consumer| {
                    [Protocol::Http, Protocol::Grpc]
                        .into_iter()
                        .all(|protocol| set.resolve(i, Some(route), service, consumer, protocol).is_none())
                })
            });
            if plan.is_empty() {
                assert!(nothing_applies, "an empty plan for a route something applies to");
            }
        }
    }
    // A set that was not planned resolves every name on every route.
    let set = PluginSet::build(vec![config(1, "rate-limiting", Some(ROUTE), None, None)], &services);
    let step = &set.route_plan(0).steps()[0];
    assert_eq!(step.select(&set, Some(ROUTE), None, None, Protocol::Http).map(|i| i.id.as_u128()), Some(1));
}

/// A context for a GET from 127.0.0.1 on `snapshot`.
fn request(snapshot: crate::snapshot::Snapshot) -> RequestCtx {
    RequestCtx::for_test("GET", "/", snapshot)
}

fn status(flow: Access<'_>) -> Option<u16> {
    match flow {
        Access::Done(Flow::Continue) => None,
        Access::Done(Flow::Respond(response)) => Some(response.status().as_u16()),
        Access::Later(_) => panic!("acl decides at once"),
    }
}

#[test]
fn acl_decides_on_consumer_groups_and_authenticated_groups() {
    use crate::model::entities::consumer::Consumer;
    use crate::snapshot::{AclGroup, Configuration, Snapshot};
    let consumer =
        Consumer { id: CONSUMER, username: Some("alice".into()), custom_id: None, created_at: None, tags: None };
    let acls = ["gold", "beta"]
        .map(|group| AclGroup { consumer: crate::model::entities::Reference { id: CONSUMER }, group: group.into() });
    let configuration = Configuration { consumers: vec![consumer], acls: acls.to_vec(), ..Configuration::default() };
    let snapshot = || Snapshot::build(configuration.clone(), &PluginServices::default(), &Default::default()).unwrap();
    let allow_gold = acl::Acl::new(&json!({"allow": ["gold"], "hide_groups_header": false})).unwrap();
    let deny_beta = acl::Acl::new(&json!({"deny": ["beta"], "hide_groups_header": true})).unwrap();

    let mut cx = request(snapshot());
    assert_eq!(status(allow_gold.access(&mut cx)), Some(401), "no consumer, no credential");
    cx.credential = Some(Credential { id: "client-1".into(), consumer: None });
    assert_eq!(status(allow_gold.access(&mut cx)), Some(403), "a credential without a consumer");

    let mut cx = request(snapshot());
    cx.consumer = cx.snapshot.consumers.get(&CONSUMER).cloned();
    cx.credential = Some(Credential { id: "client-1".into(), consumer: Some(CONSUMER) });
    assert_eq!(status(allow_gold.access(&mut cx)), None);
    assert_eq!(cx.request.headers["x-consumer-groups"], "gold, beta");
    assert_eq!(status(deny_beta.access(&mut cx)), Some(403));

    // Groups an authentication plugin set decide when there is no consumer.
    let mut cx = request(snapshot());
    cx.authenticated_groups = Some(vec!["gold".into()]);
    assert_eq!(status(allow_gold.access(&mut cx)), None);
    assert_eq!(cx.request.headers["x-authenticated-groups"], "gold");
}
