//! The declarative configuration (`/config`): a Kong declarative file (YAML or JSON) chosen or pasted here is
//! posted to the Admin API's `POST /config`, which replaces the whole configuration; its answer is shown.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;

use crate::admin::{ApiReply, admin_write};

#[component]
pub fn ConfigPage() -> impl IntoView {
    let text = RwSignal::new(String::new());
    let outcome = RwSignal::new(None::<ApiReply>);
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let import = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let body = json!({"config": text.get_untracked()}).to_string();
        busy.set(true);
        spawn_local(async move {
            let result = admin_write("POST".into(), "/config".into(), body).await;
            busy.set(false);
            match result {
                Ok(reply) => {
                    failure.set(None);
                    outcome.set(Some(reply));
                }
                Err(error) => failure.set(Some(error.to_string())),
            }
        });
    };
    view! {
        <section class="config" data-hydrated=move || hydrated.get().to_string()>
            <div class="page-title">
                <h1>"Configuration"</h1>
                <a class="button" rel="external" download="gatehouse.yaml" href="/config/export.yaml">"Export"</a>
            </div>
            <p class="hint">
                "Export downloads the whole configuration as a Kong declarative file, without secret fields (they never \
                reach the browser); "<code>"gatehouse config db_export"</code>" on the node writes a complete one."
            </p>
            <form class="panel config-import" on:submit=import>
                <h2>"Import a declarative configuration"</h2>
                <p>"The file replaces the whole configuration: entities it does not list are removed."</p>
                <label for="config-file">"File (YAML or JSON)"</label>
                <input id="config-file" type="file" accept=".yaml,.yml,.json,application/json,text/yaml"
                    on:change=move |ev| read_file(ev, text)/>
                <label for="config-text">"Contents"</label>
                <textarea id="config-text" rows="14" prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                <div class="actions">
                    <button type="submit" disabled=move || busy.get() || !hydrated.get() || text.read().trim().is_empty()>
                        "Import"
                    </button>
                </div>
            </form>
            <div class="import-outcome" aria-live="polite">
                {move || failure.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                {move || outcome.get().map(|reply| view! { <Outcome reply/> })}
            </div>
        </section>
    }
}

#[component]
fn Outcome(reply: ApiReply) -> impl IntoView {
    if !reply.is_success() {
        let errors = reply.field_errors();
        return view! {
            <div class="error" role="alert">
                <p class="import-error">{reply.message()}</p>
                <ul>{errors.into_iter().map(|(field, e)| view! { <li><code>{field}</code>": "{e}</li> }).collect_view()}</ul>
            </div>
        }
        .into_any();
    }
    let counts: Vec<(String, usize)> = reply
        .body
        .as_object()
        .map(|kinds| kinds.iter().map(|(kind, list)| (kind.clone(), list.as_array().map_or(0, Vec::len))).collect())
        .unwrap_or_default();
    let summary = match counts.is_empty() {
        true => "Imported: the configuration is now empty.".to_string(),
        false => format!(
            "Imported: {}.",
            counts.iter().map(|(kind, n)| format!("{n} {kind}")).collect::<Vec<_>>().join(", ")
        ),
    };
    view! { <p class="import-done">{summary}</p> }.into_any()
}

/// Puts the chosen file's text into the form (in the browser; the server never sees the file until Import).
#[cfg(feature = "hydrate")]
fn read_file(event: leptos::ev::Event, text: RwSignal<String>) {
    use leptos::wasm_bindgen::JsCast;
    let Some(input) = event.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
    let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
    spawn_local(async move {
        if let Ok(contents) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
            text.set(contents.as_string().unwrap_or_default());
        }
    });
}

#[cfg(not(feature = "hydrate"))]
fn read_file(_event: leptos::ev::Event, _text: RwSignal<String>) {}
