//! ITU-T Q.931 layer 3: message coding (`message`, `ie`), call states and call control
//! (`layer3`).

pub mod ie;
pub mod layer3;
pub mod message;
pub mod state;

pub use ie::Ie;
pub use message::{decode, CallRef, DecodeError, Decoded, IeProblem, IeProblemKind, Message, MessageType};

#[cfg(test)]
mod tests;
