//! `request-transformer` (`proxy.md` §12.5): rewrites the upstream request. Order: `replace.uri`,
//! `http_method`, headers, body, query string; within each, remove → rename → replace → add → append.

use std::collections::HashMap;

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Access, Flow, Plugin, RequestCtx, fail_closed, settings};
use crate::model::plugins::request_transformer::{Template, TemplateEnv};

/// The largest request body the plugin buffers to transform.
const BODY_LIMIT: usize = 8 * 1024 * 1024;

#[derive(Deserialize, Default)]
struct Lists {
    #[serde(default)]
    headers: Vec<String>,
    #[serde(default)]
    querystring: Vec<String>,
    #[serde(default)]
    body: Vec<String>,
}

#[derive(Deserialize)]
struct ReplaceLists {
    #[serde(flatten)]
    lists: Lists,
    uri: Option<String>,
}

#[derive(Deserialize)]
struct Settings {
    http_method: Option<String>,
    remove: Lists,
    rename: Lists,
    replace: ReplaceLists,
    add: Lists,
    append: Lists,
}

/// The operations on one target (headers, query string or body).
#[derive(Default)]
struct Ops {
    remove: Vec<String>,
    rename: Vec<(String, String)>,
    replace: Vec<(String, Template)>,
    add: Vec<(String, Template)>,
    append: Vec<(String, Template)>,
}

impl Ops {
    fn is_empty(&self) -> bool {
        self.remove.is_empty()
            && self.rename.is_empty()
            && self.replace.is_empty()
            && self.add.is_empty()
            && self.append.is_empty()
    }
}

pub struct RequestTransformer {
    uri: Option<Template>,
    method: Option<Method>,
    headers: Ops,
    querystring: Ops,
    body: Ops,
}

fn pairs(list: &[String]) -> Result<Vec<(String, Template)>, String> {
    list.iter()
        .map(|entry| {
            let (name, value) = entry.split_once(':').ok_or_else(|| format!("invalid value: {entry}"))?;
            Ok((name.to_string(), Template::parse(value)?))
        })
        .collect()
}

fn renames(list: &[String]) -> Result<Vec<(String, String)>, String> {
    list.iter()
        .map(|entry| {
            let (old, new) = entry.split_once(':').ok_or_else(|| format!("invalid value: {entry}"))?;
            Ok((old.to_string(), new.to_string()))
        })
        .collect()
}

impl RequestTransformer {
    pub fn new(config: &Value) -> Result<RequestTransformer, String> {
        let s: Settings = settings(config)?;
        let ops = |pick: fn(&Lists) -> &Vec<String>| -> Result<Ops, String> {
            Ok(Ops {
                remove: pick(&s.remove).clone(),
                rename: renames(pick(&s.rename))?,
                replace: pairs(pick(&s.replace.lists))?,
                add: pairs(pick(&s.add))?,
                append: pairs(pick(&s.append))?,
            })
        };
        let mut headers = ops(|l| &l.headers)?;
        for name in &mut headers.remove {
            *name = name.to_ascii_lowercase();
        }
        Ok(RequestTransformer {
            uri: s.replace.uri.as_deref().map(Template::parse).transpose()?,
            method: s.http_method.as_deref().map(|m| m.parse::<Method>().map_err(|e| e.to_string())).transpose()?,
            querystring: ops(|l| &l.querystring)?,
            body: ops(|l| &l.body)?,
            headers,
        })
    }

