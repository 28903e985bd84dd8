//! Host kernels (linear layers, convolutions, their elementwise helpers) and the pools of
//! threads that train a batch in shards.

pub mod conv;
pub mod host;
pub mod linear;
pub mod pool;
pub mod shard;
