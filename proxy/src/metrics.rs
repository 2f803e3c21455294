//! Prometheus metrics kept by this node: labelled counters and latency histograms, rendered in the text
//! exposition format. Counters are per node and start from zero with the process, as in Gluu Gateway.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds (milliseconds) of the latency histogram buckets.
const BUCKETS_MS: [f64; 12] = [1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0];

/// A metric family: its help text and kind.
#[derive(Debug, Clone, Copy)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
}

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS_MS.len()],
    count: u64,
    sum: f64,
}

/// The series of each family, by family name.
type Families<T> = BTreeMap<&'static str, (Family, BTreeMap<Labels, T>)>;

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<Families<u64>>,
    histograms: Mutex<Families<Histogram>>,
}

impl Metrics {
    pub fn increment(&self, family: Family, labels: Labels) {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        *counters.entry(family.name).or_insert_with(|| (family, BTreeMap::new())).1.entry(labels).or_default() += 1;
    }

    /// Declares a label-less counter so it is shown (at 0) before its first increment.
    pub fn declare(&self, family: Family) {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        counters.entry(family.name).or_insert_with(|| (family, BTreeMap::new()));
    }

    pub fn observe_ms(&self, family: Family, labels: Labels, value_ms: f64) {
        let mut histograms = self.histograms.lock().unwrap_or_else(|e| e.into_inner());
        let histogram =
            histograms.entry(family.name).or_insert_with(|| (family, BTreeMap::new())).1.entry(labels).or_default();
        for (bucket, bound) in histogram.buckets.iter_mut().zip(BUCKETS_MS) {
            if value_ms <= bound {
                *bucket += 1;
            }
        }
        histogram.count += 1;
        histogram.sum += value_ms;
    }

    /// Every series of the counter family `name`: its labels and value.
    pub fn counter_series(&self, name: &str) -> Vec<(Labels, u64)> {
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        counters.get(name).map(|(_, series)| series.iter().map(|(l, v)| (l.clone(), *v)).collect()).unwrap_or_default()
    }

    /// The Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        for (family, series) in counters.values() {
            let _ = writeln!(out, "# HELP {} {}\n# TYPE {} counter", family.name, family.help, family.name);
            if series.is_empty() {
                let _ = writeln!(out, "{} 0", family.name);
            }
            for (labels, value) in series {
                let _ = writeln!(out, "{}{} {value}", family.name, render_labels(labels, None));
            }
        }
        let histograms = self.histograms.lock().unwrap_or_else(|e| e.into_inner());
        for (family, series) in histograms.values() {
            let _ = writeln!(out, "# HELP {} {}\n# TYPE {} histogram", family.name, family.help, family.name);
            for (labels, histogram) in series {
                for (bound, count) in BUCKETS_MS.iter().zip(histogram.buckets) {
                    let le = format!("{bound}");
                    let _ = writeln!(out, "{}_bucket{} {count}", family.name, render_labels(labels, Some(&le)));
                }
                let _ =
                    writeln!(out, "{}_bucket{} {}", family.name, render_labels(labels, Some("+Inf")), histogram.count);
                let _ = writeln!(out, "{}_sum{} {}", family.name, render_labels(labels, None), histogram.sum);
                let _ = writeln!(out, "{}_count{} {}", family.name, render_labels(labels, None), histogram.count);
            }
        }
        out
    }
}

fn render_labels(labels: &Labels, le: Option<&str>) -> String {
    if labels.is_empty() && le.is_none() {
        return String::new();
    }
    let mut parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    format!("{{{}}}", parts.join(","))
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render_in_prometheus_text() {
        let metrics = Metrics::default();
        let family = Family { name: "gluu_endpoint_method", help: "Endpoint call per service in Kong" };
        let labels =
            || vec![("endpoint", "/".to_string()), ("method", "GET".into()), ("service", "demo-service".into())];
        metrics.increment(family, labels());
        metrics.increment(family, labels());
        metrics.declare(Family { name: "gluu_total_client_authenticated", help: "t" });
        metrics.observe_ms(
            Family { name: "gluu_request_latency_ms", help: "l" },
            vec![("service", "s\"x".into())],
            7.0,
        );
        let text = metrics.render();
        assert!(text.contains("gluu_endpoint_method{endpoint=\"/\",method=\"GET\",service=\"demo-service\"} 2\n"));
        assert!(text.contains("# TYPE gluu_endpoint_method counter"));
        assert!(text.contains("gluu_total_client_authenticated 0\n"));
        assert!(text.contains("gluu_request_latency_ms_bucket{service=\"s\\\"x\",le=\"5\"} 0\n"));
        assert!(text.contains("gluu_request_latency_ms_bucket{service=\"s\\\"x\",le=\"10\"} 1\n"));
        assert!(text.contains("gluu_request_latency_ms_count{service=\"s\\\"x\"} 1\n"));
    }
}
