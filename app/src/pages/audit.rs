//! The audit log (`/audit`): every configuration change through the Admin API or this UI, newest first, with
//! who made it, through what, and the entity's document before and after (secrets masked). A filter by entity
//! kind and id, and Kong's `offset` pagination, as plain GET forms and links.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde_json::Value;

use super::entity_list::encode;
use crate::admin::admin_get;

const PAGE_SIZE: usize = 25;

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let query = query.read();
        let get = |key: &str| query.get(key).unwrap_or_default();
        (get("entity_kind"), get("entity_id"), get("offset"))
    };
    let page = Resource::new(filter, |(kind, id, offset)| async move {
        let mut path = format!("/audit?size={PAGE_SIZE}");
        for (key, value) in [("entity_kind", &kind), ("entity_id", &id), ("offset", &offset)] {
            if !value.is_empty() {
                path.push_str(&format!("&{key}={}", encode(value)));
            }
        }
        admin_get(path).await
    });
    view! {
        <section class="audit">
            <div class="page-title"><h1>"Audit log"</h1></div>
            <form class="filters" method="get" action="/audit">
                <label for="entity_kind">"Entity kind"</label>
                <input id="entity_kind" name="entity_kind" placeholder="services" value=move || filter().0/>
                <label for="entity_id">"Entity id"</label>
                <input id="entity_id" name="entity_id" value=move || filter().1/>
                <button type="submit">"Filter"</button>
                <a href="/audit">"Clear"</a>
            </form>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let (kind, id, _) = filter();
                    match page.await {
                        Ok(reply) if reply.is_success() => view! { <Entries body=reply.body kind id/> }.into_any(),
                        Ok(reply) => view! { <p class="error" role="alert">{reply.message()}</p> }.into_any(),
                        Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Entries(body: Value, kind: String, id: String) -> impl IntoView {
    let entries = body["data"].as_array().cloned().unwrap_or_default();
    let next = body.get("offset").and_then(Value::as_str).map(|offset| {
        let mut href = format!("/audit?offset={}", encode(offset));
        for (key, value) in [("entity_kind", &kind), ("entity_id", &id)] {
            if !value.is_empty() {
                href.push_str(&format!("&{key}={}", encode(value)));
            }
        }
        href
    });
    let empty = entries.is_empty();
    view! {
        <table class="entities audit-entries">
            <thead>
                <tr>
                    <th scope="col">"When (UTC)"</th>
                    <th scope="col">"Who"</th>
                    <th scope="col">"Change"</th>
                    <th scope="col">"Entity"</th>
                    <th scope="col">"Comment"</th>
                    <th scope="col">"Documents"</th>
                </tr>
            </thead>
            <tbody>
                {entries.into_iter().map(|entry| view! { <Entry entry/> }).collect_view()}
            </tbody>
        </table>
        {empty.then(|| view! { <p class="empty">"No change recorded yet."</p> })}
        <nav class="pagination" aria-label="Pages">
            {next.map(|href| view! { <a href=href rel="next">"Older changes"</a> })}
        </nav>
    }
}

#[component]
fn Entry(entry: Value) -> impl IntoView {
    let text = |key: &str| entry[key].as_str().unwrap_or_default().to_string();
    let (kind, id, action) = (text("entity_kind"), text("entity_id"), text("action"));
    let label = entry["after"]
        .get("name")
        .or_else(|| entry["before"].get("name"))
        .and_then(Value::as_str)
        .map_or_else(|| id.clone(), str::to_string);
    let link = (action != "delete").then(|| format!("/{kind}/{id}"));
    let pretty = |doc: &Value| (!doc.is_null()).then(|| serde_json::to_string_pretty(doc).unwrap_or_default());
    let (before, after) = (pretty(&entry["before"]), pretty(&entry["after"]));
    view! {
        <tr data-action=action.clone() data-entity=id.clone()>
            <td>{utc(entry["at"].as_i64().unwrap_or(0))}</td>
            <td>{text("actor")} <span class="hint">{format!(" ({})", text("via"))}</span></td>
            <td>{action.clone()}</td>
            <td>
                {kind.clone()} " "
                {match link {
                    Some(href) => view! { <a href=href>{label}</a> }.into_any(),
                    None => view! { <span>{label}</span> }.into_any(),
                }}
            </td>
            <td>{text("comment")}</td>
            <td>
                <details>
                    <summary>"Before / after"</summary>
                    <div class="audit-docs">
                        <pre aria-label="before">{before.unwrap_or_else(|| "(none)".into())}</pre>
                        <pre aria-label="after">{after.unwrap_or_else(|| "(none)".into())}</pre>
                    </div>
                </details>
            </td>
        </tr>
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn utc(seconds: i64) -> String {
    let (days, rem) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = proxy::model::civil::civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn unix_seconds_read_as_utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(super::utc(1_796_256_000 + 3_661), "2026-12-03 01:01:01");
    }
}
