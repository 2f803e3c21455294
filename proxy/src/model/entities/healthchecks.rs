//! An upstream's `healthchecks` record, typed for the engine (`admin-api.md` §5.6, `proxy.md` §9).
//!
//! The defaults are not repeated here: [`Healthchecks::default`] is what the upstream schema fills in, so the
//! Admin API and the engine cannot disagree about them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Healthchecks {
    pub active: Active,
    pub passive: Passive,
    /// Percent of the total weight that must be healthy for the upstream to take traffic.
    pub threshold: f64,
}

/// Probes the gateway sends on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Active {
    /// `tcp`, `http`, `https`, `grpc` or `grpcs`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Seconds.
    pub timeout: f64,
    pub concurrency: u32,
    pub http_path: String,
    pub https_sni: Option<String>,
    pub https_verify_certificate: bool,
    pub healthy: ActiveHealthy,
    pub unhealthy: ActiveUnhealthy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveHealthy {
    /// Seconds between probes of healthy targets; 0 = none.
    pub interval: f64,
    pub http_statuses: Vec<u16>,
    pub successes: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveUnhealthy {
    /// Seconds between probes of unhealthy targets; 0 = none.
    pub interval: f64,
    pub http_statuses: Vec<u16>,
    pub tcp_failures: u32,
    pub timeouts: u32,
    pub http_failures: u32,
}

/// Observations of proxied traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passive {
    #[serde(rename = "type")]
    pub kind: String,
    pub healthy: PassiveHealthy,
    pub unhealthy: PassiveUnhealthy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassiveHealthy {
    pub http_statuses: Vec<u16>,
    pub successes: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassiveUnhealthy {
    pub http_statuses: Vec<u16>,
    pub tcp_failures: u32,
    pub timeouts: u32,
    pub http_failures: u32,
}

impl Healthchecks {
    /// Whether active probes run at all (either interval set).
    pub fn active_enabled(&self) -> bool {
        self.active.healthy.interval > 0.0 || self.active.unhealthy.interval > 0.0
    }

    /// Whether proxied traffic can change a target's health (any passive threshold set).
    pub fn passive_enabled(&self) -> bool {
        let p = &self.passive;
        p.healthy.successes > 0
            || p.unhealthy.tcp_failures > 0
            || p.unhealthy.timeouts > 0
            || p.unhealthy.http_failures > 0
    }

    /// Health checks are "off" (`HEALTHCHECKS_OFF`) when neither kind can change a target's health.
    pub fn enabled(&self) -> bool {
        self.active_enabled() || self.passive_enabled()
    }
}

impl Default for Healthchecks {
    fn default() -> Self {
        let upstream = super::upstream::schema()
            .process(&serde_json::json!({"name": "defaults.invalid"}))
            .expect("a bare upstream name validates");
        serde_json::from_value(upstream["healthchecks"].clone())
            .expect("the schema's healthchecks defaults deserialize into Healthchecks")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_come_from_the_schema_and_are_off() {
        let checks = Healthchecks::default();
        assert_eq!(checks.active.kind, "http");
        assert_eq!(checks.active.concurrency, 10);
        assert_eq!(checks.active.healthy.http_statuses, vec![200, 302]);
        assert_eq!(checks.passive.unhealthy.http_statuses, vec![429, 500, 503]);
        assert!(!checks.enabled(), "Kong's defaults leave health checks off");
    }

    #[test]
    fn any_interval_or_passive_threshold_turns_them_on() {
        let mut checks = Healthchecks::default();
        checks.active.unhealthy.interval = 0.5;
        assert!(checks.active_enabled() && checks.enabled() && !checks.passive_enabled());
        let mut checks = Healthchecks::default();
        checks.passive.unhealthy.timeouts = 1;
        assert!(checks.passive_enabled() && checks.enabled());
    }
}
