//! §4.5.10 Calling party number: octet 3, optional octet 3a (presentation and
//! screening), then IA5 digits.

use super::party_number::{decode_number, encode_number, PartyNumber};
use super::IeError;

/// Decodes the contents. A restricted number may legally carry no digits at all.
pub(super) fn decode(data: &[u8]) -> Result<PartyNumber, IeError> {
    decode_number(data, 1).map(|(n, _)| n)
}

/// Encodes the contents: octet 3a is sent exactly when `presentation` is `Some`.
pub(super) fn encode(n: &PartyNumber, out: &mut Vec<u8>) {
    encode_number(n, true, None, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::pri::q931::ie::{Ie, NumberingPlan, Screening, TypeOfNumber};
    use crate::signalling::Presentation;

    #[test]
    fn golden_national_with_octet_3a() {
        // libpri EuroISDN SETUP: 6c 06 21 81 31 32 33 34.
        let n = decode(&[0x21, 0x81, 0x31, 0x32, 0x33, 0x34]).unwrap();
        assert_eq!(n.ton, TypeOfNumber::National);
        assert_eq!(n.npi, NumberingPlan::Isdn);
        assert_eq!(n.presentation, Some((Presentation::Allowed, Screening::UserProvidedVerifiedPassed)));
        assert_eq!(n.digits, "1234");
        let mut out = Vec::new();
        Ie::CallingPartyNumber(n).encode(&mut out);
        assert_eq!(out, [0x6C, 0x06, 0x21, 0x81, 0x31, 0x32, 0x33, 0x34]);
    }

    #[test]
    fn golden_without_octet_3a() {
        let n = decode(&[0x91, b'4', b'9']).unwrap();
        assert_eq!(n, PartyNumber::new(TypeOfNumber::International, NumberingPlan::Isdn, "49"));
        let mut out = Vec::new();
        encode(&n, &mut out);
        assert_eq!(out, [0x91, b'4', b'9']);
    }

    #[test]
    fn restricted_without_digits() {
        // 6c 02 21 a3: presentation restricted, network provided, no digits.
        let n = decode(&[0x21, 0xA3]).unwrap();
        assert_eq!(n.presentation, Some((Presentation::Restricted, Screening::NetworkProvided)));
        assert_eq!(n.digits, "");
        let mut out = Vec::new();
        encode(&n, &mut out);
        assert_eq!(out, [0x21, 0xA3]);
    }

    #[test]
    fn not_available_due_to_interworking() {
        let n = decode(&[0x00, 0xC3]).unwrap();
        assert_eq!(n.presentation, Some((Presentation::Unavailable, Screening::NetworkProvided)));
    }

    #[test]
    fn unknown_extension_octets_are_skipped() {
        let n = decode(&[0x21, 0x01, 0x85, b'7']).unwrap();
        assert_eq!(n.presentation, Some((Presentation::Allowed, Screening::UserProvidedVerifiedPassed)));
        assert_eq!(n.digits, "7");
    }

    #[test]
    fn bad_digit_is_a_content_error() {
        assert!(decode(&[0x81, b'1', b'x']).is_err());
    }
}
