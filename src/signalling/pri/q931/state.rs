//! Q.931 call states (§2.1 user side U0–U25, §2.2 network side N0–N25). Both sides use
//! the same code points; `name` says which side's name applies.

use super::super::Side;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallState {
    /// 0: no call.
    Null,
    /// 1: we (user) sent SETUP / the network received it.
    CallInitiated,
    /// 2: the network asked for more digits (SETUP ACKNOWLEDGE) and the user sends them.
    OverlapSending,
    /// 3: CALL PROCEEDING for the outgoing call.
    OutgoingCallProceeding,
    /// 4: the called party is alerting (user-originated call).
    CallDelivered,
    /// 6: a SETUP was offered to the user side.
    CallPresent,
    /// 7: the user alerts (network-originated call).
    CallReceived,
    /// 8: the user answered with CONNECT and waits for CONNECT ACKNOWLEDGE.
    ConnectRequest,
    /// 9: the user sent CALL PROCEEDING for the offered call.
    IncomingCallProceeding,
    /// 10: the call is up.
    Active,
    /// 11: the user asked to clear (sent DISCONNECT) / the network received that.
    DisconnectRequest,
    /// 12: the network cleared (sent DISCONNECT) / the user received that.
    DisconnectIndication,
    /// 19: RELEASE sent, waiting for RELEASE COMPLETE.
    ReleaseRequest,
    /// 25: overlap receiving on an offered call.
    OverlapReceiving,
}

impl CallState {
    /// The code point carried in the Call state element (§4.5.7).
    pub fn code(self) -> u8 {
        match self {
            CallState::Null => 0,
            CallState::CallInitiated => 1,
            CallState::OverlapSending => 2,
            CallState::OutgoingCallProceeding => 3,
            CallState::CallDelivered => 4,
            CallState::CallPresent => 6,
            CallState::CallReceived => 7,
            CallState::ConnectRequest => 8,
            CallState::IncomingCallProceeding => 9,
            CallState::Active => 10,
            CallState::DisconnectRequest => 11,
            CallState::DisconnectIndication => 12,
            CallState::ReleaseRequest => 19,
            CallState::OverlapReceiving => 25,
        }
    }

    /// "U10" on the user side, "N10" on the network side.
    pub fn name(self, side: Side) -> String {
        format!("{}{}", if side == Side::Te { 'U' } else { 'N' }, self.code())
    }

    /// Clearing has begun (a DISCONNECT or RELEASE went one way).
    pub fn is_clearing(self) -> bool {
        matches!(self, CallState::DisconnectRequest | CallState::DisconnectIndication | CallState::ReleaseRequest)
    }

    /// Whether a peer reporting `code` in STATUS can be in step with us in `self`
    /// (§5.8.11: incompatible states are cleared with cause 101).
    pub fn compatible_with_peer(self, code: u8) -> bool {
        if self.is_clearing() || matches!(code, 11 | 12 | 19) {
            return true;
        }
        match self {
            CallState::Null => code == 0,
            CallState::Active => matches!(code, 10 | 8),
            CallState::ConnectRequest => matches!(code, 8 | 10),
            _ => code != 0 && code != 10,
        }
    }
}
