//! The kinds of configuration entity Gatehouse stores, named as Kong's Admin API names their collections.

use serde::{Deserialize, Serialize};

/// A configuration entity kind. The string form is the Admin API collection name (`services`, `routes`, ...),
/// which is also the key the store files entities under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Services,
    Routes,
    Consumers,
    Plugins,
    Upstreams,
    Targets,
    Certificates,
    Snis,
    CaCertificates,
    /// Consumers' ACL groups (the `acl` plugin's entity).
    Acls,
}

impl EntityKind {
    /// Every kind, in the order the dashboard and exports list them.
    pub const ALL: [EntityKind; 10] = [
        EntityKind::Services,
        EntityKind::Routes,
        EntityKind::Consumers,
        EntityKind::Plugins,
        EntityKind::Upstreams,
        EntityKind::Targets,
        EntityKind::Certificates,
        EntityKind::Snis,
        EntityKind::CaCertificates,
        EntityKind::Acls,
    ];

    /// The Admin API collection name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Services => "services",
            EntityKind::Routes => "routes",
            EntityKind::Consumers => "consumers",
            EntityKind::Plugins => "plugins",
            EntityKind::Upstreams => "upstreams",
            EntityKind::Targets => "targets",
            EntityKind::Certificates => "certificates",
            EntityKind::Snis => "snis",
            EntityKind::CaCertificates => "ca_certificates",
            EntityKind::Acls => "acls",
        }
    }

    /// A label for people (the dashboard).
    pub fn label(self) -> &'static str {
        match self {
            EntityKind::Services => "Services",
            EntityKind::Routes => "Routes",
            EntityKind::Consumers => "Consumers",
            EntityKind::Plugins => "Plugins",
            EntityKind::Upstreams => "Upstreams",
            EntityKind::Targets => "Targets",
            EntityKind::Certificates => "Certificates",
            EntityKind::Snis => "SNIs",
            EntityKind::CaCertificates => "CA certificates",
            EntityKind::Acls => "ACL groups",
        }
    }

    /// Parses a collection name; `None` for anything that is not one.
    pub fn from_collection(name: &str) -> Option<EntityKind> {
        EntityKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_names_round_trip_through_parse_and_serde() {
        for kind in EntityKind::ALL {
            assert_eq!(EntityKind::from_collection(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(EntityKind::from_collection("key-auths"), None);
    }
}
