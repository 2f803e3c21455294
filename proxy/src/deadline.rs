//! A deadline that is moved on every request without touching tokio's timer wheel each time: the keep-alive
//! connection's header read timeout and an upstream connection's read and write bounds.
//!
//! Deadlines here are "now plus the same timeout", so they almost always move later. Moving a tokio `Sleep`
//! costs a timer-wheel update; instead the `Sleep` keeps the earlier deadline, and when it fires before the
//! deadline now wanted, it is moved then, once. A deadline that moves earlier moves the `Sleep` at once.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::time::{Instant, Sleep};

pub struct Deadline {
    sleep: Pin<Box<Sleep>>,
    /// When the deadline is; the `Sleep` fires at or before it.
    at: Instant,
}

impl Deadline {
    pub fn new(at: Instant) -> Deadline {
        Deadline { sleep: Box::pin(tokio::time::sleep_until(at)), at }
    }

    pub fn set(&mut self, at: Instant) {
        self.at = at;
        if at < self.sleep.deadline() {
            self.sleep.as_mut().reset(at);
        }
    }

    /// Ready once the deadline has passed; registers the wake-up otherwise.
    pub fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if self.sleep.deadline() >= self.at {
                return Poll::Ready(());
            }
            self.sleep.as_mut().reset(self.at);
        }
    }

    pub async fn expired(&mut self) {
        std::future::poll_fn(|cx| self.poll_expired(cx)).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const SOON: Duration = Duration::from_millis(20);
    const LATER: Duration = Duration::from_secs(2);
    /// Well before `LATER`, so a busy machine does not reach it first.
    const MEANWHILE: Duration = Duration::from_millis(500);

    async fn expires_within(deadline: &mut Deadline, limit: Duration) -> bool {
        tokio::time::timeout(limit, deadline.expired()).await.is_ok()
    }

    #[tokio::test]
    async fn a_deadline_moved_later_is_not_reached_at_the_earlier_one() {
        let start = Instant::now();
        let mut deadline = Deadline::new(start + SOON);
        deadline.set(start + LATER);
        assert!(!expires_within(&mut deadline, MEANWHILE).await);
        assert!(expires_within(&mut deadline, LATER).await);
        assert!(start.elapsed() >= LATER);
    }

    #[tokio::test]
    async fn a_deadline_moved_earlier_is_reached_at_the_earlier_one() {
        let start = Instant::now();
        let mut deadline = Deadline::new(start + Duration::from_secs(3600));
        deadline.set(start + SOON);
        assert!(expires_within(&mut deadline, Duration::from_secs(60)).await);
    }

    #[tokio::test]
    async fn a_deadline_set_after_its_timer_fired_waits_again() {
        let mut deadline = Deadline::new(Instant::now() + SOON);
        deadline.expired().await;
        let start = Instant::now();
        deadline.set(start + LATER);
        assert!(!expires_within(&mut deadline, MEANWHILE).await);
        assert!(expires_within(&mut deadline, LATER).await);
        assert!(start.elapsed() >= LATER);
    }
}
