//! §4.5.23 Progress indicator: interworking and in-band information (early media).

use super::cause::Location;

/// Octet 4 bits 7–1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressDescription {
    /// 1: call is not end-to-end ISDN; further progress information may be in-band.
    NotEndToEndIsdn,
    /// 2: destination address is non-ISDN.
    DestinationNotIsdn,
    /// 3: origination address is non-ISDN.
    OriginationNotIsdn,
    /// 4: call has returned to the ISDN.
    ReturnedToIsdn,
    /// 5: interworking has occurred and has resulted in a telecommunication service change.
    InterworkingServiceChange,
    /// 8: in-band information or an appropriate pattern is now available.
    InbandAvailable,
    Other(u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgressIndicator {
    pub coding_standard: u8,
    pub location: Location,
    pub description: ProgressDescription,
}

impl ProgressDescription {
    /// Whether the far end now sends tones or announcements on the B-channel.
    pub fn inband(self) -> bool {
        matches!(self, ProgressDescription::NotEndToEndIsdn | ProgressDescription::InbandAvailable)
    }
}
