//! §4.5.23 Progress indicator: interworking and in-band information (early media).

use super::cause::Location;
use super::{split_group, IeError};

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

impl ProgressDescription {
    pub fn code(self) -> u8 {
        match self {
            ProgressDescription::NotEndToEndIsdn => 1,
            ProgressDescription::DestinationNotIsdn => 2,
            ProgressDescription::OriginationNotIsdn => 3,
            ProgressDescription::ReturnedToIsdn => 4,
            ProgressDescription::InterworkingServiceChange => 5,
            ProgressDescription::InbandAvailable => 8,
            ProgressDescription::Other(v) => v & 0x7F,
        }
    }
    pub fn from_code(v: u8) -> Self {
        match v & 0x7F {
            1 => ProgressDescription::NotEndToEndIsdn,
            2 => ProgressDescription::DestinationNotIsdn,
            3 => ProgressDescription::OriginationNotIsdn,
            4 => ProgressDescription::ReturnedToIsdn,
            5 => ProgressDescription::InterworkingServiceChange,
            8 => ProgressDescription::InbandAvailable,
            v => ProgressDescription::Other(v),
        }
    }
}

impl ProgressIndicator {
    /// ITU-T coding with the given location and description.
    pub fn new(location: Location, description: ProgressDescription) -> Self {
        ProgressIndicator { coding_standard: 0, location, description }
    }

    pub(super) fn decode(data: &[u8]) -> Result<Self, IeError> {
        let (group3, rest) = split_group(data)?;
        let octet3 = group3.first().copied().ok_or(IeError::TooShort)?;
        let octet4 = rest.first().copied().ok_or(IeError::TooShort)?;
        Ok(ProgressIndicator {
            coding_standard: (octet3 >> 5) & 0x03,
            location: Location::from_code(octet3),
            description: ProgressDescription::from_code(octet4),
        })
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        out.push(0x80 | ((self.coding_standard & 0x03) << 5) | self.location.code());
        out.push(0x80 | self.description.code());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::pri::q931::ie::Ie;

    #[test]
    fn golden_inband_private_local() {
        let p = ProgressIndicator::decode(&[0x81, 0x88]).unwrap();
        assert_eq!(p, ProgressIndicator::new(Location::PrivateLocal, ProgressDescription::InbandAvailable));
        assert!(p.description.inband());
        let mut out = Vec::new();
        Ie::ProgressIndicator(p).encode(&mut out);
        assert_eq!(out, [0x1E, 0x02, 0x81, 0x88]);
    }

    #[test]
    fn golden_not_end_to_end_public_local() {
        let p = ProgressIndicator::decode(&[0x82, 0x81]).unwrap();
        assert_eq!((p.location, p.description), (Location::PublicLocal, ProgressDescription::NotEndToEndIsdn));
        assert!(!ProgressDescription::DestinationNotIsdn.inband());
    }

    #[test]
    fn errors_and_codes() {
        assert_eq!(ProgressIndicator::decode(&[0x82]), Err(IeError::TooShort));
        assert_eq!(ProgressIndicator::decode(&[]), Err(IeError::TooShort));
        for v in 0..128 {
            assert_eq!(ProgressDescription::from_code(v).code(), v);
        }
    }
}
