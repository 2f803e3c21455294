//! The health state machine of one target (`proxy.md` §9), as lua-resty-healthcheck runs it for Kong: one
//! set of counters shared by active and passive checks, each report judged against the thresholds of the
//! check that made it.
//!
//! Between the two definite states a target can be *mostly* healthy (healthy, with failures counted) or
//! *mostly* unhealthy (unhealthy, with successes counted); only a threshold reached moves it across, and that
//! resets every counter.

use crate::model::entities::healthchecks::{Active, Passive};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum State {
    #[default]
    Healthy,
    MostlyHealthy,
    MostlyUnhealthy,
    Unhealthy,
}

impl State {
    /// Whether the balancer may choose the target.
    pub fn is_healthy(self) -> bool {
        matches!(self, State::Healthy | State::MostlyHealthy)
    }
}

/// What one probe or one proxied attempt showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    Success,
    HttpFailure,
    TcpFailure,
    Timeout,
}

/// The thresholds of one kind of check; 0 disables the transition a counter would cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub successes: u32,
    pub http_failures: u32,
    pub tcp_failures: u32,
    pub timeouts: u32,
}

impl Limits {
    fn of(&self, observation: Observation) -> u32 {
        match observation {
            Observation::Success => self.successes,
            Observation::HttpFailure => self.http_failures,
            Observation::TcpFailure => self.tcp_failures,
            Observation::Timeout => self.timeouts,
        }
    }
}

/// HTTP statuses 100..=999 as a bit set: membership is one shift on the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSet([u64; 16]);

impl StatusSet {
    pub fn new(statuses: &[u16]) -> StatusSet {
        let mut bits = [0u64; 16];
        for &status in statuses.iter().filter(|s| **s < 1024) {
            bits[usize::from(status / 64)] |= 1 << (status % 64);
        }
        StatusSet(bits)
    }

    pub fn contains(&self, status: u16) -> bool {
        status < 1024 && self.0[usize::from(status / 64)] & (1 << (status % 64)) != 0
    }
}

/// How one kind of check (active or passive) judges statuses and counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub healthy: StatusSet,
    pub unhealthy: StatusSet,
    pub limits: Limits,
}

impl Rules {
    pub fn active(active: &Active) -> Rules {
        Rules {
            healthy: StatusSet::new(&active.healthy.http_statuses),
            unhealthy: StatusSet::new(&active.unhealthy.http_statuses),
            limits: Limits {
                successes: active.healthy.successes,
                http_failures: active.unhealthy.http_failures,
                tcp_failures: active.unhealthy.tcp_failures,
                timeouts: active.unhealthy.timeouts,
            },
        }
    }

    pub fn passive(passive: &Passive) -> Rules {
        Rules {
            healthy: StatusSet::new(&passive.healthy.http_statuses),
            unhealthy: StatusSet::new(&passive.unhealthy.http_statuses),
            limits: Limits {
                successes: passive.healthy.successes,
                http_failures: passive.unhealthy.http_failures,
                tcp_failures: passive.unhealthy.tcp_failures,
                timeouts: passive.unhealthy.timeouts,
            },
        }
    }

