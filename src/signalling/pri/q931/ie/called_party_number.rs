//! §4.5.8 Called party number: octet 3 (type of number, numbering plan) and IA5 digits.
//! There is no octet 3a here: presentation belongs to the calling side.

use super::party_number::{decode_number, encode_number, PartyNumber};
use super::IeError;

/// Decodes the contents; a stray octet 3a (octet 3 with ext = 0) is skipped, not read
/// as a digit, so `presentation` is always `None`.
pub(super) fn decode(data: &[u8]) -> Result<PartyNumber, IeError> {
    decode_number(data, 0).map(|(n, _)| n)
}

/// Encodes the contents; `presentation` is not sent (the element has no octet 3a).
pub(super) fn encode(n: &PartyNumber, out: &mut Vec<u8>) {
    encode_number(n, false, None, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::pri::q931::ie::{Ie, NumberingPlan, TypeOfNumber};

    #[test]
    fn golden_unknown_isdn() {
        // libpri EuroISDN SETUP: 70 05 81 35 36 37 38.
        let n = decode(&[0x81, 0x35, 0x36, 0x37, 0x38]).unwrap();
        assert_eq!(n, PartyNumber::new(TypeOfNumber::Unknown, NumberingPlan::Isdn, "5678"));
        let mut out = Vec::new();
        Ie::CalledPartyNumber(n).encode(&mut out);
        assert_eq!(out, [0x70, 0x05, 0x81, 0x35, 0x36, 0x37, 0x38]);
    }

    #[test]
    fn national_with_star_and_hash() {
        let n = decode(&[0xA1, b'*', b'3', b'1', b'#']).unwrap();
        assert_eq!(n.ton, TypeOfNumber::National);
        assert_eq!(n.digits, "*31#");
    }

    #[test]
    fn empty_digits_are_allowed() {
        // Overlap sending may start with a called party number and no digits yet.
        assert_eq!(decode(&[0x80]).unwrap().digits, "");
    }

    #[test]
    fn stray_octet_3a_is_skipped() {
        let n = decode(&[0x21, 0x81, b'1']).unwrap();
        assert_eq!(n.presentation, None);
        assert_eq!(n.digits, "1");
    }

    #[test]
    fn errors() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[0x81, b'1', 0xB2]).is_err());
        assert!(decode(&[0x81, b'1', b'+']).is_err());
        // Octet 3 with ext = 0 and no terminating octet: the group never ends.
        assert!(decode(&[0x01, b'1', b'2']).is_err());
    }
}
