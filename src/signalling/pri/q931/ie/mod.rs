//! Q.931 information elements (§4.5), one file per element.
//!
//! Each element's file owns its content coding (`decode` from the octets after the length,
//! `encode` of those octets); this module owns identifiers, the `Ie` sum type and the
//! dispatch. Elements the stack does not interpret are kept raw (`Ie::Other`) so they can
//! be logged and, where the spec says so, reported with cause 99.

pub mod bearer_capability;
pub mod call_state;
pub mod called_party_number;
pub mod calling_party_number;
pub mod cause;
pub mod channel_id;
pub mod connected_number;
pub mod date_time;
pub mod display;
pub mod high_layer_compatibility;
pub mod keypad_facility;
pub mod low_layer_compatibility;
pub mod notification_indicator;
pub mod party_number;
pub mod progress_indicator;
pub mod redirecting_number;
pub mod restart_indicator;
pub mod sending_complete;
pub mod signal;
pub mod subaddress;
pub mod user_user;

pub use bearer_capability::{BearerCapability, TransferCapability, UserInfoLayer1};
pub use cause::{CauseIe, Location};
pub use channel_id::{ChannelId, ChannelSelection};
pub use date_time::DateTime;
pub use high_layer_compatibility::HighLayerCompatibility;
pub use party_number::{NumberingPlan, PartyNumber, Screening, TypeOfNumber};
pub use progress_indicator::{ProgressDescription, ProgressIndicator};
pub use redirecting_number::{RedirectingNumber, RedirectionReason};
pub use restart_indicator::RestartClass;
pub use user_user::UserUser;

/// Information element identifiers of codeset 0 (Q.931 Table 4-3).
pub mod id {
    /// Single octet, type 2: no contents.
    pub const SENDING_COMPLETE: u8 = 0xA1;
    /// Single octet, type 1: `1001 L nnn` (L: 0 locking, 1 non-locking; nnn: the codeset).
    pub const SHIFT: u8 = 0x90;
    pub const BEARER_CAPABILITY: u8 = 0x04;
    pub const CAUSE: u8 = 0x08;
    pub const CALL_IDENTITY: u8 = 0x10;
    pub const CALL_STATE: u8 = 0x14;
    pub const CHANNEL_IDENTIFICATION: u8 = 0x18;
    pub const FACILITY: u8 = 0x1C;
    pub const PROGRESS_INDICATOR: u8 = 0x1E;
    pub const NETWORK_SPECIFIC_FACILITIES: u8 = 0x20;
    pub const NOTIFICATION_INDICATOR: u8 = 0x27;
    pub const DISPLAY: u8 = 0x28;
    pub const DATE_TIME: u8 = 0x29;
    pub const KEYPAD_FACILITY: u8 = 0x2C;
    pub const SIGNAL: u8 = 0x34;
    /// Q.951 (COLP): the number of the party that answered.
    pub const CONNECTED_NUMBER: u8 = 0x4C;
    pub const CALLING_PARTY_NUMBER: u8 = 0x6C;
    pub const CALLING_PARTY_SUBADDRESS: u8 = 0x6D;
    pub const CALLED_PARTY_NUMBER: u8 = 0x70;
    pub const CALLED_PARTY_SUBADDRESS: u8 = 0x71;
    pub const REDIRECTING_NUMBER: u8 = 0x74;
    pub const TRANSIT_NETWORK_SELECTION: u8 = 0x78;
    pub const RESTART_INDICATOR: u8 = 0x79;
    pub const LOW_LAYER_COMPATIBILITY: u8 = 0x7C;
    pub const HIGH_LAYER_COMPATIBILITY: u8 = 0x7D;
    pub const USER_USER: u8 = 0x7E;
}

/// One decoded information element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ie {
    /// §4.5.27: the called number is complete (en-bloc; ends overlap sending).
    SendingComplete,
    BearerCapability(BearerCapability),
    Cause(CauseIe),
    /// §4.5.7: the call state value (U0–U25 / N0–N25 code points), in STATUS.
    CallState(u8),
    ChannelId(ChannelId),
    /// §4.5.15: supplementary-service APDUs, carried opaque.
    Facility(Vec<u8>),
    ProgressIndicator(ProgressIndicator),
    /// §4.5.20: notification description (e.g. 0x71 call is diverting), without the ext bit.
    NotificationIndicator(u8),
    /// §4.5.16: display octets as received; the profile says how to read them (IA5, GBK …).
    Display(Vec<u8>),
    DateTime(DateTime),
    /// §4.5.18: IA5 characters (overlap digits from some terminals).
    KeypadFacility(String),
    /// §4.5.28: signal value (dial tone on, ringback on, tones off …).
    Signal(u8),
    ConnectedNumber(PartyNumber),
    CallingPartyNumber(PartyNumber),
    CallingPartySubaddress(Vec<u8>),
    CalledPartyNumber(PartyNumber),
    CalledPartySubaddress(Vec<u8>),
    RedirectingNumber(RedirectingNumber),
    RestartIndicator(RestartClass),
    /// §4.5.19: carried transparently end to end.
    LowLayerCompatibility(Vec<u8>),
    HighLayerCompatibility(HighLayerCompatibility),
    UserUser(UserUser),
    /// An element this stack does not interpret, or one of another codeset: kept raw.
    Other { codeset: u8, id: u8, data: Vec<u8> },
}

/// Why an element's contents could not be used (its message may still be usable).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IeError {
    #[error("too short")]
    TooShort,
    #[error("too long")]
    TooLong,
    #[error("bad value in octet {octet}: {value:#04x}")]
    BadValue { octet: &'static str, value: u8 },
    #[error("coding standard {0} not supported")]
    CodingStandard(u8),
}

impl Ie {
    /// The element identifier (for `Other`: the one received).
    pub fn id(&self) -> u8 {
        todo!()
    }

    /// The spec's name, for traces ("Channel identification").
    pub fn name(&self) -> &'static str {
        todo!()
    }

    /// Decodes the contents of a codeset 0 element `id` (octets after the length octet).
    pub fn decode(id: u8, data: &[u8]) -> Result<Ie, IeError> {
        let _ = (id, data);
        todo!()
    }

    /// Appends identifier, length and contents (single-octet elements: the one octet).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let _ = out;
        todo!()
    }
}
