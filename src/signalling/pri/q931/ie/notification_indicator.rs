//! §4.5.22 Notification indicator: octet 3 = ext | notification description (bits 7–1),
//! e.g. 0x00 user suspended, 0x01 user resumed, 0x02 bearer service change, 0x7B call is
//! diverting (ETSI EN 300 207-1).

use super::{split_group, IeError};

/// Notification descriptions: 0x00–0x02 from Q.931, the rest from Q.932 / ETSI supplementary services.
pub mod description {
    pub const USER_SUSPENDED: u8 = 0x00;
    pub const USER_RESUMED: u8 = 0x01;
    pub const BEARER_SERVICE_CHANGE: u8 = 0x02;
    pub const REMOTE_HOLD: u8 = 0x79;
    pub const REMOTE_RETRIEVAL: u8 = 0x7A;
    pub const CALL_IS_DIVERTING: u8 = 0x7B;
}

/// Returns the description without the ext bit. Extension octets (Q.932's extended
/// descriptions) are skipped.
pub(super) fn decode(data: &[u8]) -> Result<u8, IeError> {
    let (group3, _) = split_group(data)?;
    group3.first().map(|o| o & 0x7F).ok_or(IeError::TooShort)
}

pub(super) fn encode(description: u8, out: &mut Vec<u8>) {
    out.push(0x80 | (description & 0x7F));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::pri::q931::ie::Ie;

    #[test]
    fn golden_remote_hold() {
        assert_eq!(decode(&[0xF9]), Ok(description::REMOTE_HOLD));
        let mut out = Vec::new();
        Ie::NotificationIndicator(description::REMOTE_HOLD).encode(&mut out);
        assert_eq!(out, [0x27, 0x01, 0xF9]);
    }

    #[test]
    fn errors() {
        assert_eq!(decode(&[]), Err(IeError::TooShort));
        assert_eq!(decode(&[0x01]), Err(IeError::TooShort));
        assert_eq!(decode(&[0x01, 0x85]), Ok(description::USER_RESUMED));
    }
}
