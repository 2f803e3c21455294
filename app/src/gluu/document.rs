//! The protection-document editor (`oauth_scope_expression`, `gluu-plugins.md` §4): the JSON text is the one
//! source of truth, shown raw and as a list of paths; the builder adds a path with its methods and a scope
//! expression (all of / any of / none of the scopes) to it. Every change is checked live by the engine's own
//! parser ([`ProtectionDocument::parse`]), which shows GG's messages.

use leptos::prelude::*;
use proxy::model::gluu::ProtectionDocument;
use serde_json::{Value, json};

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// GG's message for `text`, or `None` when the document is valid (an empty one means "no document").
pub fn document_error(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    ProtectionDocument::parse(text).err().map(|e| e.to_string())
}

/// A scope expression over `scopes`: `op` is `and`, `or` or `!` (none of them).
pub fn scope_expression(op: &str, scopes: &[String]) -> Value {
    let vars: Vec<Value> = (0..scopes.len()).map(|i| json!({"var": i})).collect();
    let rule = match op {
        "or" => json!({"or": vars}),
        "!" => json!({"!": {"or": vars}}),
        _ => json!({"and": vars}),
    };
    json!({"rule": rule, "data": scopes})
}

/// `document` with one more item; `Err` when the current text is not a JSON array.
pub fn with_item(
    document: &str,
    path: &str,
    methods: &[String],
    op: &str,
    scopes: &[String],
) -> Result<String, String> {
    let mut items = match document.trim() {
        "" => Vec::new(),
        text => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => items,
            _ => return Err("fix the JSON below before adding paths".to_string()),
        },
    };
    let mut condition = json!({"httpMethods": methods});
    if !scopes.is_empty() {
        condition["scope_expression"] = scope_expression(op, scopes);
    }
    items.push(json!({"path": path, "conditions": [condition]}));
    Ok(serde_json::to_string_pretty(&Value::Array(items)).unwrap_or_default())
}

/// `document` without item `index` (unchanged when it is not an array).
pub fn without_item(document: &str, index: usize) -> String {
    match serde_json::from_str::<Value>(document) {
        Ok(Value::Array(mut items)) if index < items.len() => {
            items.remove(index);
            if items.is_empty() {
                String::new()
            } else {
                serde_json::to_string_pretty(&Value::Array(items)).unwrap_or_default()
            }
        }
        _ => document.to_string(),
    }
}

/// One line per path of the document: the path and, per condition, its methods and scope data.
fn summaries(document: &str) -> Vec<(String, String)> {
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(document) else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| {
            let conditions: Vec<String> = item["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    let methods = c["httpMethods"].as_array().into_iter().flatten().filter_map(Value::as_str);
                    let methods = methods.collect::<Vec<_>>().join(" ");
                    match c.get("scope_expression") {
                        Some(expression) => format!("{methods}: {}", expression["rule"]),
                        None => format!("{methods}: any valid token"),
                    }
                })
                .collect();
            (item["path"].as_str().unwrap_or_default().to_string(), conditions.join("; "))
        })
        .collect()
}

