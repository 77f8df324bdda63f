//! §4.5.5 Bearer capability: what the call carries (speech, 3.1 kHz audio, 64k data) and
//! at layer 1 which G.711 law.

use super::{split_group, IeError};

/// Octet 3, bits 5–1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferCapability {
    Speech,
    UnrestrictedDigital,
    RestrictedDigital,
    Audio3k1,
    UnrestrictedDigitalWithTones,
    Video,
    Reserved(u8),
}

/// Octet 5, user information layer 1 protocol (bits 5–1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserInfoLayer1 {
    V110,
    Ulaw,
    Alaw,
    G721,
    Other(u8),
}

/// The parts of the element a gateway acts on; the layer 1 extension octets 5a–5d and the
/// layer 2/3 octets 6/7 are kept raw (`rest`) so a transit call passes them on unchanged.
/// Octets 4a/4b of the 1988 coding (structure, configuration, symmetry; deleted in 1993)
/// are skipped when received and never sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BearerCapability {
    /// Octet 3 bits 7–6: 0 = ITU-T. Others are decoded but flagged.
    pub coding_standard: u8,
    pub transfer_capability: TransferCapability,
    /// Octet 4 bits 7–6: 0 = circuit mode.
    pub transfer_mode: u8,
    /// Octet 4 bits 5–1: 0x10 = 64 kbit/s, 0x18 = multirate …
    pub transfer_rate: u8,
    /// Octet 4.1 rate multiplier, present only when `transfer_rate` is multirate (0x18).
    pub rate_multiplier: Option<u8>,
    /// Octet 5 (layer 1 id 01), when present.
    pub layer1: Option<UserInfoLayer1>,
    /// The octets after octet 5 (layer 2/3 octets 6 and 7) as received, or, when octet 5
    /// has extension octets 5a–5d, everything from octet 5 itself on: the encoder then
    /// sends `rest` verbatim in place of `layer1`, which just mirrors octet 5's protocol.
    /// (Octet 5's ext bit cannot be rebuilt from 5a: its bits 7–6 may look like a layer 6
    /// or 7 identifier.) An octet 5 is recognised by its layer identifier bits 7–6 = 01.
    pub rest: Vec<u8>,
}

impl BearerCapability {
    /// Speech at 64 kbit/s circuit mode with the given G.711 law: what telephony calls use.
    pub fn speech(layer1: UserInfoLayer1) -> Self {
        BearerCapability {
            coding_standard: 0,
            transfer_capability: TransferCapability::Speech,
            transfer_mode: 0,
            transfer_rate: 0x10,
            rate_multiplier: None,
            layer1: Some(layer1),
            rest: Vec::new(),
        }
    }
}

/// Octet 4 transfer rate (bits 5–1) values.
pub mod rate {
    pub const KBIT_64: u8 = 0x10;
    pub const KBIT_2X64: u8 = 0x11;
    pub const KBIT_384: u8 = 0x13;
    pub const KBIT_1536: u8 = 0x15;
    pub const KBIT_1920: u8 = 0x17;
    /// Multirate (64 kbit/s base rate): octet 4.1 carries the multiplier.
    pub const MULTIRATE: u8 = 0x18;
}

/// Layer identifier (bits 7–6) of octet 5: layer 1.
const LAYER1_ID: u8 = 0x20;

impl TransferCapability {
    pub fn code(self) -> u8 {
        match self {
            TransferCapability::Speech => 0x00,
            TransferCapability::UnrestrictedDigital => 0x08,
            TransferCapability::RestrictedDigital => 0x09,
            TransferCapability::Audio3k1 => 0x10,
            TransferCapability::UnrestrictedDigitalWithTones => 0x11,
            TransferCapability::Video => 0x18,
            TransferCapability::Reserved(v) => v & 0x1F,
        }
    }
    pub fn from_code(v: u8) -> Self {
        match v & 0x1F {
            0x00 => TransferCapability::Speech,
            0x08 => TransferCapability::UnrestrictedDigital,
            0x09 => TransferCapability::RestrictedDigital,
            0x10 => TransferCapability::Audio3k1,
            0x11 => TransferCapability::UnrestrictedDigitalWithTones,
            0x18 => TransferCapability::Video,
            v => TransferCapability::Reserved(v),
        }
    }
}