    async fn transform(&self, cx: &mut RequestCtx) -> Flow {
        let env = Env::capture(cx);
        if let Some(uri) = &self.uri {
            cx.upstream_path = Some(uri.render(&env));
        }
        let mut query: Vec<(String, String)> =
            form_urlencoded::parse(cx.request.uri.query().unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        let mut query_changed = false;
        if let Some(method) = &self.method {
            if matches!(*method, Method::GET | Method::HEAD | Method::TRACE) && is_form(cx) {
                // The form parameters move to the query string.
                match cx.read_body(BODY_LIMIT).await {
                    Ok(body) => {
                        query.extend(form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())));
                        query_changed = true;
                        cx.set_body(Bytes::new());
                    }
                    Err(_) => return Flow::Respond(fail_closed()),
                }
            }
            cx.request.method = method.clone();
        }
        self.transform_headers(cx, &env);
        if !self.body.is_empty()
            && let Err(status) = self.transform_body(cx, &env).await
        {
            return Flow::Respond(crate::errors::json_exit(status, &crate::errors::default_message(status)));
        }
        if !self.querystring.is_empty() {
            apply_pairs(&mut query, &self.querystring, &env);
            query_changed = true;
        }
        if query_changed {
            let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(&query).finish();
            let path = cx.request.uri.path().to_string();
            let uri = if encoded.is_empty() { path } else { format!("{path}?{encoded}") };
            match uri.parse() {
                Ok(uri) => cx.request.uri = uri,
                Err(_) => return Flow::Respond(fail_closed()),
            }
        }
        Flow::Continue
    }

    fn transform_headers(&self, cx: &mut RequestCtx, env: &Env) {
        let headers = &mut cx.request.headers;
        let ops = &self.headers;
        for name in &ops.remove {
            headers.remove(name.as_str());
        }
        for (old, new) in &ops.rename {
            let (Ok(old), Ok(new)) = (HeaderName::try_from(old.as_str()), HeaderName::try_from(new.as_str())) else {
                continue;
            };
            let values: Vec<HeaderValue> = headers.get_all(&old).iter().cloned().collect();
            if values.is_empty() {
                continue;
            }
            headers.remove(&old);
            for value in values {
                headers.append(new.clone(), value);
            }
        }
        let rendered = |(name, template): &(String, Template)| {
            Some((HeaderName::try_from(name.as_str()).ok()?, HeaderValue::from_str(&template.render(env)).ok()?))
        };
        for (name, value) in ops.replace.iter().filter_map(rendered) {
            if headers.contains_key(&name) || name == header::HOST {
                headers.insert(name, value);
            }
        }
        for (name, value) in ops.add.iter().filter_map(rendered) {
            if !headers.contains_key(&name) && name != header::HOST {
                headers.insert(name, value);
            }
        }
        for (name, value) in ops.append.iter().filter_map(rendered) {
            if name != header::HOST {
                headers.append(name, value);
            }
        }
    }

    async fn transform_body(&self, cx: &mut RequestCtx, env: &Env) -> Result<(), StatusCode> {
        let content_type = cx.header("content-type").unwrap_or_default().to_ascii_lowercase();
        let json = content_type.starts_with("application/json");
        if !json && !content_type.starts_with("application/x-www-form-urlencoded") {
            // multipart bodies are passed on untouched (Kong cannot append to them either).
            return Ok(());
        }
        let body = cx.read_body(BODY_LIMIT).await.map_err(|_| StatusCode::PAYLOAD_TOO_LARGE)?;
        let changed = if json {
            let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(&body) else {
                return Ok(()); // not a JSON object: left as it is
            };
            let ops = &self.body;
            if !body.is_empty() {
                for name in &ops.remove {
                    object.remove(name);
                }
                for (old, new) in &ops.rename {
                    if let Some(value) = object.remove(old) {
                        object.insert(new.clone(), value);
                    }
                }
                for (name, template) in &ops.replace {
                    if object.contains_key(name) {
                        object.insert(name.clone(), Value::String(template.render(env)));
                    }
                }
            }
            for (name, template) in &ops.add {
                object.entry(name.clone()).or_insert_with(|| Value::String(template.render(env)));
            }
            for (name, template) in &ops.append {
                append_json(&mut object, name, Value::String(template.render(env)));
            }
            Bytes::from(serde_json::to_vec(&object).unwrap_or_default())
        } else {
            let mut form: Vec<(String, String)> =
                form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            apply_pairs(&mut form, &self.body, env);
            Bytes::from(form_urlencoded::Serializer::new(String::new()).extend_pairs(&form).finish())
        };
        cx.set_body(changed);
        Ok(())
    }
}

fn is_form(cx: &RequestCtx) -> bool {
    cx.header("content-type").is_some_and(|t| t.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
}

fn append_json(object: &mut Map<String, Value>, name: &str, value: Value) {
    match object.get_mut(name) {
        None => {
            object.insert(name.to_string(), value);
        }
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}

/// The operations on name/value pairs (query string, form body).
fn apply_pairs(pairs: &mut Vec<(String, String)>, ops: &Ops, env: &Env) {
    pairs.retain(|(name, _)| !ops.remove.contains(name));
    for (old, new) in &ops.rename {
        for pair in pairs.iter_mut().filter(|(name, _)| name == old) {
            pair.0 = new.clone();
        }
    }
    for (name, template) in &ops.replace {
        if pairs.iter().any(|(n, _)| n == name) {
            let value = template.render(env);
            pairs.retain(|(n, _)| n != name);
            pairs.push((name.clone(), value));
        }
    }
    for (name, template) in &ops.add {
        if !pairs.iter().any(|(n, _)| n == name) {
            pairs.push((name.clone(), template.render(env)));
        }
    }
    for (name, template) in &ops.append {
        pairs.push((name.clone(), template.render(env)));
    }
}

/// What templates read: the request as it arrived at this plugin.
struct Env {
    headers: HashMap<String, Vec<String>>,
    query: HashMap<String, Vec<String>>,
    captures: Vec<Option<String>>,
    named: Vec<(String, String)>,
}

impl Env {
    fn capture(cx: &RequestCtx) -> Env {
        let mut headers: HashMap<String, Vec<String>> = HashMap::new();
        for (name, value) in &cx.request.headers {
            if let Ok(value) = value.to_str() {
                headers.entry(name.as_str().to_string()).or_default().push(value.to_string());
            }
        }
        let mut query: HashMap<String, Vec<String>> = HashMap::new();
        for (name, value) in form_urlencoded::parse(cx.request.uri.query().unwrap_or_default().as_bytes()) {
            query.entry(name.into_owned()).or_default().push(value.into_owned());
        }
        Env { headers, query, captures: cx.uri_captures.clone(), named: cx.named_captures.clone() }
    }
}

impl TemplateEnv for Env {
    fn lookup(&self, root: &str, keys: &[String]) -> Option<String> {
        let [key] = keys else { return None };
        match root {
            "headers" => self.headers.get(&key.to_ascii_lowercase().replace('_', "-")).map(|v| v.join(", ")),
            "query_params" => self.query.get(key).map(|v| v.join(", ")),
            "uri_captures" => match key.parse::<usize>() {
                Ok(index) => self.captures.get(index).cloned().flatten(),
                Err(_) => self.named.iter().find(|(name, _)| name == key).map(|(_, v)| v.clone()),
            },
            _ => None,
        }
    }
}

impl Plugin for RequestTransformer {
    fn access<'a>(&'a self, cx: &'a mut RequestCtx) -> Access<'a> {
        Access::Later(Box::pin(self.transform(cx)))
    }
}
