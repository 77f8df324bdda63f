//! §4.5.7 Call state: octet 3 = coding standard (bits 8–7) | call state value (bits 6–1).
//! Sent in STATUS so the peer can check its state against ours (§5.8.11).

use super::IeError;

/// Call state values (§4.5.7), the same code points for U and N states.
pub mod state {
    pub const NULL: u8 = 0;
    pub const CALL_INITIATED: u8 = 1;
    pub const OVERLAP_SENDING: u8 = 2;
    pub const OUTGOING_CALL_PROCEEDING: u8 = 3;
    pub const CALL_DELIVERED: u8 = 4;
    pub const CALL_PRESENT: u8 = 6;
    pub const CALL_RECEIVED: u8 = 7;
    pub const CONNECT_REQUEST: u8 = 8;
    pub const INCOMING_CALL_PROCEEDING: u8 = 9;
    pub const ACTIVE: u8 = 10;
    pub const DISCONNECT_REQUEST: u8 = 11;
    pub const DISCONNECT_INDICATION: u8 = 12;
    pub const SUSPEND_REQUEST: u8 = 15;
    pub const RESUME_REQUEST: u8 = 17;
    pub const RELEASE_REQUEST: u8 = 19;
    pub const OVERLAP_RECEIVING: u8 = 25;
    /// Global call reference states (REST 0–2).
    pub const REST_0: u8 = 0;
    pub const REST_1: u8 = 0x3D;
    pub const REST_2: u8 = 0x3E;
}

/// Returns bits 6–1. Only ITU-T coding is accepted: another standard's value means
/// something else, and comparing it with our state would be wrong. Values are not
/// checked against the defined states (the protocol layer compares them with its own state).
pub(super) fn decode(data: &[u8]) -> Result<u8, IeError> {
    let &octet3 = data.first().ok_or(IeError::TooShort)?;
    match octet3 >> 6 {
        0 => Ok(octet3 & 0x3F),
        coding => Err(IeError::CodingStandard(coding)),
    }
}

pub(super) fn encode(value: u8, out: &mut Vec<u8>) {
    out.push(value & 0x3F);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::pri::q931::ie::Ie;

    #[test]
    fn golden_active() {
        assert_eq!(decode(&[0x0A]), Ok(state::ACTIVE));
        let mut out = Vec::new();
        Ie::CallState(state::ACTIVE).encode(&mut out);
        assert_eq!(out, [0x14, 0x01, 0x0A]);
    }

    #[test]
    fn rest_states_and_errors() {
        assert_eq!(decode(&[0x3D]), Ok(state::REST_1));
        assert_eq!(decode(&[0xCA]), Err(IeError::CodingStandard(3)));
        assert_eq!(decode(&[]), Err(IeError::TooShort));
    }
}
