//! Consumers: who calls the APIs. For the Gluu auth plugins `custom_id` holds the OAuth client_id.

use crate::model::schema::{EntityCheck, Field, Schema};
use crate::model::typedefs;

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
