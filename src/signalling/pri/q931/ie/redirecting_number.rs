//! Redirecting number (Q.952; codeset 0, identifier 0x74): who the call was diverted from, and why.

use super::party_number::{decode_number, encode_number, PartyNumber};
use super::IeError;

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

impl RedirectionReason {
    /// Octet 3b bits 4–1.
    pub fn code(self) -> u8 {
        match self {
            RedirectionReason::Unknown => 0x0,
            RedirectionReason::Busy => 0x1,
            RedirectionReason::NoReply => 0x2,
            RedirectionReason::Deflection => 0x4,
            RedirectionReason::DteOutOfOrder => 0x9,
            RedirectionReason::ByCalledDte => 0xA,
            RedirectionReason::Unconditional => 0xF,
            RedirectionReason::Other(v) => v & 0x0F,
        }
    }
    pub fn from_code(v: u8) -> Self {
        match v & 0x0F {
            0x0 => RedirectionReason::Unknown,
            0x1 => RedirectionReason::Busy,
            0x2 => RedirectionReason::NoReply,
            0x4 => RedirectionReason::Deflection,
            0x9 => RedirectionReason::DteOutOfOrder,
            0xA => RedirectionReason::ByCalledDte,
            0xF => RedirectionReason::Unconditional,
            v => RedirectionReason::Other(v),
        }
    }
}

impl RedirectingNumber {
    /// Octets 3, 3a, 3b as their extension bits say, then the digits.
    pub(super) fn decode(data: &[u8]) -> Result<Self, IeError> {
        let (number, [_, octet3b]) = decode_number(data, 2)?;
        Ok(RedirectingNumber { number, reason: octet3b.map(RedirectionReason::from_code) })
    }

    /// A reason needs octet 3a before it: with no presentation set, 3a is sent as
    /// "allowed, user provided, not screened" (what its absence means anyway).
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        encode_number(&self.number, true, self.reason.map(RedirectionReason::code), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::pri::q931::ie::{Ie, NumberingPlan, Screening, TypeOfNumber};
    use crate::signalling::Presentation;

    #[test]
    fn golden_with_reason() {
        // 74 07 21 03 8f 31 32 33 34: national/ISDN, allowed + network provided,
        // unconditional forwarding, "1234".
        let data = [0x21, 0x03, 0x8F, b'1', b'2', b'3', b'4'];
        let r = RedirectingNumber::decode(&data).unwrap();
        assert_eq!(r.number.ton, TypeOfNumber::National);
        assert_eq!(r.number.npi, NumberingPlan::Isdn);
        assert_eq!(r.number.presentation, Some((Presentation::Allowed, Screening::NetworkProvided)));
        assert_eq!(r.reason, Some(RedirectionReason::Unconditional));
        assert_eq!(r.number.digits, "1234");
        let mut out = Vec::new();
        Ie::RedirectingNumber(r).encode(&mut out);
        assert_eq!(out, [&[0x74, 0x07][..], &data].concat());
    }

    #[test]
    fn without_octet_3b() {
        let r = RedirectingNumber::decode(&[0x21, 0xA3]).unwrap();
        assert_eq!(r.reason, None);
        assert_eq!(r.number.presentation, Some((Presentation::Restricted, Screening::NetworkProvided)));
        let r = RedirectingNumber::decode(&[0x81, b'9']).unwrap();
        assert_eq!((r.reason, r.number.presentation), (None, None));
    }

    #[test]
    fn reasons() {
        for v in 0..16 {
            assert_eq!(RedirectionReason::from_code(v).code(), v);
        }
        assert_eq!(RedirectionReason::from_code(1), RedirectionReason::Busy);
        assert_eq!(RedirectionReason::from_code(2), RedirectionReason::NoReply);
    }
}