    /// A status in neither list says nothing about the target.
    pub fn judge(&self, status: u16) -> Option<Observation> {
        if self.healthy.contains(status) {
            Some(Observation::Success)
        } else if self.unhealthy.contains(status) {
            Some(Observation::HttpFailure)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub state: State,
    pub successes: u32,
    pub http_failures: u32,
    pub tcp_failures: u32,
    pub timeouts: u32,
}

impl Counters {
    /// Counts one observation; returns the new state when it changed.
    pub fn observe(&mut self, observation: Observation, limits: &Limits) -> Option<State> {
        let limit = limits.of(observation);
        if limit == 0 {
            return None;
        }
        let success = observation == Observation::Success;
        // Nothing to count towards a state the target is already fully in.
        if (success && self.state == State::Healthy) || (!success && self.state == State::Unhealthy) {
            return None;
        }
        let count = match observation {
            Observation::Success => {
                self.http_failures = 0;
                self.tcp_failures = 0;
                self.timeouts = 0;
                bump(&mut self.successes)
            }
            failure => {
                self.successes = 0;
                match failure {
                    Observation::HttpFailure => bump(&mut self.http_failures),
                    Observation::TcpFailure => bump(&mut self.tcp_failures),
                    _ => bump(&mut self.timeouts),
                }
            }
        };
        let next = match (count >= limit, success, self.state) {
            (true, true, _) => State::Healthy,
            (true, false, _) => State::Unhealthy,
            (false, false, State::Healthy) => State::MostlyHealthy,
            (false, true, State::Unhealthy) => State::MostlyUnhealthy,
            (false, _, state) => state,
        };
        if next == self.state {
            return None;
        }
        if matches!(next, State::Healthy | State::Unhealthy) {
            *self = Counters { state: next, ..Counters::default() };
        } else {
            self.state = next;
        }
        Some(next)
    }

    /// A manual override: the state given, every counter reset.
    pub fn set(&mut self, healthy: bool) {
        let state = if healthy { State::Healthy } else { State::Unhealthy };
        *self = Counters { state, ..Counters::default() };
    }
}

fn bump(counter: &mut u32) -> u32 {
    *counter = counter.saturating_add(1);
    *counter
}

#[cfg(test)]
mod tests {
    use super::*;
    use Observation::*;

    const LIMITS: Limits = Limits { successes: 2, http_failures: 3, tcp_failures: 2, timeouts: 1 };

    fn run(counters: &mut Counters, observations: &[Observation]) -> Vec<Option<State>> {
        observations.iter().map(|o| counters.observe(*o, &LIMITS)).collect()
    }

    #[test]
    fn failures_reaching_their_threshold_make_a_target_unhealthy() {
        let mut c = Counters::default();
        assert_eq!(run(&mut c, &[TcpFailure]), [Some(State::MostlyHealthy)]);
        assert!(c.state.is_healthy(), "one failure below the threshold leaves it in rotation");
        assert_eq!(run(&mut c, &[TcpFailure]), [Some(State::Unhealthy)]);
        assert_eq!(c, Counters { state: State::Unhealthy, ..Counters::default() }, "crossing resets the counters");
    }

    #[test]
    fn a_success_resets_the_failure_counters_and_a_failure_the_successes() {
        let mut c = Counters::default();
        run(&mut c, &[HttpFailure, HttpFailure, Success]);
        assert_eq!((c.http_failures, c.successes), (0, 1));
        run(&mut c, &[HttpFailure, HttpFailure]);
        assert_eq!(c.state, State::MostlyHealthy, "the earlier failures were forgotten");
        assert_eq!(run(&mut c, &[HttpFailure]), [Some(State::Unhealthy)]);
        assert_eq!(run(&mut c, &[Success]), [Some(State::MostlyUnhealthy)]);
        assert!(!c.state.is_healthy(), "one success below the threshold keeps it out of rotation");
        assert_eq!(run(&mut c, &[Success]), [Some(State::Healthy)]);
    }

    #[test]
    fn failure_kinds_count_separately() {
        let mut c = Counters::default();
        run(&mut c, &[HttpFailure, TcpFailure, HttpFailure]);
        assert_eq!((c.http_failures, c.tcp_failures, c.state), (2, 1, State::MostlyHealthy));
        assert_eq!(run(&mut c, &[Timeout]), [Some(State::Unhealthy)]);
    }

    #[test]
    fn a_zero_threshold_ignores_that_kind_of_report() {
        let limits = Limits { timeouts: 1, ..Limits::default() };
        let mut c = Counters::default();
        for _ in 0..10 {
            assert_eq!(c.observe(TcpFailure, &limits), None);
        }
        assert_eq!(c, Counters::default());
        c.set(false);
        assert_eq!(
            c.observe(Success, &limits),
            None,
            "with successes = 0 nothing brings it back but a probe or an operator"
        );
        assert_eq!(c.state, State::Unhealthy);
    }

    #[test]
    fn a_manual_override_resets_the_counters() {
        let mut c = Counters::default();
        run(&mut c, &[TcpFailure]);
        c.set(true);
        assert_eq!(c, Counters::default());
        c.set(false);
        assert_eq!(c.state, State::Unhealthy);
        assert_eq!(run(&mut c, &[TcpFailure]), [None], "failures do not count towards a state it is fully in");
    }

    #[test]
    fn statuses_are_judged_by_the_lists_and_others_say_nothing() {
        let rules =
            Rules { healthy: StatusSet::new(&[200, 302]), unhealthy: StatusSet::new(&[500, 999]), limits: LIMITS };
        assert_eq!(rules.judge(200), Some(Success));
        assert_eq!(rules.judge(999), Some(HttpFailure));
        assert_eq!(rules.judge(404), None);
        assert_eq!(rules.judge(u16::MAX), None);
    }
}
