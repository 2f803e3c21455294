//! One form field generated from a schema [`FieldSpec`]: a labelled input of the right kind bound to the form's
//! text map, with the field's error (from the Admin API or from reading the text) below it.

use std::collections::BTreeMap;

use leptos::prelude::*;
use serde_json::Value;

use crate::admin::admin_get;
use crate::collections::entity_label;
use crate::schema::{FieldSpec, Input};

type Texts = RwSignal<BTreeMap<String, String>>;

#[component]
pub fn Field(spec: FieldSpec, texts: Texts, errors: Texts) -> impl IntoView {
    let name = spec.name.clone();
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let value = {
        let name = name.clone();
        move || texts.read().get(&name).cloned().unwrap_or_default()
    };
    let set = {
        let name = name.clone();
        move |text: String| {
            texts.update(|t| {
                t.insert(name.clone(), text);
            })
        }
    };
    let error = {
        let name = name.clone();
        move || errors.read().get(&name).cloned()
    };
    let hint = match &spec.input {
        Input::List => Some("Comma-separated"),
        Input::Json => Some("JSON"),
        _ => None,
    };
    let required = spec.required;
    let control = match spec.input.clone() {
        Input::Boolean => {
            let set = set.clone();
            view! {
                <input id=id.clone() type="checkbox" prop:checked=move || value() == "true"
                    on:change=move |ev| set(event_target_checked(&ev).to_string())/>
            }
            .into_any()
        }
        Input::Choice(choices) => {
            let set = set.clone();
            view! {
                <select id=id.clone() on:change=move |ev| set(event_target_value(&ev)) prop:value=value.clone()>
                    {(!required).then(|| view! { <option value="">"—"</option> })}
                    {choices.into_iter().map(|c| {
                        let selected = { let value = value.clone(); let c = c.clone(); move || value() == c };
                        view! { <option value=c.clone() selected=selected>{c.clone()}</option> }
                    }).collect_view()}
                </select>
            }
            .into_any()
        }
        Input::Foreign(reference) => {
            view! { <ForeignSelect id=id.clone() reference value=Signal::derive(value.clone()) set/> }.into_any()
        }
        Input::Json | Input::LongText => {
            let set = set.clone();
            view! {
                <textarea id=id.clone() rows="4" prop:value=value.clone()
                    on:input=move |ev| set(event_target_value(&ev))>{value.clone()}</textarea>
            }
            .into_any()
        }
        Input::Integer | Input::Number | Input::Text | Input::List => {
            let set = set.clone();
            view! {
                <input id=id.clone() type="text" prop:value=value.clone() value=value.clone()
                    on:input=move |ev| set(event_target_value(&ev))/>
            }
            .into_any()
        }
    };
    let has_error = {
        let error = error.clone();
        move || error().is_some()
    };
    view! {
        <div class="field" class:has-error=has_error data-field=name.clone()>
            <label for=id>
                {name.replace('_', " ")}
                {required.then(|| view! { <span class="required" aria-label="required">" *"</span> })}
                {hint.map(|h| view! { <span class="hint">{format!(" ({h})")}</span> })}
            </label>
            {control}
            {move || error().map(|e| view! { <p class="field-error" id=error_id.clone()>{e}</p> })}
        </div>
    }
}

/// A foreign key: a select among the referenced collection's entities (the first 1000).
#[component]
fn ForeignSelect(
    id: String,
    reference: String,
    value: Signal<String>,
    set: impl Fn(String) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let options = Resource::new(move || reference.clone(), |reference| admin_get(format!("/{reference}?size=1000")));
    view! {
        <Suspense fallback=|| view! { <span>"Loading…"</span> }>
            {
                let id = id.clone();
                let set = set.clone();
                move || {
                    let id = id.clone();
                    let set = set.clone();
                    Suspend::new(async move {
                        let entities: Vec<Value> = options
                            .await
                            .ok()
                            .and_then(|reply| reply.body.get("data").and_then(Value::as_array).cloned())
                            .unwrap_or_default();
                        view! {
                            <select id=id on:change=move |ev| set(event_target_value(&ev)) prop:value=value>
                                <option value="">"—"</option>
                                {entities.into_iter().map(|entity| {
                                    let key = entity.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                                    let label = entity_label(&entity);
                                    let selected = { let key = key.clone(); move || value.get() == key };
                                    view! { <option value=key selected=selected>{label}</option> }
                                }).collect_view()}
                            </select>
                        }
                    })
                }
            }
        </Suspense>
    }
}
