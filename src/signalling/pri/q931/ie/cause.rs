//! §4.5.12 Cause (Q.850): why a call was cleared or a message rejected, and where.

use super::{split_group, IeError};
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

impl Location {
    /// Octet 3 bits 4–1 (also used by the progress indicator).
    pub fn code(self) -> u8 {
        match self {
            Location::User => 0x0,
            Location::PrivateLocal => 0x1,
            Location::PublicLocal => 0x2,
            Location::TransitNetwork => 0x3,
            Location::PublicRemote => 0x4,
            Location::PrivateRemote => 0x5,
            Location::International => 0x7,
            Location::BeyondInterworking => 0xA,
            Location::Reserved(v) => v & 0x0F,
        }
    }
    pub fn from_code(v: u8) -> Self {
        match v & 0x0F {
            0x0 => Location::User,
            0x1 => Location::PrivateLocal,
            0x2 => Location::PublicLocal,
            0x3 => Location::TransitNetwork,
            0x4 => Location::PublicRemote,
            0x5 => Location::PrivateRemote,
            0x7 => Location::International,
            0xA => Location::BeyondInterworking,
            v => Location::Reserved(v),
        }
    }
}

impl CauseIe {
    /// Octet 3 (and the optional recommendation octet 3a, skipped: only X.21/X.25
    /// interworking sets it), octet 4, diagnostics. Unknown cause values are kept
    /// (`Cause::Other`), not rejected: Q.850 says to treat them as their class's
    /// "unspecified" cause, which is the protocol layer's call.
    pub(super) fn decode(data: &[u8]) -> Result<Self, IeError> {
        let (group3, rest) = split_group(data)?;
        let octet3 = group3.first().copied().ok_or(IeError::TooShort)?;
        let (&octet4, diagnostics) = rest.split_first().ok_or(IeError::TooShort)?;
        Ok(CauseIe {
            coding_standard: (octet3 >> 5) & 0x03,
            location: Location::from_code(octet3),
            cause: Cause::from_code(octet4 & 0x7F),
            diagnostics: diagnostics.to_vec(),
        })
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        out.push(0x80 | ((self.coding_standard & 0x03) << 5) | self.location.code());
        out.push(0x80 | (self.cause.code() & 0x7F));
        out.extend_from_slice(&self.diagnostics);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::pri::q931::ie::Ie;

    #[test]
    fn golden_normal_clearing() {
        let c = CauseIe::decode(&[0x80, 0x90]).unwrap();
        assert_eq!(c, CauseIe::new(Cause::NormalClearing, Location::User));
        let mut out = Vec::new();
        Ie::Cause(c).encode(&mut out);
        assert_eq!(out, [0x08, 0x02, 0x80, 0x90]);
    }

    #[test]
    fn golden_user_busy_public_local() {
        let c = CauseIe::decode(&[0x82, 0x91]).unwrap();
        assert_eq!((c.cause, c.location), (Cause::UserBusy, Location::PublicLocal));
    }

    #[test]
    fn golden_97_with_diagnostic() {
        // Message type non-existent, diagnostic = the offending message type.
        let c = CauseIe::decode(&[0x80, 0xE1, 0x33]).unwrap();
        assert_eq!(c.cause, Cause::MessageTypeNonexistent);
        assert_eq!(c.diagnostics, [0x33]);
        let mut out = Vec::new();
        c.encode(&mut out);
        assert_eq!(out, [0x80, 0xE1, 0x33]);
    }

    #[test]
    fn recommendation_octet_3a_is_skipped() {
        let c = CauseIe::decode(&[0x03, 0x80, 0x9F]).unwrap();
        assert_eq!((c.location, c.cause), (Location::TransitNetwork, Cause::NormalUnspecified));
        assert!(c.diagnostics.is_empty());
    }

    #[test]
    fn national_coding_is_decoded() {
        let c = CauseIe::decode(&[0xE2, 0x90]).unwrap();
        assert_eq!(c.coding_standard, 3);
        let mut out = Vec::new();
        c.encode(&mut out);
        assert_eq!(out, [0xE2, 0x90]);
    }

    #[test]
    fn errors() {
        assert_eq!(CauseIe::decode(&[]), Err(IeError::TooShort));
        assert_eq!(CauseIe::decode(&[0x80]), Err(IeError::TooShort));
        assert_eq!(CauseIe::decode(&[0x00, 0x01]), Err(IeError::TooShort));
    }

    #[test]
    fn locations_round_trip() {
        for v in 0..16 {
            assert_eq!(Location::from_code(v).code(), v);
        }
    }
}
