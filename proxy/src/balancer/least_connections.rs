//! Least-connections (`proxy.md` §8.2): the healthy target with the fewest in-flight requests relative to
//! its weight, i.e. the lowest `(in_flight + 1) / weight`. Ties go round-robin from a rotating start, so
//! sequential traffic over equal targets still spreads.

use super::Member;

/// The best member scanning from `start`, preferring any other than `avoid` (the one that just failed).
pub fn pick(members: &[Member], start: usize, avoid: Option<usize>) -> Option<usize> {
    let len = members.len();
    let mut best: Option<usize> = None;
    let mut fallback = None;
    for k in 0..len {
        let i = start.wrapping_add(k) % len;
        let member = &members[i];
        if !member.health.is_healthy() {
            continue;
        }
        if Some(i) == avoid {
            fallback = Some(i);
            continue;
        }
        if best.is_none_or(|b| lighter(member, &members[b])) {
            best = Some(i);
        }
    }
    best.or(fallback)
}

/// `(a.in_flight + 1) / a.weight < (b.in_flight + 1) / b.weight`, without division.
fn lighter(a: &Member, b: &Member) -> bool {
    let load = |m: &Member| u64::from(m.health.in_flight()) + 1;
    load(a) * u64::from(b.weight) < load(b) * u64::from(a.weight)
}
