//! The client's request body, wrapped so that a failure on the client's side can be told apart
//! from a failure of the worker.
//!
//! When the client sends a malformed chunked body, closes the connection mid-upload, or lets
//! more than `timeout` pass between two pieces of its body, the forwarded request fails. hyper
//! reports that as an error of the request to the worker, like any other; the wrapper records
//! what happened in a [`ClientFault`] the proxy reads after the failure, so the request is
//! booked as a cancel (never against the worker) and the client is answered 400 or 408.

use super::super::conn::BoxError;
use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// What went wrong on the client's side, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Reading the body failed (malformed chunked encoding, connection closed early...).
    Read(String),
    /// No piece of the body arrived within the body timeout.
    Slow(Duration),
}

/// Shared between the wrapped body and the proxy: the fault, and whether the body was read to
/// its end (until then, a worker that has not answered may be waiting for it).
#[derive(Debug, Clone, Default)]
pub struct ClientFault(Arc<(Mutex<Option<Fault>>, AtomicBool)>);

impl ClientFault {
    /// The fault recorded, if any.
    pub fn get(&self) -> Option<Fault> {
        self.0.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, f: Fault) {
        *self.0.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(f);
    }

    /// Whether the whole body has been received from the client.
    pub fn body_done(&self) -> bool {
        self.0.1.load(Ordering::Acquire)
    }

    fn done(&self) {
        self.0.1.store(true, Ordering::Release);
    }
}

/// The error a wrapped body yields.
#[derive(Debug, thiserror::Error)]
pub enum ClientBodyError {
    /// Reading from the client failed.
    #[error("reading the request body from the client failed: {0}")]
    Read(hyper::Error),
    /// The client was too slow.
    #[error("no part of the request body arrived within {} ms", .0.as_millis())]
    Slow(Duration),
}

/// The client's body with a per-piece timeout and its faults recorded.
pub struct ClientBody {
    inner: Incoming,
    timeout: Duration,
    sleep: Pin<Box<Sleep>>,
    fault: ClientFault,
}

impl ClientBody {
    /// Wrap `inner`; each frame must arrive within `timeout` of the previous one (or of now).
    pub fn new(inner: Incoming, timeout: Duration, fault: ClientFault) -> Self {
        if inner.is_end_stream() {
            fault.done();
        }
        ClientBody {
            inner,
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            fault,
        }
    }
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if this.inner.is_end_stream() {
                    this.fault.done();
                }
                let next = Instant::now() + this.timeout;
                this.sleep.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.fault.set(Fault::Read(e.to_string()));
                Poll::Ready(Some(Err(Box::new(ClientBodyError::Read(e)))))
            }
            Poll::Ready(None) => {
                this.fault.done();
                Poll::Ready(None)
            }
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.fault.set(Fault::Slow(this.timeout));
                    Poll::Ready(Some(Err(Box::new(ClientBodyError::Slow(this.timeout)))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
