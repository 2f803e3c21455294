//! `gluu-metrics` (`gluu-plugins.md` §12), log phase: counts each request that resolved to a service, the
//! Gluu plugins' authentications and grants, and the request latency per service and route.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::{Plugin, RequestCtx, ResponseSummary, settings};
use crate::metrics::{Family, Metrics};

const ENDPOINT: Family = Family { name: "gluu_endpoint_method", help: "Endpoint call per service in Kong" };
const OAUTH_AUTHENTICATED: Family = Family {
    name: "gluu_oauth_client_authenticated",
    help: "Client(Consumer) OAuth authenticated per service in Kong",
};
const OAUTH_GRANTED: Family =
    Family { name: "gluu_oauth_client_granted", help: "Client(Consumer) OAuth granted per service in Kong" };
const UMA_AUTHENTICATED: Family =
    Family { name: "gluu_uma_client_authenticated", help: "Client(Consumer) UMA authenticated per service in Kong" };
const UMA_GRANTED: Family =
    Family { name: "gluu_uma_client_granted", help: "Client(Consumer) UMA granted per service in Kong" };
const OIDC_AUTHENTICATED: Family =
    Family { name: "gluu_openid_connect_users_authenticated", help: "User authenticated per service in Kong" };
const OPA_GRANTED: Family =
    Family { name: "gluu_opa_client_granted", help: "User or Client(Consumer) OPA granted per service in Kong" };
const TOTAL_AUTHENTICATED: Family = Family {
    name: "gluu_total_client_authenticated",
    help: "Total authentication(OAuth, UMA and OpenID Connect) in Kong",
};
const TOTAL_GRANTED: Family =
    Family { name: "gluu_total_client_granted", help: "Total authorization(OAuth, UMA and OPA PEP) in Kong" };
const ERRORS: Family = Family { name: "gluu_nginx_metric_errors_total", help: "Number of nginx-lua-prometheus errors" };
/// Requests per service, route and status: also what the admin UI's dashboard reads its traffic from.
pub const REQUESTS: Family =
    Family { name: "gluu_requests", help: "Requests per service, route and status in Gatehouse" };
const LATENCY: Family = Family {
    name: "gluu_request_latency_ms",
    help: "Request latency in milliseconds per service and route in Gatehouse",
};

/// Declares the label-less families so a fresh node shows them at zero.
pub fn declare(metrics: &Metrics) {
    for family in [TOTAL_AUTHENTICATED, TOTAL_GRANTED, ERRORS] {
        metrics.declare(family);
    }
}

#[derive(Deserialize)]
struct Settings {
    endpoint_label: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EndpointLabel {
    Path,
    Pattern,
    None,
}

pub struct GluuMetrics {
    endpoint_label: EndpointLabel,
    metrics: Arc<Metrics>,
}

impl GluuMetrics {
    pub fn new(config: &Value, metrics: Arc<Metrics>) -> Result<GluuMetrics, String> {
        let s: Settings = settings(config)?;
        declare(&metrics);
        let endpoint_label = match s.endpoint_label.as_deref() {
            Some("pattern") => EndpointLabel::Pattern,
            Some("none") => EndpointLabel::None,
            _ => EndpointLabel::Path,
        };
        Ok(GluuMetrics { endpoint_label, metrics })
    }
}

impl Plugin for GluuMetrics {
    fn writes_forwarding_headers(&self) -> bool {
        false
    }

    fn log(&self, cx: &RequestCtx, summary: &ResponseSummary) {
        let Some(service) = &cx.service else { return };
        let service_label = service.name.clone().unwrap_or_else(|| service.host.clone());
        let route_label = cx.route().map(|r| r.name.clone().unwrap_or_else(|| r.id.to_string())).unwrap_or_default();
        let endpoint = match self.endpoint_label {
            EndpointLabel::Path => {
                cx.request.uri.path().split(char::is_whitespace).next().unwrap_or_default().to_string()
            }
            EndpointLabel::Pattern => {
                cx.route().and_then(|r| r.paths.as_ref()).and_then(|p| p.first().cloned()).unwrap_or_default()
            }
            EndpointLabel::None => String::new(),
        };
        let m = &self.metrics;
        m.increment(
            ENDPOINT,
            vec![("endpoint", endpoint), ("method", cx.request.method.to_string()), ("service", service_label.clone())],
        );
        m.increment(
            REQUESTS,
            vec![
                ("service", service_label.clone()),
                ("route", route_label.clone()),
                ("status", summary.status.to_string()),
            ],
        );
        m.observe_ms(
            LATENCY,
            vec![("service", service_label.clone()), ("route", route_label)],
            summary.latency.as_secs_f64() * 1000.0,
        );
        let Some(flags) = cx.gluu.as_ref() else { return };
        let client = cx.credential.as_ref().map(|c| c.id.clone()).unwrap_or_default();
        let custom_id = cx
            .consumer
            .as_ref()
            .and_then(|c| c.custom_id.clone())
            .unwrap_or_else(|| "openid_connect_authentication".into());
        let by_client =
            |family| m.increment(family, vec![("consumer", client.clone()), ("service", service_label.clone())]);
        let by_custom_id =
            |family| m.increment(family, vec![("consumer", custom_id.clone()), ("service", service_label.clone())]);
        if flags.oauth_client_authenticated {
            by_client(OAUTH_AUTHENTICATED);
        }
        if flags.uma_client_authenticated {
            by_client(UMA_AUTHENTICATED);
        }
        if flags.openid_connect_users_authenticated {
            m.increment(OIDC_AUTHENTICATED, vec![("service", service_label.clone())]);
        }
        if flags.oauth_client_authenticated
            || flags.uma_client_authenticated
            || flags.openid_connect_users_authenticated
        {
            m.increment(TOTAL_AUTHENTICATED, Vec::new());
        }
        if flags.oauth_client_granted {
            by_client(OAUTH_GRANTED);
        }
        if flags.uma_client_granted {
            by_custom_id(UMA_GRANTED);
        }
        if flags.opa_client_granted {
            by_custom_id(OPA_GRANTED);
        }
        if flags.oauth_client_granted || flags.uma_client_granted || flags.opa_client_granted {
            m.increment(TOTAL_GRANTED, Vec::new());
        }
    }
}
