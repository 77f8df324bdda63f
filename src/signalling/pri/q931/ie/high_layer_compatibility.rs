//! §4.5.17 High layer compatibility: the teleservice (telephony, fax group 3 …), checked
//! end to end by terminals.

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
