//! Q.951 §8 (COLP) Connected number: the number of the party that answered, coded as the
//! calling party number (octet 3, optional octet 3a, digits).

use super::party_number::PartyNumber;
use super::{calling_party_number, IeError};

pub(super) fn decode(data: &[u8]) -> Result<PartyNumber, IeError> {
    calling_party_number::decode(data)
}

pub(super) fn encode(n: &PartyNumber, out: &mut Vec<u8>) {
    calling_party_number::encode(n, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::pri::q931::ie::{Ie, NumberingPlan, Screening, TypeOfNumber};
    use crate::signalling::Presentation;

    #[test]
    fn golden() {
        // 4c 06 01 81 35 36 37 38: unknown/ISDN, allowed, user provided verified and passed.
        let n = decode(&[0x01, 0x81, b'5', b'6', b'7', b'8']).unwrap();
        assert_eq!(n.ton, TypeOfNumber::Unknown);
        assert_eq!(n.npi, NumberingPlan::Isdn);
        assert_eq!(n.presentation, Some((Presentation::Allowed, Screening::UserProvidedVerifiedPassed)));
        let mut out = Vec::new();
        Ie::ConnectedNumber(n).encode(&mut out);
        assert_eq!(out, [0x4C, 0x06, 0x01, 0x81, b'5', b'6', b'7', b'8']);
    }
}