#[component]
pub fn DocumentEditor(document: RwSignal<String>) -> impl IntoView {
    let path = RwSignal::new(String::new());
    let methods = RwSignal::new(vec!["GET".to_string()]);
    let op = RwSignal::new("and".to_string());
    let scopes = RwSignal::new(String::new());
    let builder_error = RwSignal::new(None::<String>);
    let add = move |_| {
        let p = path.get_untracked();
        if p.trim().is_empty() {
            builder_error.set(Some("Path is required".to_string()));
            return;
        }
        let scope_list = crate::gluu::oauth::words(&scopes.get_untracked());
        match with_item(&document.get_untracked(), p.trim(), &methods.get_untracked(), &op.get_untracked(), &scope_list)
        {
            Ok(text) => {
                document.set(text);
                builder_error.set(None);
                path.set(String::new());
                scopes.set(String::new());
            }
            Err(error) => builder_error.set(Some(error)),
        }
    };
    view! {
        <fieldset class="document">
            <legend>"Protection document (oauth_scope_expression)"</legend>
            <ul class="document-paths">
                {move || {
                    summaries(&document.get())
                        .into_iter()
                        .enumerate()
                        .map(|(index, (p, conditions))| {
                            view! {
                                <li data-path=p.clone()>
                                    <code>{p.clone()}</code>
                                    " "
                                    <span>{conditions}</span>
                                    " "
                                    <button
                                        type="button"
                                        aria-label=format!("Remove path {p}")
                                        on:click=move |_| document.update(|d| *d = without_item(d, index))
                                    >
                                        "Remove"
                                    </button>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            <div class="builder">
                <label for="doc-path">"Path"</label>
                <input id="doc-path" type="text" placeholder="/posts/??" prop:value=move || path.get()
                    on:input=move |ev| path.set(event_target_value(&ev))/>
                <span class="methods" role="group" aria-label="HTTP methods">
                    {METHODS
                        .iter()
                        .map(|m| {
                            let m = m.to_string();
                            let id = format!("doc-method-{m}");
                            let checked = {
                                let m = m.clone();
                                move || methods.get().contains(&m)
                            };
                            let toggle = {
                                let m = m.clone();
                                move |_| methods.update(|list| {
                                    if let Some(i) = list.iter().position(|x| *x == m) {
                                        list.remove(i);
                                    } else {
                                        list.push(m.clone());
                                    }
                                })
                            };
                            view! {
                                <input id=id.clone() type="checkbox" prop:checked=checked on:change=toggle/>
                                <label for=id>{m}</label>
                            }
                        })
                        .collect_view()}
                </span>
                <label for="doc-op">"Scopes required"</label>
                <select id="doc-op" on:change=move |ev| op.set(event_target_value(&ev))>
                    <option value="and">"all of"</option>
                    <option value="or">"any of"</option>
                    <option value="!">"none of"</option>
                </select>
                <input id="doc-scopes" type="text" aria-label="Scopes" placeholder="admin, employee"
                    prop:value=move || scopes.get() on:input=move |ev| scopes.set(event_target_value(&ev))/>
                <button type="button" class="add-path" on:click=add>"Add path"</button>
                <p class="error" role="alert">{move || builder_error.get()}</p>
            </div>
            <label for="oauth_scope_expression">"Document JSON"</label>
            <textarea id="oauth_scope_expression" name="oauth_scope_expression" rows="12"
                prop:value=move || document.get() on:input=move |ev| document.set(event_target_value(&ev))>
                {document.get_untracked()}
            </textarea>
            <p class="document-status" role="status">
                {move || match document_error(&document.get()) {
                    Some(error) => error,
                    None => "Valid".to_string(),
                }}
            </p>
        </fieldset>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_document_is_valid_and_removing_its_items_empties_it() {
        let doc = with_item("", "/allowed", &["GET".into()], "and", &["admin".into()]).unwrap();
        let doc = with_item(&doc, "/forbidden", &["GET".into()], "and", &["nobody".into()]).unwrap();
        assert_eq!(document_error(&doc), None);
        let parsed: Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(
            parsed[0]["conditions"][0]["scope_expression"],
            json!({"rule": {"and": [{"var": 0}]}, "data": ["admin"]})
        );
        assert_eq!(without_item(&without_item(&doc, 0), 0), "");
    }

    #[test]
    fn the_engines_messages_are_shown_for_bad_documents() {
        assert_eq!(document_error("[").as_deref(), Some("Invalid JSON in expression"));
        assert_eq!(document_error("[{\"path\":\"/a\"}]").as_deref(), Some("Conditions are missing in expression"));
        assert!(with_item("{", "/a", &[], "and", &[]).is_err());
    }
}
