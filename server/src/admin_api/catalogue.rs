//! The catalogue of Admin API endpoints, derived from the entity definitions: `GET /endpoints` lists it and
//! `GET /openapi.json` describes it, so neither can drift from what the router serves.

use proxy::model::EntityKind;
use proxy::model::entities::definition;

use super::entities::{nested, top_level};

/// What an endpoint does, which decides its methods and its OpenAPI operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A fixed endpoint with these methods.
    Fixed(&'static [&'static str]),
    /// A `POST` that acts and answers 204 with no body.
    Command,
    Collection(EntityKind),
    Entity(EntityKind),
    /// `/{parent}/{key}/{child collection}`.
    Nested {
        parent: EntityKind,
        child: EntityKind,
    },
    NestedEntity {
        parent: EntityKind,
        child: EntityKind,
    },
    /// `/{kind}/{key}/{field}`: the entity a reference field points at.
    Referenced {
        kind: EntityKind,
        target: EntityKind,
    },
}

impl Shape {
    pub fn methods(self) -> &'static [&'static str] {
        match self {
            Shape::Fixed(methods) => methods,
            Shape::Command => &["POST"],
            Shape::Collection(_) | Shape::Nested { .. } => &["GET", "POST"],
            Shape::Entity(_) | Shape::NestedEntity { .. } => &["GET", "PUT", "PATCH", "DELETE"],
            Shape::Referenced { .. } => &["GET", "PUT", "PATCH"],
        }
    }
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub template: String,
    pub shape: Shape,
}

const FIXED: &[(&str, &[&str])] = &[
    ("/", &["GET"]),
    ("/status", &["GET"]),
    ("/status/ready", &["GET"]),
    ("/gluu-metrics", &["GET"]),
    ("/cache", &["DELETE"]),
    ("/cache/{key}", &["GET", "DELETE"]),
    ("/workspaces", &["GET"]),
    ("/workspaces/{workspaces}", &["GET"]),
    ("/endpoints", &["GET"]),
    ("/openapi.json", &["GET"]),
    ("/config", &["GET", "POST"]),
    ("/schemas/{db_entity_name}", &["GET"]),
    ("/schemas/{db_entity_name}/validate", &["POST"]),
    ("/schemas/plugins/{name}", &["GET"]),
    ("/plugins/schema/{name}", &["GET"]),
    ("/plugins/enabled", &["GET"]),
    ("/tags", &["GET"]),
    ("/tags/{tags}", &["GET"]),
    ("/upstreams/{upstreams}/health", &["GET"]),
    ("/upstreams/{upstreams}/targets/all", &["GET"]),
];

/// Endpoints that act and answer 204 with no body.
const COMMANDS: &[&str] = &[
    "/upstreams/{upstreams}/targets/{targets}/healthy",
    "/upstreams/{upstreams}/targets/{targets}/unhealthy",
    "/upstreams/{upstreams}/targets/{targets}/{address}/healthy",
    "/upstreams/{upstreams}/targets/{targets}/{address}/unhealthy",
];

/// Every endpoint, in Kong's `/endpoints` order (segment-wise, `/` before any other character).
pub fn catalogue() -> Vec<Endpoint> {
    let mut endpoints: Vec<Endpoint> = FIXED
        .iter()
        .map(|(template, methods)| Endpoint { template: template.to_string(), shape: Shape::Fixed(methods) })
        .chain(COMMANDS.iter().map(|template| Endpoint { template: template.to_string(), shape: Shape::Command }))
        .collect();
    for kind in EntityKind::ALL.into_iter().filter(|k| top_level(k.as_str()).is_some()) {
        let collection = kind.as_str();
        let key = format!("/{collection}/{{{collection}}}");
        endpoints.push(Endpoint { template: format!("/{collection}"), shape: Shape::Collection(kind) });
        endpoints.push(Endpoint { template: key.clone(), shape: Shape::Entity(kind) });
        for child in EntityKind::ALL {
            if nested(kind, child.as_str()).is_some() {
                let child_name = child.as_str();
                endpoints.push(Endpoint {
                    template: format!("{key}/{child_name}"),
                    shape: Shape::Nested { parent: kind, child },
                });
                endpoints.push(Endpoint {
                    template: format!("{key}/{child_name}/{{{child_name}}}"),
                    shape: Shape::NestedEntity { parent: kind, child },
                });
            }
        }
        if kind != EntityKind::Snis {
            for reference in definition(kind).references {
                endpoints.push(Endpoint {
                    template: format!("{key}/{}", reference.field),
                    shape: Shape::Referenced { kind, target: reference.kind },
                });
            }
        }
    }
    endpoints.sort_by_key(|e| e.template.replace('/', "\u{1}"));
    endpoints
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_names_the_generated_and_fixed_endpoints_once() {
        let templates: Vec<String> = catalogue().into_iter().map(|e| e.template).collect();
        for expected in [
            "/",
            "/services/{services}/routes/{routes}",
            "/routes/{routes}/service",
            "/upstreams/{upstreams}/targets",
            "/certificates/{certificates}/snis",
            "/plugins/{plugins}/consumer",
            "/consumers/{consumers}/plugins",
            "/upstreams/{upstreams}/health",
            "/upstreams/{upstreams}/targets/{targets}/unhealthy",
        ] {
            assert!(templates.contains(&expected.to_string()), "{expected}");
        }
        assert!(!templates.contains(&"/targets".to_string()));
        assert!(!templates.contains(&"/snis/{snis}/certificate".to_string()));
        let mut unique = templates.clone();
        unique.dedup();
        assert_eq!(unique, templates);
        assert_eq!(templates[0], "/");
    }
}
