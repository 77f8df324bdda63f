//! §4.5.? (Q.952) Redirecting number: who the call was diverted from, and why.

use super::party_number::PartyNumber;

/// Octet 3b bits 4–1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectionReason {
    Unknown,
    /// Call forwarding busy.
    Busy,
    /// Call forwarding no reply.
    NoReply,
    /// Call deflection.
    Deflection,
    DteOutOfOrder,
    /// Call forwarding by the called DTE.
    ByCalledDte,
    /// Call forwarding unconditional.
    Unconditional,
    Other(u8),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectingNumber {
    pub number: PartyNumber,
    /// Octet 3b, when present.
    pub reason: Option<RedirectionReason>,
}
