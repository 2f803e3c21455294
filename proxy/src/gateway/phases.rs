//! The plugin phases around the proxying (`proxy.md` §11.1): rewrite before routing, access after it, and a
//! response body that runs body_filter per chunk and the log phase once the exchange is over.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Response;
use http_body_util::BodyExt;

use crate::errors::{BoxError, GatewayBody};
use crate::plugins::{Access, Flow, Instance, PluginSet, RequestCtx, ResponseSummary, RoutePlan, fail_closed};

/// The rewrite phase of the global configurations; `Some` when one answered.
pub(super) fn rewrite(cx: &mut RequestCtx, selected: &[Arc<Instance>]) -> Option<Response<GatewayBody>> {
    for instance in selected {
        let flow = match instance.handler() {
            Ok(handler) => handler.rewrite(cx),
            Err(_) => Flow::Respond(fail_closed()),
        };
        if let Flow::Respond(response) = flow {
            return Some(response);
        }
    }
    None
}

/// The access phase: each plugin name in priority order takes its configuration for the route, service
/// and consumer known at that moment (`proxy.md` §11.1, §11.3; `plan` is the route's, worked out with the
/// snapshot); `Some` when one answered. As in Kong, the plugins after one that answered are still resolved
/// (their access handlers skipped), so their response and log phases run for the answer too.
pub(super) async fn access(
    cx: &mut RequestCtx,
    plugins: &PluginSet,
    plan: &RoutePlan,
    selected: &mut Vec<Arc<Instance>>,
) -> Option<Response<GatewayBody>> {
    selected.clear();
    selected.reserve(plan.len());
    let (route, service) = (cx.route_id(), cx.service_id());
    let mut answer = None;
    for step in plan.steps() {
        let Some(instance) = step.select(plugins, route, service, cx.consumer_id(), cx.protocol) else { continue };
        selected.push(instance.clone());
        if answer.is_some() {
            continue;
        }
        let flow = match instance.handler() {
            Ok(handler) => {
                if handler.reads_request_headers() {
                    cx.settle_headers();
                }
                match handler.access(cx) {
                    Access::Done(flow) => flow,
                    Access::Later(future) => future.await,
                }
            }
            Err(error) => {
                tracing::error!(plugin = %instance.id, name = instance.def.name, error, "invalid plugin configuration");
                Flow::Respond(fail_closed())
            }
        };
        if let Flow::Respond(response) = flow {
            answer = Some(response);
        }
    }
    answer
}

/// A response body that runs the selected plugins' body_filter per chunk and their log phase once, when the
/// body is finished or dropped (the client went away).
pub(super) struct LoggedBody {
    inner: GatewayBody,
    state: Option<Box<LogState>>,
    filters_body: bool,
}

struct LogState {
    cx: RequestCtx,
    selected: Vec<Arc<Instance>>,
    summary: ResponseSummary,
}

impl LoggedBody {
    pub(super) fn wrap(
        inner: GatewayBody,
        cx: RequestCtx,
        selected: Vec<Arc<Instance>>,
        summary: ResponseSummary,
    ) -> GatewayBody {
        let filters_body = selected.iter().any(|i| i.handler().is_ok_and(|h| h.filters_body()));
        LoggedBody { inner, state: Some(Box::new(LogState { cx, selected, summary })), filters_body }.boxed()
    }

    fn log(&mut self) {
        if let Some(mut state) = self.state.take() {
            state.summary.latency = state.cx.started.elapsed();
            for instance in &state.selected {
                if let Ok(handler) = instance.handler() {
                    handler.log(&state.cx, &state.summary);
                }
            }
        }
    }

    fn filter(&mut self, chunk: &mut bytes::Bytes, eof: bool) {
        if let Some(state) = self.state.as_deref_mut()
            && self.filters_body
        {
            for instance in &state.selected {
                if let Ok(handler) = instance.handler() {
                    handler.body_filter(&mut state.cx, chunk, eof);
                }
            }
        }
    }
}

impl hyper::body::Body for LoggedBody {
    type Data = bytes::Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let frame = match frame.into_data() {
                    Ok(mut data) => {
                        this.filter(&mut data, false);
                        if let Some(state) = this.state.as_deref_mut() {
                            state.summary.body_bytes += data.len() as u64;
                        }
                        hyper::body::Frame::data(data)
                    }
                    Err(frame) => frame,
                };
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(None) => {
                let mut last = bytes::Bytes::new();
                this.filter(&mut last, true);
                this.log();
                if last.is_empty() { Poll::Ready(None) } else { Poll::Ready(Some(Ok(hyper::body::Frame::data(last)))) }
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream() && !self.filters_body
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        if self.filters_body { hyper::body::SizeHint::default() } else { self.inner.size_hint() }
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        self.log();
    }
}
