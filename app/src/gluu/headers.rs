//! The `custom_headers` editor of gluu-oauth-auth (`gluu-plugins.md` §3.7): rows of header name, Lua value
//! expression, format, separator and iterate, pre-filled with GG UI's defaults for a new plugin. The rows travel
//! in the form as one hidden JSON field, so a form posted without JavaScript keeps the stored headers.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

const FORMATS: [&str; 5] = ["string", "jwt", "base64", "urlencoded", "list"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomHeader {
    pub header_name: String,
    pub value_lua_exp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sep: Option<String>,
    #[serde(default)]
    pub iterate: bool,
}

fn header(name: &str, expression: &str, format: &str, sep: Option<&str>) -> CustomHeader {
    CustomHeader {
        header_name: name.to_string(),
        value_lua_exp: expression.to_string(),
        format: Some(format.to_string()),
        sep: sep.map(str::to_string),
        iterate: false,
    }
}

/// GG UI's defaults (`oauth-plugin-controller.js`): Kong's legacy OAuth headers.
pub fn gg_defaults() -> Vec<CustomHeader> {
    vec![
        header("x-consumer-id", "consumer.id", "string", None),
        header("x-oauth-client-id", "introspect_data.client_id", "string", None),
        header("x-consumer-custom-id", "introspect_data.client_id", "string", None),
        header("x-oauth-expiration", "introspect_data.exp", "string", None),
        header("x-authenticated-scope", "introspect_data.scope", "list", Some(",")),
    ]
}

#[component]
pub fn HeadersEditor(rows: RwSignal<Vec<CustomHeader>>) -> impl IntoView {
    let json = move || serde_json::to_string(&rows.get()).unwrap_or_else(|_| "[]".to_string());
    let edit = move |index: usize, change: fn(&mut CustomHeader, String), value: String| {
        rows.update(|list| {
            if let Some(row) = list.get_mut(index) {
                change(row, value);
            }
        })
    };
    view! {
        <fieldset class="custom-headers">
            <legend>"Custom headers to the upstream"</legend>
            <input type="hidden" name="custom_headers" prop:value=json value=json/>
            <table>
                <thead>
                    <tr><th>"Header"</th><th>"Value (Lua expression)"</th><th>"Format"</th><th>"Separator"</th><th>"Iterate"</th><th></th></tr>
                </thead>
                <tbody>
                    {move || {
                        rows.get()
                            .into_iter()
                            .enumerate()
                            .map(|(i, row)| {
                                let format = row.format.clone().unwrap_or_default();
                                view! {
                                    <tr data-header=row.header_name.clone()>
                                        <td><input type="text" aria-label=format!("Header name {}", i + 1) value=row.header_name.clone()
                                            on:change=move |ev| edit(i, |r, v| r.header_name = v, event_target_value(&ev))/></td>
                                        <td><input type="text" aria-label=format!("Value expression {}", i + 1) value=row.value_lua_exp.clone()
                                            on:change=move |ev| edit(i, |r, v| r.value_lua_exp = v, event_target_value(&ev))/></td>
                                        <td>
                                            <select aria-label=format!("Format {}", i + 1)
                                                on:change=move |ev| edit(i, |r, v| r.format = (!v.is_empty()).then_some(v), event_target_value(&ev))>
                                                <option value="" selected=format.is_empty()>"default"</option>
                                                {FORMATS.into_iter().map(|f| view! { <option value=f selected=format == f>{f}</option> }).collect_view()}
                                            </select>
                                        </td>
                                        <td><input type="text" size="3" aria-label=format!("Separator {}", i + 1) value=row.sep.clone().unwrap_or_default()
                                            on:change=move |ev| edit(i, |r, v| r.sep = (!v.is_empty()).then_some(v), event_target_value(&ev))/></td>
                                        <td><input type="checkbox" aria-label=format!("Iterate {}", i + 1) checked=row.iterate
                                            on:change=move |ev| edit(i, |r, v| r.iterate = v == "true", event_target_checked(&ev).to_string())/></td>
                                        <td><button type="button" on:click=move |_| rows.update(|list| { list.remove(i); })>
                                            {format!("Remove header {}", i + 1)}
                                        </button></td>
                                    </tr>
                                }
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
            <button type="button" class="add-header" on:click=move |_| rows.update(|list| list.push(header("", "", "string", None)))>
                "Add header"
            </button>
        </fieldset>
    }
    .into_any()
}