impl UserInfoLayer1 {
    pub fn code(self) -> u8 {
        match self {
            UserInfoLayer1::V110 => 0x01,
            UserInfoLayer1::Ulaw => 0x02,
            UserInfoLayer1::Alaw => 0x03,
            UserInfoLayer1::G721 => 0x04,
            UserInfoLayer1::Other(v) => v & 0x1F,
        }
    }
    pub fn from_code(v: u8) -> Self {
        match v & 0x1F {
            0x01 => UserInfoLayer1::V110,
            0x02 => UserInfoLayer1::Ulaw,
            0x03 => UserInfoLayer1::Alaw,
            0x04 => UserInfoLayer1::G721,
            v => UserInfoLayer1::Other(v),
        }
    }
}

impl BearerCapability {
    pub(super) fn decode(data: &[u8]) -> Result<Self, IeError> {
        // Octet 3 (extension octets, none defined since 1993, skipped).
        let (group3, rest) = split_group(data)?;
        let octet3 = group3.first().copied().ok_or(IeError::TooShort)?;
        // Octet 4 (4a/4b of the 1988 coding skipped).
        let (group4, mut rest) = split_group(rest)?;
        let octet4 = group4.first().copied().ok_or(IeError::TooShort)?;
        let transfer_rate = octet4 & 0x1F;
        let mut rate_multiplier = None;
        if transfer_rate == rate::MULTIRATE {
            let (&octet4_1, tail) = rest.split_first().ok_or(IeError::TooShort)?;
            rate_multiplier = Some(octet4_1 & 0x7F);
            rest = tail;
        }
        let mut layer1 = None;
        if let Some((&octet5, after5)) = rest.split_first() {
            if octet5 & 0x60 == LAYER1_ID {
                layer1 = Some(UserInfoLayer1::from_code(octet5));
                // With 5a.. following (ext = 0), or a malformed second layer 1 octet, octet 5
                // stays in `rest` so the encoder passes it on verbatim (see `rest`).
                let next_is_layer1 = after5.first().is_some_and(|o| o & 0x60 == LAYER1_ID);
                if octet5 & 0x80 != 0 && !next_is_layer1 {
                    rest = after5;
                }
            }
        }
        Ok(BearerCapability {
            coding_standard: (octet3 >> 5) & 0x03,
            transfer_capability: TransferCapability::from_code(octet3),
            transfer_mode: (octet4 >> 5) & 0x03,
            transfer_rate,
            rate_multiplier,
            layer1,
            rest: rest.to_vec(),
        })
    }

