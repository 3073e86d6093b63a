//! Deterministic bytes for download tests (`GET /bytes/{n}`).
//!
//! Byte `i` of every download is `i mod 251`. 251 is prime, so the pattern never lines up with a
//! power-of-two buffer or chunk size: a dropped, repeated or reordered chunk shows up as a wrong
//! byte. The body is produced 64 KiB at a time, so a large download costs no large allocation.

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Largest download `GET /bytes/{n}` serves: 64 MiB.
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;

const CHUNK: u64 = 64 * 1024;

/// Byte `i` of the pattern.
#[inline]
pub fn pattern_byte(i: u64) -> u8 {
    (i % 251) as u8
}

/// A response body of `len` pattern bytes, streamed in 64 KiB frames.
#[derive(Debug, Clone)]
pub struct PatternBody {
    pos: u64,
    len: u64,
}

impl PatternBody {
    /// A body of `len` bytes.
    pub fn new(len: u64) -> Self {
        PatternBody { pos: 0, len }
    }
}

impl Body for PatternBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let n = CHUNK.min(self.len - self.pos);
        if n == 0 {
            return Poll::Ready(None);
        }
        let start = self.pos;
        let chunk: Vec<u8> = (start..start + n).map(pattern_byte).collect();
        self.pos += n;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
    }

    fn is_end_stream(&self) -> bool {
        self.pos == self.len
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len - self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn body_is_the_pattern_and_exact_length() {
        let len = 3 * CHUNK + 17;
        let body = PatternBody::new(len).collect().await.unwrap().to_bytes();
        assert_eq!(body.len() as u64, len);
        assert!(body.iter().zip(0..).all(|(&b, i)| b == pattern_byte(i)));
        let empty = PatternBody::new(0);
        assert!(empty.is_end_stream());
    }
}
