//! §4.5.12 Cause (Q.850): why a call was cleared or a message rejected, and where.

use crate::signalling::Cause;

/// Octet 3 bits 4–1 (Q.850 §2.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Location {
    #[default]
    User,
    PrivateLocal,
    PublicLocal,
    TransitNetwork,
    PublicRemote,
    PrivateRemote,
    International,
    BeyondInterworking,
    Reserved(u8),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CauseIe {
    /// Octet 3 bits 7–6: 0 = ITU-T, 3 = national (some networks use it).
    pub coding_standard: u8,
    pub location: Location,
    pub cause: Cause,
    /// Octet 5..: e.g. the identifier of a missing element for cause 96, the message type
    /// for cause 97/98/101, timer number for cause 102.
    pub diagnostics: Vec<u8>,
}

impl CauseIe {
    pub fn new(cause: Cause, location: Location) -> Self {
        CauseIe { coding_standard: 0, location, cause, diagnostics: Vec::new() }
    }
}
