//! §4.5.17 High layer compatibility: the teleservice (telephony, fax group 3 …), checked
//! end to end by terminals.

use super::{split_group, IeError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HighLayerCompatibility {
    /// Octet 3 bits 7–6.
    pub coding_standard: u8,
    /// Octet 3 bits 5–3 (4 = first high layer characteristics identification to be used).
    pub interpretation: u8,
    /// Octet 3 bits 2–1 (1 = high layer protocol profile).
    pub presentation: u8,
    /// Octet 4 bits 7–1: 0x01 telephony, 0x04 facsimile group 2/3 …
    pub characteristics: u8,
    /// Octet 4a, when present.
    pub extended: Option<u8>,
}

impl HighLayerCompatibility {
    /// ITU-T telephony (what analogue and ISDN phones send): `91 81`.
    pub fn telephony() -> Self {
        HighLayerCompatibility {
            coding_standard: 0,
            interpretation: 4,
            presentation: 1,
            characteristics: 0x01,
            extended: None,
        }
    }

    /// Octet 3, octet 4 and, when octet 4's ext bit is 0, octet 4a.
    pub(super) fn decode(data: &[u8]) -> Result<Self, IeError> {
        let (group3, rest) = split_group(data)?;
        let octet3 = group3.first().copied().ok_or(IeError::TooShort)?;
        let (group4, _) = split_group(rest)?;
        let (&octet4, ext) = group4.split_first().ok_or(IeError::TooShort)?;
        Ok(HighLayerCompatibility {
            coding_standard: (octet3 >> 5) & 0x03,
            interpretation: (octet3 >> 2) & 0x07,
            presentation: octet3 & 0x03,
            characteristics: octet4 & 0x7F,
            extended: ext.first().map(|o| o & 0x7F),
        })
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        out.push(
            0x80 | ((self.coding_standard & 0x03) << 5)
                | ((self.interpretation & 0x07) << 2)
                | (self.presentation & 0x03),
        );
        match self.extended {
            None => out.push(0x80 | (self.characteristics & 0x7F)),
            Some(e) => out.extend([self.characteristics & 0x7F, 0x80 | (e & 0x7F)]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::pri::q931::ie::Ie;

    #[test]
    fn golden_telephony() {
        let h = HighLayerCompatibility::decode(&[0x91, 0x81]).unwrap();
        assert_eq!(h, HighLayerCompatibility::telephony());
        let mut out = Vec::new();
        Ie::HighLayerCompatibility(h).encode(&mut out);
        assert_eq!(out, [0x7D, 0x02, 0x91, 0x81]);
    }

    #[test]
    fn golden_with_octet_4a() {
        // Maintenance (0x5E) with extended characteristics fax G3 (0x04).
        let h = HighLayerCompatibility::decode(&[0x91, 0x5E, 0x84]).unwrap();
        assert_eq!((h.characteristics, h.extended), (0x5E, Some(0x04)));
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out, [0x91, 0x5E, 0x84]);
    }

    #[test]
    fn errors() {
        assert_eq!(HighLayerCompatibility::decode(&[0x91]), Err(IeError::TooShort));
        assert_eq!(HighLayerCompatibility::decode(&[0x91, 0x5E]), Err(IeError::TooShort));
    }
}