    /// Multirate without a multiplier is sent with multiplier 1 (octet 4.1 is mandatory
    /// then); a multiplier with another rate is not sent.
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        out.push(0x80 | ((self.coding_standard & 0x03) << 5) | self.transfer_capability.code());
        out.push(0x80 | ((self.transfer_mode & 0x03) << 5) | (self.transfer_rate & 0x1F));
        if self.transfer_rate & 0x1F == rate::MULTIRATE {
            out.push(0x80 | (self.rate_multiplier.unwrap_or(1) & 0x7F));
        }
        let rest_has_octet5 = self.rest.first().is_some_and(|o| o & 0x60 == LAYER1_ID);
        if !rest_has_octet5 {
            if let Some(l1) = self.layer1 {
                out.push(0x80 | LAYER1_ID | l1.code());
            }
        }
        out.extend_from_slice(&self.rest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::pri::q931::ie::Ie;

    fn encoded(b: &BearerCapability) -> Vec<u8> {
        let mut out = Vec::new();
        Ie::BearerCapability(b.clone()).encode(&mut out);
        out
    }

    #[test]
    fn golden_speech_alaw() {
        let b = BearerCapability::decode(&[0x80, 0x90, 0xA3]).unwrap();
        assert_eq!(b, BearerCapability::speech(UserInfoLayer1::Alaw));
        assert_eq!(encoded(&b), [0x04, 0x03, 0x80, 0x90, 0xA3]);
    }

    #[test]
    fn golden_audio_3k1_ulaw() {
        let b = BearerCapability::decode(&[0x90, 0x90, 0xA2]).unwrap();
        assert_eq!(b.transfer_capability, TransferCapability::Audio3k1);
        assert_eq!(b.layer1, Some(UserInfoLayer1::Ulaw));
        assert_eq!(encoded(&b), [0x04, 0x03, 0x90, 0x90, 0xA2]);
    }

    #[test]
    fn golden_unrestricted_digital_without_octet_5() {
        let b = BearerCapability::decode(&[0x88, 0x90]).unwrap();
        assert_eq!(b.transfer_capability, TransferCapability::UnrestrictedDigital);
        assert_eq!((b.transfer_rate, b.layer1), (rate::KBIT_64, None));
        assert_eq!(encoded(&b), [0x04, 0x02, 0x88, 0x90]);
    }

    #[test]
    fn v110_with_octet_5a_passes_through() {
        // 04 04 88 90 21 8f: V.110, 5a = synchronous, 56 kbit/s.
        let b = BearerCapability::decode(&[0x88, 0x90, 0x21, 0x8F]).unwrap();
        assert_eq!(b.layer1, Some(UserInfoLayer1::V110));
        assert_eq!(b.rest, [0x21, 0x8F]);
        assert_eq!(encoded(&b), [0x04, 0x04, 0x88, 0x90, 0x21, 0x8F]);
    }

    #[test]
    fn second_layer1_octet_is_kept_verbatim() {
        let b = BearerCapability::decode(&[0x80, 0x90, 0xA3, 0xA2]).unwrap();
        assert_eq!((b.layer1, b.rest.as_slice()), (Some(UserInfoLayer1::Alaw), &[0xA3, 0xA2][..]));
        assert_eq!(encoded(&b)[2..], [0x80, 0x90, 0xA3, 0xA2]);
    }

    #[test]
    fn multirate_and_layer_2_3() {
        // 6 x 64k unrestricted, then octet 6 (layer 2, Q.921) and 7 (layer 3, X.25).
        let data = [0x88, 0x98, 0x86, 0xC2, 0xE6];
        let b = BearerCapability::decode(&data).unwrap();
        assert_eq!((b.transfer_rate, b.rate_multiplier), (rate::MULTIRATE, Some(6)));
        assert_eq!(b.layer1, None);
        assert_eq!(b.rest, [0xC2, 0xE6]);
        assert_eq!(encoded(&b)[2..], data);
    }

    #[test]
    fn obsolete_octets_4a_4b_are_skipped() {
        let b = BearerCapability::decode(&[0x80, 0x10, 0x20, 0x80, 0xA3]).unwrap();
        assert_eq!(b, BearerCapability::speech(UserInfoLayer1::Alaw));
    }

    #[test]
    fn errors() {
        assert_eq!(BearerCapability::decode(&[]), Err(IeError::TooShort));
        assert_eq!(BearerCapability::decode(&[0x80]), Err(IeError::TooShort));
        assert_eq!(BearerCapability::decode(&[0x88, 0x98]), Err(IeError::TooShort));
    }

    #[test]
    fn codes_round_trip() {
        for v in 0..32 {
            assert_eq!(TransferCapability::from_code(v).code(), v);
            assert_eq!(UserInfoLayer1::from_code(v).code(), v);
        }
    }
}
