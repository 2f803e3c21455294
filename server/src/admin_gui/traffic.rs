//! The dashboard's traffic per service, from gluu-metrics' `gluu_requests` counters: totals since the node
//! started, and rates over the last minute from samples taken every ten seconds.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use app::dashboard::ServiceTraffic;
use proxy::metrics::Metrics;

const EVERY: Duration = Duration::from_secs(10);
const WINDOW: Duration = Duration::from_secs(60);

/// Requests and 5xx answers per service.
type Totals = BTreeMap<String, (u64, u64)>;

pub struct TrafficSampler {
    metrics: Arc<Metrics>,
    started: Instant,
    samples: Mutex<VecDeque<(Instant, Totals)>>,
}

impl TrafficSampler {
    /// Samples `metrics` every ten seconds for as long as the sampler is in use.
    pub fn start(metrics: Arc<Metrics>) -> Arc<TrafficSampler> {
        let sampler =
            Arc::new(TrafficSampler { metrics, started: Instant::now(), samples: Mutex::new(VecDeque::new()) });
        let weak: Weak<TrafficSampler> = Arc::downgrade(&sampler);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(EVERY);
            loop {
                tick.tick().await;
                let Some(sampler) = weak.upgrade() else { return };
                sampler.sample();
            }
        });
        sampler
    }

    fn sample(&self) {
        let now = Instant::now();
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.push_back((now, totals(&self.metrics)));
        while samples.front().is_some_and(|(at, _)| now.duration_since(*at) > WINDOW) {
            samples.pop_front();
        }
    }

    /// Each service's traffic; `None` when gluu-metrics has counted nothing (it is off, or nothing came yet).
    pub fn traffic(&self) -> Option<Vec<ServiceTraffic>> {
        let now = totals(&self.metrics);
        if now.is_empty() {
            return None;
        }
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let (since, before) = match samples.front() {
            Some((at, totals)) if at.elapsed() >= EVERY / 2 => (*at, totals.clone()),
            _ => (self.started, Totals::new()),
        };
        let seconds = since.elapsed().as_secs_f64().max(1.0);
        Some(
            now.into_iter()
                .map(|(service, (requests, errors))| {
                    let (old_requests, old_errors) = before.get(&service).copied().unwrap_or_default();
                    ServiceTraffic {
                        service,
                        requests,
                        errors,
                        requests_per_second: requests.saturating_sub(old_requests) as f64 / seconds,
                        errors_per_second: errors.saturating_sub(old_errors) as f64 / seconds,
                    }
                })
                .collect(),
        )
    }
}

fn totals(metrics: &Metrics) -> Totals {
    let mut totals = Totals::new();
    for (labels, count) in metrics.counter_series(proxy::plugins::gluu_metrics::REQUESTS.name) {
        let label =
            |name: &str| labels.iter().find(|(key, _)| *key == name).map(|(_, v)| v.as_str()).unwrap_or_default();
        let entry = totals.entry(label("service").to_string()).or_default();
        entry.0 += count;
        if label("status").starts_with('5') {
            entry.1 += count;
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy::metrics::Family;

    #[tokio::test]
    async fn totals_and_errors_per_service_come_from_the_request_counters() {
        let metrics = Arc::new(Metrics::default());
        let sampler = TrafficSampler::start(metrics.clone());
        assert_eq!(sampler.traffic(), None, "nothing counted: no traffic table");
        let family = Family { name: "gluu_requests", help: "" };
        let hit = |service: &str, status: &str| {
            metrics
                .increment(family, vec![("service", service.into()), ("route", "r".into()), ("status", status.into())])
        };
        hit("billing", "200");
        hit("billing", "200");
        hit("billing", "502");
        hit("catalog", "404");
        let traffic = sampler.traffic().unwrap();
        assert_eq!(traffic.len(), 2);
        assert_eq!((traffic[0].service.as_str(), traffic[0].requests, traffic[0].errors), ("billing", 3, 1));
        assert_eq!((traffic[1].requests, traffic[1].errors), (1, 0), "a 404 is not a server error");
        assert!(traffic[0].requests_per_second > 0.0);
    }
}
