//! The bodies of an upstream exchange: the request body arms the read bound once it is all sent (nginx
//! starts `proxy_read_timeout` there too), and the response body gives its connection back to the pool once
//! it is all received — or closes it, when the client went away first.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};

use super::deadlines::Bounds;
use super::pool::{Connection, Pool};
use crate::errors::{BoxError, GatewayBody};

/// A request body on its way upstream.
pub struct RequestBody {
    inner: GatewayBody,
    /// The bounds of the connection carrying it; set when a connection is chosen.
    bounds: Option<Arc<Bounds>>,
}

impl RequestBody {
    pub fn new(inner: GatewayBody) -> RequestBody {
        RequestBody { inner, bounds: None }
    }

    /// Binds the body to the connection about to carry it; an empty body means the request is sent once
    /// its head is.
    pub fn bind(&mut self, bounds: Arc<Bounds>) {
        if self.inner.is_end_stream() {
            bounds.arm_reading();
        }
        self.bounds = Some(bounds);
    }

    fn sent(&self) {
        if let Some(bounds) = &self.bounds {
            bounds.arm_reading();
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => self.sent(),
            Poll::Ready(Some(Ok(_))) if self.inner.is_end_stream() => self.sent(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Where a connection goes when its response is complete.
pub struct Checkin {
    pub pool: Arc<Pool>,
    pub connection: Connection,
}

/// An upstream response body that returns its connection to the pool at its end.
pub struct ResponseBody {
    inner: Incoming,
    checkin: Option<Checkin>,
}

impl ResponseBody {
    pub fn new(inner: Incoming, checkin: Checkin) -> ResponseBody {
        ResponseBody { inner, checkin: Some(checkin) }
    }

    fn release(&mut self) {
        if let Some(Checkin { pool, connection }) = self.checkin.take() {
            pool.checkin(connection);
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match polled {
            Poll::Ready(None) => {
                self.release();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(frame))) => {
                if self.inner.is_end_stream() {
                    self.release();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                // A broken exchange: the connection is dropped, never reused.
                self.checkin = None;
                Poll::Ready(Some(Err(error.into())))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        // Bodies nobody polls to the end (HEAD, 204, 304) are complete all the same; any other body dropped
        // early takes its connection with it, since the rest of the response is still on the wire.
        if self.inner.is_end_stream() {
            self.release();
        }
    }
}
