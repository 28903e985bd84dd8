//! The objectives' losses and the penalties as tensors: the engine's side of
//! [`harness_core::objective`] and [`harness_core::penalty`].

pub mod objective;
pub mod penalty;

pub use objective::{CriticTerms, ObjectiveLoss};
pub use penalty::{PenaltyLoss, PenaltyTerm};
