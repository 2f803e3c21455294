//! Consumers: who calls the APIs. For the Gluu auth plugins `custom_id` holds the OAuth client_id.

use serde::{Deserialize, Serialize};

use crate::model::schema::{EntityCheck, Field, Schema};
use crate::model::typedefs;

/// A validated consumer, typed for the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consumer {
    pub id: uuid::Uuid,
    pub username: Option<String>,
    pub custom_id: Option<String>,
    /// Epoch seconds; part of the consumer the Gluu plugins' `custom_headers` see (`consumer.created_at`).
    #[serde(default)]
    pub created_at: Option<i64>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

pub fn schema() -> Schema {
    Schema::new(
        "consumers",
        vec![
            typedefs::id(),
            typedefs::created_at(),
            Field::string("username").unique(),
            Field::string("custom_id").unique(),
            typedefs::tags(),
        ],
    )
    .entity_check(EntityCheck::AtLeastOneOf(vec!["custom_id", "username"]))
}

/// ACL groups: a consumer's membership of a group, which the `acl` plugin checks (`admin-api.md` §4.9).
pub fn acl_schema() -> Schema {
    Schema::new(
        "acls",
        vec![
            typedefs::id(),
            typedefs::created_at(),
            typedefs::foreign("consumer", crate::model::EntityKind::Consumers).required(),
            Field::string("group").required(),
            typedefs::tags(),
        ],
    )
}
