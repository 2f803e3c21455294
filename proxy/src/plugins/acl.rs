//! `acl` (`proxy.md` §12.4): consumers' groups (the `acls` entity) or groups an authentication plugin set,
//! checked against an allow or a deny list.

use http::{HeaderName, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use super::{Access, Flow, Plugin, RequestCtx, settings};
use crate::errors::negotiated_error;

#[derive(Deserialize)]
struct Settings {
    allow: Option<Vec<String>>,
    deny: Option<Vec<String>>,
    hide_groups_header: bool,
}

pub struct Acl {
    /// `true`: `list` is the allow list; `false`: the deny list.
    allow_mode: bool,
    list: Vec<String>,
    hide_groups_header: bool,
}

const CONSUMER_GROUPS: HeaderName = HeaderName::from_static("x-consumer-groups");
const AUTHENTICATED_GROUPS: HeaderName = HeaderName::from_static("x-authenticated-groups");

impl Acl {
    pub fn new(config: &Value) -> Result<Acl, String> {
        let settings: Settings = settings(config)?;
        let (allow_mode, list) = match (settings.allow.filter(|a| !a.is_empty()), settings.deny) {
            (Some(allow), _) => (true, allow),
            (None, Some(deny)) => (false, deny),
            (None, None) => return Err("one of allow, deny is required".into()),
        };
        Ok(Acl { allow_mode, list, hide_groups_header: settings.hide_groups_header })
    }

    fn blocks(&self, groups: &[String]) -> bool {
        let listed = groups.iter().any(|group| self.list.contains(group));
        if self.allow_mode { !listed } else { listed }
    }

    fn decide(&self, cx: &mut RequestCtx) -> Flow {
        let forbidden = |cx: &RequestCtx| {
            Flow::Respond(negotiated_error(
                StatusCode::FORBIDDEN,
                "You cannot consume this service",
                cx.header("accept"),
            ))
        };
        let unauthorized = |cx: &RequestCtx| {
            Flow::Respond(negotiated_error(StatusCode::UNAUTHORIZED, "Unauthorized", cx.header("accept")))
        };
        let consumer = cx.consumer_id();
        let has_credential = cx.credential.is_some();
        // Groups an authentication plugin set override the consumer's when no credential was authenticated.
        let (groups, header) = match (consumer, &cx.authenticated_groups) {
            (None, Some(groups)) => (groups.clone(), AUTHENTICATED_GROUPS),
            (None, None) if has_credential => return forbidden(cx),
            (None, None) => return unauthorized(cx),
            (Some(_), Some(groups)) if !has_credential => (groups.clone(), AUTHENTICATED_GROUPS),
            (Some(consumer), _) => {
                let groups = cx.snapshot.acl_groups.get(&consumer).cloned().unwrap_or_default();
                if groups.is_empty() && self.allow_mode {
                    return if has_credential { forbidden(cx) } else { unauthorized(cx) };
                }
                (groups, CONSUMER_GROUPS)
            }
        };
        if self.blocks(&groups) {
            return forbidden(cx);
        }
        if !self.hide_groups_header
            && let Ok(value) = HeaderValue::from_str(&groups.join(", "))
        {
            cx.request.headers.insert(header, value);
        }
        Flow::Continue
    }
}

impl Plugin for Acl {
    fn writes_forwarding_headers(&self) -> bool {
        false
    }

    fn access<'a>(&'a self, cx: &'a mut RequestCtx) -> Access<'a> {
        Access::Done(self.decide(cx))
    }
}
