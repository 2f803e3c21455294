use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="panel">
            <h1>"Not found"</h1>
            <p>"There is no page here. " <a href="/">"Back to the dashboard"</a></p>
        </section>
    }
}
