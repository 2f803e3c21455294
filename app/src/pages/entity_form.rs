//! Create and edit any configuration entity (`/services/new`, `/services/{id}`): the form is generated from
//! `GET /schemas/{collection}`, written through the Admin API, and shows the Admin API's schema violations next
//! to the fields. Deleting asks for a confirmation step first.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use serde_json::Value;

use crate::admin::{ApiReply, admin_get, admin_write};
use crate::collections::{self, Collection, entity_label};
use crate::components::field::Field;
use crate::pages::entity_list::encode;
use crate::schema::{self, FieldSpec, Input};

#[component]
pub fn EntityFormPage() -> impl IntoView {
    let params = use_params_map();
    let key = move || {
        let params = params.read();
        (params.get("collection").unwrap_or_default(), params.get("id").unwrap_or_default())
    };
    let query = use_query_map();
    let plugin_name = move || query.read().get("name").unwrap_or_default();
    let loaded = Resource::new(
        move || (key(), plugin_name()),
        |((collection, id), plugin_name)| async move {
            if collections::find(&collection).is_none() {
                return Ok(None);
            }
            let entity = match id.as_str() {
                "new" => None,
                id => Some(admin_get(format!("/{collection}/{}", encode(id))).await?),
            };
            let (schema_path, enabled) = match collection.as_str() {
                // A plugin's form is its own schema, `config` included; a new one first asks which plugin.
                "plugins" => {
                    let name = match &entity {
                        Some(reply) => reply.body["name"].as_str().unwrap_or_default().to_string(),
                        None => plugin_name,
                    };
                    let enabled = Some(admin_get("/plugins/enabled".to_string()).await?);
                    match name.as_str() {
                        "" => (None, enabled),
                        name => (Some(format!("/schemas/plugins/{}", encode(name))), enabled),
                    }
                }
                _ => (Some(format!("/schemas/{collection}")), None),
            };
            let schema = match schema_path {
                Some(path) => Some(admin_get(path).await?),
                None => None,
            };
            Ok::<_, ServerFnError>(Some((schema, entity, enabled)))
        },
    );
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (collection_name, id) = key();
                match (collections::find(&collection_name), loaded.await) {
                    (Some(_), Ok(Some((None, _, enabled)))) => {
                        view! { <PluginPicker enabled/> }.into_any()
                    }
                    (Some(collection), Ok(Some((Some(schema), entity, enabled)))) => {
                        match entity {
                            Some(reply) if !reply.is_success() => {
                                view! { <p class="error" role="alert">{reply.message()}</p> }.into_any()
                            }
                            entity => {
                                let mut specs = schema::fields(&schema.body);
                                if let Some(enabled) = enabled {
                                    offer_enabled_plugins(&mut specs, &enabled);
                                }
                                let entity = entity.map(|reply| reply.body);
                                view! { <EntityForm collection specs entity id/> }.into_any()
                            }
                        }
                    }
                    (_, Err(error)) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                    _ => view! { <p class="error" role="alert">"There is no such collection."</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A new plugin starts with its name: a plain GET form, so the page comes back with that plugin's schema.
#[component]
fn PluginPicker(enabled: Option<ApiReply>) -> impl IntoView {
    let query = use_query_map();
    let names: Vec<String> = enabled
        .and_then(|reply| reply.body["enabled_plugins"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    // The scope a nested list asked for (`?service=...`) goes along.
    let scope: Vec<(String, String)> = ["service", "route", "consumer"]
        .iter()
        .filter_map(|key| query.read_untracked().get(key).map(|value| (key.to_string(), value)))
        .collect();
    view! {
        <section class="entity-form plugin-picker">
            <div class="page-title"><h1>"New plugin"</h1><a href="/plugins">"All plugins"</a></div>
            <form method="get" action="/plugins/new">
                <div class="field">
                    <label for="plugin-name">"Plugin"</label>
                    <select id="plugin-name" name="name">
                        {names.into_iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view()}
                    </select>
                </div>
                {scope.into_iter().map(|(k, v)| view! { <input type="hidden" name=k value=v/> }).collect_view()}
                <div class="actions"><button type="submit">"Next"</button></div>
            </form>
        </section>
    }
}

/// A plugin's `name` is a choice among the plugins this build ships.
fn offer_enabled_plugins(specs: &mut [FieldSpec], enabled: &ApiReply) {
    let names: Vec<String> = enabled.body["enabled_plugins"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if let Some(spec) = specs.iter_mut().find(|spec| spec.name == "name") {
        spec.input = Input::Choice(names);
    }
}

#[component]
fn EntityForm(
    collection: &'static Collection,
    specs: Vec<FieldSpec>,
    entity: Option<Value>,
    id: String,
) -> impl IntoView {
    let query = use_query_map();
    let editing = entity.is_some();
    // A consumer's page also offers an OP client for it (its custom_id).
    let consumer_client = entity
        .as_ref()
        .filter(|_| collection.name == "consumers")
        .map(|e| (e["id"].as_str().unwrap_or_default().to_string(), e["custom_id"].as_str().map(str::to_string)));
    let initial: BTreeMap<String, String> = specs
        .iter()
        .map(|spec| {
            let text = match &entity {
                Some(entity) => spec.to_text(schema::value_at(entity, &spec.name)),
                None => query.read_untracked().get(&spec.name).unwrap_or_else(|| spec.to_text(spec.default.as_ref())),
            };
            (spec.name.clone(), text)
        })
        .collect();
    let texts = RwSignal::new(initial);
    let errors = RwSignal::new(BTreeMap::<String, String>::new());
    let message = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let navigate = use_navigate();
    let list_href = format!("/{}", collection.name);
    let heading = match &entity {
        Some(entity) => format!("{} {}", collections::singular(collection.name), entity_label(entity)),
        None => format!("New {}", collections::singular(collection.name)),
    };
    let entity_path = format!("/{}/{}", collection.name, encode(&id));

    let specs_for_submit = specs.clone();
    let submit = {
        let navigate = navigate.clone();
        let list_href = list_href.clone();
        let entity_path = entity_path.clone();
        move |event: leptos::ev::SubmitEvent| {
            event.prevent_default();
            let body = match schema::body(&specs_for_submit, &texts.get_untracked(), editing) {
                Ok(body) => body,
                Err(field_errors) => {
                    errors.set(field_errors);
                    message.set(Some("Some fields cannot be read.".into()));
                    return;
                }
            };
            let parent = collection.under.map(|key| {
                let id = texts.read_untracked().get(key).cloned().unwrap_or_default();
                format!("/{key}s/{}/{}", encode(&id), collection.name)
            });
            let (method, path) = match (&parent, editing) {
                (_, true) => ("PATCH", entity_path.clone()),
                (Some(nested), false) => ("POST", nested.clone()),
                (None, false) => ("POST", format!("/{}", collection.name)),
            };
            let navigate = navigate.clone();
            let list_href = parent.unwrap_or_else(|| list_href.clone());
            busy.set(true);
            spawn_local(async move {
                let result = admin_write(method.to_string(), path, body.to_string()).await;
                busy.set(false);
                match result {
                    Ok(reply) if reply.is_success() => navigate(&list_href, Default::default()),
                    Ok(reply) => {
                        errors.set(reply.field_errors());
                        message.set(Some(reply.message()));
                    }
                    Err(error) => message.set(Some(error.to_string())),
                }
            });
        }
    };
    let delete = {
        let navigate = navigate.clone();
        let list_href = list_href.clone();
        move |_| {
            let navigate = navigate.clone();
            let list_href = list_href.clone();
            let path = entity_path.clone();
            busy.set(true);
            spawn_local(async move {
                let result = admin_write("DELETE".into(), path, String::new()).await;
                busy.set(false);
                confirming.set(false);
                match result {
                    Ok(reply) if reply.is_success() => navigate(&list_href, Default::default()),
                    Ok(reply) => message.set(Some(reply.message())),
                    Err(error) => message.set(Some(error.to_string())),
                }
            });
        }
    };
    let children = if editing { collection.children } else { &[] };
    view! {
        <section class="entity-form" data-collection=collection.name data-hydrated=move || hydrated.get().to_string()>
            <div class="page-title">
                <h1>{heading}</h1>
                <a href=list_href.clone()>{format!("All {}", collection.label.to_lowercase())}</a>
                {children.iter().map(|child| view! {
                    <a href=format!("/{}/{}/{child}", collection.name, encode(&id))>{format!("Its {child}")}</a>
                }).collect_view()}
                // The Gluu OAuth editor (gluu-oauth-auth + gluu-oauth-pep) of this service or route.
                {(editing && matches!(collection.name, "services" | "routes")).then(|| view! {
                    <a class="gluu-link" href=format!("/gluu/{}/{}", collection.name, encode(&id))>"Gluu OAuth"</a>
                })}
                {editing.then(|| view! {
                    <a class="history" href=format!("/audit?entity_kind={}&entity_id={}", collection.name, encode(&id))>
                        "History"
                    </a>
                })}
            </div>
            <form on:submit=submit novalidate>
                {move || message.get().map(|m| view! { <p class="error form-error" role="alert">{m}</p> })}
                {specs.into_iter().map(|spec| view! { <Field spec texts errors/> }).collect_view()}
                <div class="actions">
                    <button type="submit" disabled=move || busy.get() || !hydrated.get()>
                        {if editing { "Save" } else { "Create" }}
                    </button>
                    <a href=list_href>"Cancel"</a>
                    {editing.then(|| view! {
                        <button type="button" class="danger" disabled=move || busy.get() || !hydrated.get()
                            on:click=move |_| confirming.set(true)>"Delete"</button>
                    })}
                </div>
            </form>
            {move || confirming.get().then(|| view! {
                <div class="confirm" role="alertdialog" aria-labelledby="confirm-text">
                    <p id="confirm-text">"Delete this entity? This cannot be undone."</p>
                    <button type="button" class="danger" on:click=delete.clone()>"Yes, delete"</button>
                    <button type="button" class="secondary" on:click=move |_| confirming.set(false)>"Keep it"</button>
                </div>
            })}
            {consumer_client.map(|(consumer, custom_id)| view! {
                <crate::gluu::consumer_client::ConsumerClientPanel consumer custom_id/>
            })}
        </section>
    }
}
