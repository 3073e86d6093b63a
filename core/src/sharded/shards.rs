//! How [`Control`](super::Control) reaches the shards: [`Shards`] lends one shard at a time.
//!
//! The simulator keeps its shards in a plain vector (`Vec<Balancer>` implements [`Shards`]);
//! live mode keeps each behind its own mutex and lends it locked. Either way `Control` only ever
//! holds one shard at a time, so live mode's lock order is simply: control, then one shard.

use crate::balancer::Balancer;

/// One or more balancer shards over the same workers, lent one at a time.
pub trait Shards<R, P> {
    /// How many shards (at least one).
    fn count(&self) -> usize;

    /// Run `f` on shard `i` (`i < count()`).
    fn with<T>(&mut self, i: usize, f: impl FnOnce(&mut Balancer<R, P>) -> T) -> T;
}

impl<R, P> Shards<R, P> for Vec<Balancer<R, P>> {
    fn count(&self) -> usize {
        self.len()
    }

    fn with<T>(&mut self, i: usize, f: impl FnOnce(&mut Balancer<R, P>) -> T) -> T {
        f(&mut self[i])
    }
}
