//! Kong's `write_timeout` and `read_timeout` (`proxy.md` §8.3): bounds on the time between two successive
//! writes, and between two successive reads, on an upstream connection. They sit on the socket so they
//! measure the upstream itself, whatever hyper and TLS do above it.
//!
//! The read bound is armed only while an exchange waits for the upstream (from the end of the request body
//! to the end of the response): an idle pooled connection, or a request whose body the client is still
//! uploading, is not the upstream's fault.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use crate::deadline::Deadline;

/// The bounds of one connection, set for each exchange it carries (the services sharing a pooled
/// connection may differ).
#[derive(Debug, Default)]
pub struct Bounds {
    write_ms: AtomicU64,
    read_ms: AtomicU64,
    reading: AtomicBool,
}

impl Bounds {
    pub fn new(write: Duration, read: Duration) -> Arc<Bounds> {
        let bounds = Arc::new(Bounds::default());
        bounds.set(write, read);
        bounds
    }

    /// The timeouts of the exchange about to use the connection; reading is not armed yet.
    pub fn set(&self, write: Duration, read: Duration) {
        self.write_ms.store(millis(write), Ordering::Relaxed);
        self.read_ms.store(millis(read), Ordering::Relaxed);
        self.reading.store(false, Ordering::Relaxed);
    }

    /// The request is sent: from now on the upstream owes us bytes.
    pub fn arm_reading(&self) {
        self.reading.store(true, Ordering::Relaxed);
    }

    /// The connection goes back to the pool: idle reads (hyper watching for a close) are not bounded.
    pub fn disarm_reading(&self) {
        self.reading.store(false, Ordering::Relaxed);
    }

    fn write(&self) -> Duration {
        Duration::from_millis(self.write_ms.load(Ordering::Relaxed))
    }

    fn read(&self) -> Option<Duration> {
        self.reading.load(Ordering::Relaxed).then(|| Duration::from_millis(self.read_ms.load(Ordering::Relaxed)))
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// A timer that starts when an operation first waits and stops when it makes progress.
struct Stall {
    deadline: Deadline,
    waiting: bool,
}

impl Stall {
    fn new() -> Stall {
        Stall { deadline: Deadline::new(Instant::now()), waiting: false }
    }

    /// Whether the operation has now waited longer than `bound`; registers the wake-up otherwise.
    fn expired(&mut self, cx: &mut Context<'_>, bound: Duration) -> bool {
        if !self.waiting {
            self.waiting = true;
            let now = Instant::now();
            self.deadline.set(now.checked_add(bound).unwrap_or_else(|| now + Duration::from_secs(86400 * 365)));
        }
        self.deadline.poll_expired(cx).is_ready()
    }

    fn progressed(&mut self) {
        self.waiting = false;
    }
}

fn timed_out(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what)
}

/// An upstream socket with its write and read bounds.
pub struct Deadlines<IO> {
    io: IO,
    bounds: Arc<Bounds>,
    read: Stall,
    write: Stall,
}

impl<IO> Deadlines<IO> {
    pub fn new(io: IO, bounds: Arc<Bounds>) -> Self {
        Deadlines { io, bounds, read: Stall::new(), write: Stall::new() }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Deadlines<IO> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Pending => match this.bounds.read() {
                Some(bound) if this.read.expired(cx, bound) => Poll::Ready(Err(timed_out("upstream read timed out"))),
                Some(_) => Poll::Pending,
                None => {
                    this.read.progressed();
                    Poll::Pending
                }
            },
            ready => {
                this.read.progressed();
                ready
            }
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Deadlines<IO> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.io).poll_write(cx, data) {
            Poll::Pending if this.write.expired(cx, this.bounds.write()) => {
                Poll::Ready(Err(timed_out("upstream write timed out")))
            }
            Poll::Pending => Poll::Pending,
            ready => {
                this.write.progressed();
                ready
            }
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.io).poll_write_vectored(cx, bufs) {
            Poll::Pending if this.write.expired(cx, this.bounds.write()) => {
                Poll::Ready(Err(timed_out("upstream write timed out")))
            }
            Poll::Pending => Poll::Pending,
            ready => {
                this.write.progressed();
                ready
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn an_armed_read_that_stalls_fails_with_timed_out() {
        let (near, mut far) = tokio::io::duplex(64);
        let bounds = Bounds::new(Duration::from_secs(5), Duration::from_millis(50));
        let mut stream = Deadlines::new(near, bounds.clone());
        let mut buffer = [0u8; 8];
        // Not armed: an idle read waits as long as it likes.
        let idle = tokio::time::timeout(Duration::from_millis(150), stream.read(&mut buffer)).await;
        assert!(idle.is_err(), "an unarmed read is not bounded");
        bounds.arm_reading();
        far.write_all(b"x").await.unwrap();
        assert_eq!(stream.read(&mut buffer).await.unwrap(), 1, "progress resets the bound");
        let error = stream.read(&mut buffer).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn a_write_the_peer_never_takes_fails_with_timed_out() {
        let (near, _far) = tokio::io::duplex(16);
        let mut stream = Deadlines::new(near, Bounds::new(Duration::from_millis(50), Duration::from_secs(5)));
        let error = stream.write_all(&[0u8; 1024]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }
}
