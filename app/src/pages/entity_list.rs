//! The list of any configuration collection (`/services`, `/services/{id}/routes`): a page of the Admin API's
//! answer with a lookup by name or id, a tags filter and Kong's `offset` pagination, all plain links and GET
//! forms so that it reads and works without JavaScript.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde_json::Value;

use crate::admin::{ApiReply, admin_get};
use crate::collections::{self, Collection, cell_text, entity_label};

const PAGE_SIZE: usize = 20;

/// What a list shows: the collection, under which parent, and the query.
#[derive(Debug, Clone, PartialEq)]
struct ListQuery {
    parent: Option<(String, String)>,
    collection: String,
    lookup: String,
    tags: String,
    offset: String,
}

impl ListQuery {
    fn base(&self) -> String {
        match &self.parent {
            Some((parent, id)) => format!("/{parent}/{id}/{}", self.collection),
            None => format!("/{}", self.collection),
        }
    }

    /// The Admin API path this list reads.
    fn api_path(&self) -> String {
        if !self.lookup.is_empty() && self.parent.is_none() {
            return format!("/{}/{}", self.collection, encode(&self.lookup));
        }
        // An upstream's targets come from its health endpoint: the same list, with each target's live health.
        let listed = match (&self.parent, self.collection.as_str()) {
            (Some((parent, id)), "targets") if parent == "upstreams" => format!("/upstreams/{id}/health"),
            _ => self.base(),
        };
        let mut path = format!("{listed}?size={PAGE_SIZE}");
        if !self.tags.is_empty() {
            path.push_str(&format!("&tags={}", encode(&self.tags)));
        }
        if !self.offset.is_empty() {
            path.push_str(&format!("&offset={}", encode(&self.offset)));
        }
        path
    }
}

/// Percent-encodes a query or path value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[component]
pub fn EntityListPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let list = move || {
        let params = params.read();
        let query = query.read();
        let get = |key: &str| query.get(key).unwrap_or_default();
        ListQuery {
            parent: params.get("parent").zip(params.get("parent_id")),
            collection: params.get("collection").unwrap_or_default(),
            lookup: get("lookup"),
            tags: get("tags"),
            offset: get("offset"),
        }
    };
    let page = Resource::new(list, |list| async move {
        if collections::find(&list.collection).is_none() {
            return Ok(None);
        }
        admin_get(list.api_path()).await.map(Some)
    });
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let list = list();
                match (collections::find(&list.collection), page.await) {
                    (Some(collection), Ok(Some(reply))) => view! { <ListView collection list reply/> }.into_any(),
                    (_, Err(error)) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                    _ => view! { <p class="error" role="alert">"There is no such collection."</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ListView(collection: &'static Collection, list: ListQuery, reply: ApiReply) -> impl IntoView {
    let rows: Vec<Value> = match (&reply.body.get("data"), reply.status) {
        (Some(Value::Array(items)), _) => items.clone(),
        (None, 200) => vec![reply.body.clone()],
        _ => Vec::new(),
    };
    let problem = (!reply.is_success() && reply.status != 404).then(|| reply.message());
    let next = reply.body.get("offset").and_then(Value::as_str).map(|offset| {
        let mut href = format!("{}?offset={}", list.base(), encode(offset));
        if !list.tags.is_empty() {
            href.push_str(&format!("&tags={}", encode(&list.tags)));
        }
        href
    });
    let title = match &list.parent {
        Some((parent, id)) => format!("{} of {} {id}", collection.label, collections::singular(parent)),
        None => collection.label.to_string(),
    };
    let new_href = match &list.parent {
        Some((parent, id)) => format!("/{}/new?{}={}", collection.name, collections::singular(parent), encode(id)),
        None => format!("/{}/new", collection.name),
    };
    let empty = rows.is_empty();
    let base = list.base();
    let action = base.clone();
    view! {
        <section class="entity-list" data-collection=collection.name>
            <div class="page-title">
                <h1>{title}</h1>
                <a class="button" href=new_href>{format!("New {}", collections::singular(collection.name))}</a>
            </div>
            <form class="filters" method="get" action=action>
                {list.parent.is_none().then(|| view! {
                    <label for="lookup">"Name or id"</label>
                    <input id="lookup" name="lookup" type="search" value=list.lookup.clone()/>
                })}
                <label for="tags">"Tags"</label>
                <input id="tags" name="tags" type="text" placeholder="tag1,tag2 (all) or tag1/tag2 (any)"
                    value=list.tags.clone()/>
                <button type="submit">"Filter"</button>
                <a href=base.clone()>"Clear"</a>
            </form>
            {problem.map(|message| view! { <p class="error" role="alert">{message}</p> })}
            <table class="entities">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        {collection.columns.iter().map(|c| view! { <th scope="col">{c.replace('_', " ")}</th> }).collect_view()}
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|entity| {
                        let id = entity.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                        let label = entity_label(&entity);
                        view! {
                            <tr data-id=id.clone()>
                                <td>
                                    {match collection.under {
                                        None => view! { <a href=format!("/{}/{id}", collection.name)>{label}</a> }.into_any(),
                                        Some(_) => view! { <span class="entity-name">{label}</span> }.into_any(),
                                    }}
                                </td>
                                {collection.columns.iter().map(|c| view! {
                                    <td data-column=*c>{cell_text(entity.get(*c))}</td>
                                }).collect_view()}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {empty.then(|| view! { <p class="empty">"Nothing here yet."</p> })}
            <nav class="pagination" aria-label="Pages">
                {(!list.offset.is_empty()).then(|| view! { <a href=list.base()>"First page"</a> })}
                {next.map(|href| view! { <a href=href rel="next">"Next page"</a> })}
            </nav>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query() -> ListQuery {
        ListQuery {
            parent: None,
            collection: "services".into(),
            lookup: String::new(),
            tags: String::new(),
            offset: String::new(),
        }
    }

    #[test]
    fn lists_read_pages_by_tags_and_offset_and_look_up_by_name() {
        assert_eq!(query().api_path(), "/services?size=20");
        let tagged = ListQuery { tags: "a,b".into(), offset: "x=/1".into(), ..query() };
        assert_eq!(tagged.api_path(), "/services?size=20&tags=a,b&offset=x%3D%2F1");
        let lookup = ListQuery { lookup: "my svc".into(), ..query() };
        assert_eq!(lookup.api_path(), "/services/my%20svc");
        let nested =
            ListQuery { parent: Some(("services".into(), "s1".into())), collection: "routes".into(), ..query() };
        assert_eq!(nested.api_path(), "/services/s1/routes?size=20");
        let targets =
            ListQuery { parent: Some(("upstreams".into(), "u1".into())), collection: "targets".into(), ..query() };
        assert_eq!(targets.api_path(), "/upstreams/u1/health?size=20");
    }
}
