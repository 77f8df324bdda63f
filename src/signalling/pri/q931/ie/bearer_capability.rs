//! §4.5.5 Bearer capability: what the call carries (speech, 3.1 kHz audio, 64k data) and
//! at layer 1 which G.711 law.

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

/// The parts of the element a gateway acts on; octets 4a/4b (multirate, structure …) and
/// the layer 2/3 octets 6/7 are kept raw so a transit call passes them on unchanged.
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
    /// Octets 5a.. and the layer 2/3 octets 6/7 as received.
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
