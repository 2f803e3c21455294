//! A proxied response body that keeps its target counted as busy (least-connections) until the last byte
//! is sent or the client goes away: the exchange, not just the response head, is the load.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::BodyExt;

use crate::errors::{BoxError, GatewayBody};
use crate::health::InFlight;

pub struct InFlightBody {
    inner: GatewayBody,
    guard: Option<InFlight>,
}

impl InFlightBody {
    pub fn wrap(inner: GatewayBody, guard: InFlight) -> GatewayBody {
        InFlightBody { inner, guard: Some(guard) }.boxed()
    }
}

impl hyper::body::Body for InFlightBody {
    type Data = bytes::Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None | Some(Err(_))) = polled {
            self.guard = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
