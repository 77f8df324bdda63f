//! §4.5.28 Signal: octet 3 = signal value (a whole octet, no ext bit). The network asks
//! the user's terminal to play a tone or alerting pattern.

use super::IeError;

/// Signal values (§4.5.28).
pub mod value {
    pub const DIAL_TONE_ON: u8 = 0x00;
    pub const RING_BACK_TONE_ON: u8 = 0x01;
    pub const INTERCEPT_TONE_ON: u8 = 0x02;
    pub const NETWORK_CONGESTION_TONE_ON: u8 = 0x03;
    pub const BUSY_TONE_ON: u8 = 0x04;
    pub const CONFIRM_TONE_ON: u8 = 0x05;
    pub const ANSWER_TONE_ON: u8 = 0x06;
    pub const CALL_WAITING_TONE_ON: u8 = 0x07;
    pub const OFF_HOOK_WARNING_TONE_ON: u8 = 0x08;
    pub const PREEMPTION_TONE_ON: u8 = 0x09;
    pub const TONES_OFF: u8 = 0x3F;
    /// 0x40 + pattern (0–7).
    pub const ALERTING_ON_PATTERN_0: u8 = 0x40;
    pub const ALERTING_OFF: u8 = 0x4F;
}

/// Octets after octet 3 (none are defined) are ignored.
pub(super) fn decode(data: &[u8]) -> Result<u8, IeError> {
    data.first().copied().ok_or(IeError::TooShort)
}

pub(super) fn encode(v: u8, out: &mut Vec<u8>) {
    out.push(v);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::pri::q931::ie::Ie;

    #[test]
    fn golden_tones_off() {
        assert_eq!(decode(&[0x3F]), Ok(value::TONES_OFF));
        let mut out = Vec::new();
        Ie::Signal(value::TONES_OFF).encode(&mut out);
        assert_eq!(out, [0x34, 0x01, 0x3F]);
        assert_eq!(decode(&[]), Err(IeError::TooShort));
    }
}
