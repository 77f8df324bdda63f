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
    /// Variable length, comprehension required: we do not reassemble segments.
    pub const SEGMENTED_MESSAGE: u8 = 0x00;
    /// Single octet, type 2 (USER INFORMATION).
    pub const MORE_DATA: u8 = 0xA0;
    /// Single octet, type 1: `1011 vvvv` (CONGESTION CONTROL).
    pub const CONGESTION_LEVEL: u8 = 0xB0;
    /// Single octet, type 1: `1101 vvvv`; precedes a repeated element (bearer capability …).
    pub const REPEAT_INDICATOR: u8 = 0xD0;
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
    /// Q.932 Facility: supplementary-service APDUs, carried opaque.
    Facility(Vec<u8>),
    ProgressIndicator(ProgressIndicator),
    /// §4.5.22: notification description (e.g. 0x7B call is diverting), without the ext bit.
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
    Other {
        codeset: u8,
        id: u8,
        data: Vec<u8>,
    },
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
        match self {
            Ie::SendingComplete => id::SENDING_COMPLETE,
            Ie::BearerCapability(_) => id::BEARER_CAPABILITY,
            Ie::Cause(_) => id::CAUSE,
            Ie::CallState(_) => id::CALL_STATE,
            Ie::ChannelId(_) => id::CHANNEL_IDENTIFICATION,
            Ie::Facility(_) => id::FACILITY,
            Ie::ProgressIndicator(_) => id::PROGRESS_INDICATOR,
            Ie::NotificationIndicator(_) => id::NOTIFICATION_INDICATOR,
            Ie::Display(_) => id::DISPLAY,
            Ie::DateTime(_) => id::DATE_TIME,
            Ie::KeypadFacility(_) => id::KEYPAD_FACILITY,
            Ie::Signal(_) => id::SIGNAL,
            Ie::ConnectedNumber(_) => id::CONNECTED_NUMBER,
            Ie::CallingPartyNumber(_) => id::CALLING_PARTY_NUMBER,
            Ie::CallingPartySubaddress(_) => id::CALLING_PARTY_SUBADDRESS,
            Ie::CalledPartyNumber(_) => id::CALLED_PARTY_NUMBER,
            Ie::CalledPartySubaddress(_) => id::CALLED_PARTY_SUBADDRESS,
            Ie::RedirectingNumber(_) => id::REDIRECTING_NUMBER,
            Ie::RestartIndicator(_) => id::RESTART_INDICATOR,
            Ie::LowLayerCompatibility(_) => id::LOW_LAYER_COMPATIBILITY,
            Ie::HighLayerCompatibility(_) => id::HIGH_LAYER_COMPATIBILITY,
            Ie::UserUser(_) => id::USER_USER,
            Ie::Other { id, .. } => *id,
        }
    }

    /// The codeset the element belongs to (0 for everything but `Other`).
    pub fn codeset(&self) -> u8 {
        match self {
            Ie::Other { codeset, .. } => *codeset,
            _ => 0,
        }
    }

    /// The spec's name, for traces ("Channel identification").
    pub fn name(&self) -> &'static str {
        name_of(self.codeset(), self.id())
    }

    /// Decodes the contents of a codeset 0 element `id` (octets after the length octet).
    ///
    /// Identifiers this stack does not interpret (and single-octet elements other than
    /// Sending complete) come back as `Ie::Other { codeset: 0, .. }`; whether that is a
    /// problem is the message decoder's call (see [`is_interpreted`]).
    pub fn decode(id: u8, data: &[u8]) -> Result<Ie, IeError> {
        Ok(match id {
            id::SENDING_COMPLETE => Ie::SendingComplete,
            id::BEARER_CAPABILITY => Ie::BearerCapability(BearerCapability::decode(data)?),
            id::CAUSE => Ie::Cause(CauseIe::decode(data)?),
            id::CALL_STATE => Ie::CallState(call_state::decode(data)?),
            id::CHANNEL_IDENTIFICATION => Ie::ChannelId(ChannelId::decode(data)?),
            id::FACILITY => Ie::Facility(data.to_vec()),
            id::PROGRESS_INDICATOR => Ie::ProgressIndicator(ProgressIndicator::decode(data)?),
            id::NOTIFICATION_INDICATOR => Ie::NotificationIndicator(notification_indicator::decode(data)?),
            id::DISPLAY => Ie::Display(display::decode(data)?),
            id::DATE_TIME => Ie::DateTime(DateTime::decode(data)?),
            id::KEYPAD_FACILITY => Ie::KeypadFacility(keypad_facility::decode(data)?),
            id::SIGNAL => Ie::Signal(signal::decode(data)?),
            id::CONNECTED_NUMBER => Ie::ConnectedNumber(connected_number::decode(data)?),
            id::CALLING_PARTY_NUMBER => Ie::CallingPartyNumber(calling_party_number::decode(data)?),
            id::CALLING_PARTY_SUBADDRESS => Ie::CallingPartySubaddress(subaddress::decode(data)?),
            id::CALLED_PARTY_NUMBER => Ie::CalledPartyNumber(called_party_number::decode(data)?),
            id::CALLED_PARTY_SUBADDRESS => Ie::CalledPartySubaddress(subaddress::decode(data)?),
            id::REDIRECTING_NUMBER => Ie::RedirectingNumber(RedirectingNumber::decode(data)?),
            id::RESTART_INDICATOR => Ie::RestartIndicator(RestartClass::decode(data)?),
            id::LOW_LAYER_COMPATIBILITY => Ie::LowLayerCompatibility(low_layer_compatibility::decode(data)?),
            id::HIGH_LAYER_COMPATIBILITY => Ie::HighLayerCompatibility(HighLayerCompatibility::decode(data)?),
            id::USER_USER => Ie::UserUser(UserUser::decode(data)?),
            _ if id & 0x80 != 0 => Ie::Other { codeset: 0, id, data: Vec::new() },
            _ => Ie::Other { codeset: 0, id, data: data.to_vec() },
        })
    }

    /// Appends identifier, length and contents (single-octet elements: the one octet).
    ///
    /// Contents longer than 255 octets cannot be framed and are cut at 255 (no element we
    /// send comes near that; the spec's maxima are far lower). Shift is not an element
    /// here: codeset changes are the message encoder's job.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let id = self.id();
        if id & 0x80 != 0 {
            // Single octet (type 1 or 2): the identifier octet carries everything.
            out.push(id);
            return;
        }
        out.push(id);
        let len_at = out.len();
        out.push(0);
        let start = out.len();
        match self {
            Ie::SendingComplete => {}
            Ie::BearerCapability(b) => b.encode(out),
            Ie::Cause(c) => c.encode(out),
            Ie::CallState(s) => call_state::encode(*s, out),
            Ie::ChannelId(c) => c.encode(out),
            Ie::Facility(d) => out.extend_from_slice(d),
            Ie::Display(d) => display::encode(d, out),
            Ie::ProgressIndicator(p) => p.encode(out),
            Ie::NotificationIndicator(n) => notification_indicator::encode(*n, out),
            Ie::DateTime(d) => d.encode(out),
            Ie::KeypadFacility(k) => keypad_facility::encode(k, out),
            Ie::Signal(s) => signal::encode(*s, out),
            Ie::ConnectedNumber(n) => connected_number::encode(n, out),
            Ie::CallingPartyNumber(n) => calling_party_number::encode(n, out),
            Ie::CalledPartyNumber(n) => called_party_number::encode(n, out),
            Ie::CallingPartySubaddress(d) | Ie::CalledPartySubaddress(d) => subaddress::encode(d, out),
            Ie::RedirectingNumber(r) => r.encode(out),
            Ie::RestartIndicator(r) => r.encode(out),
            Ie::LowLayerCompatibility(d) => low_layer_compatibility::encode(d, out),
            Ie::HighLayerCompatibility(h) => h.encode(out),
            Ie::UserUser(u) => u.encode(out),
            Ie::Other { data, .. } => out.extend_from_slice(data),
        }
        let len = out.len() - start;
        if len > 255 {
            out.truncate(start + 255);
        }
        out[len_at] = len.min(255) as u8;
    }
}

/// The spec's name of element `id` of `codeset`, for traces and diagnostics.
pub fn name_of(codeset: u8, ie_id: u8) -> &'static str {
    if codeset != 0 {
        return "Other codeset element";
    }
    match ie_id {
        id::SENDING_COMPLETE => "Sending complete",
        id::MORE_DATA => "More data",
        _ if ie_id & 0xF0 == id::SHIFT => "Shift",
        _ if ie_id & 0xF0 == id::CONGESTION_LEVEL => "Congestion level",
        _ if ie_id & 0xF0 == id::REPEAT_INDICATOR => "Repeat indicator",
        id::SEGMENTED_MESSAGE => "Segmented message",
        id::BEARER_CAPABILITY => "Bearer capability",
        id::CAUSE => "Cause",
        id::CALL_IDENTITY => "Call identity",
        id::CALL_STATE => "Call state",
        id::CHANNEL_IDENTIFICATION => "Channel identification",
        id::FACILITY => "Facility",
        id::PROGRESS_INDICATOR => "Progress indicator",
        id::NETWORK_SPECIFIC_FACILITIES => "Network-specific facilities",
        id::NOTIFICATION_INDICATOR => "Notification indicator",
        id::DISPLAY => "Display",
        id::DATE_TIME => "Date/time",
        id::KEYPAD_FACILITY => "Keypad facility",
        id::SIGNAL => "Signal",
        id::CONNECTED_NUMBER => "Connected number",
        id::CALLING_PARTY_NUMBER => "Calling party number",
        id::CALLING_PARTY_SUBADDRESS => "Calling party subaddress",
        id::CALLED_PARTY_NUMBER => "Called party number",
        id::CALLED_PARTY_SUBADDRESS => "Called party subaddress",
        id::REDIRECTING_NUMBER => "Redirecting number",
        id::TRANSIT_NETWORK_SELECTION => "Transit network selection",
        id::RESTART_INDICATOR => "Restart indicator",
        id::LOW_LAYER_COMPATIBILITY => "Low layer compatibility",
        id::HIGH_LAYER_COMPATIBILITY => "High layer compatibility",
        id::USER_USER => "User-user",
        _ => "Unknown",
    }
}

/// Whether this stack interprets codeset 0 element `ie_id` (has an `Ie` variant for it, or
/// is a single-octet element it knows: More data, Congestion level, Repeat indicator).
///
/// Q.931 elements we carry no variant for (Call identity, Network-specific facilities,
/// Transit network selection, Segmented message …) count as *not implemented*: the
/// message decoder reports them like unknown ones, so the protocol layer can answer with
/// cause 99 (or 96 for the comprehension-required range) as §5.8.7.1 asks.
pub fn is_interpreted(ie_id: u8) -> bool {
    match ie_id {
        id::SENDING_COMPLETE | id::MORE_DATA => true,
        _ if ie_id & 0xF0 == id::CONGESTION_LEVEL || ie_id & 0xF0 == id::REPEAT_INDICATOR => true,
        id::BEARER_CAPABILITY
        | id::CAUSE
        | id::CALL_STATE
        | id::CHANNEL_IDENTIFICATION
        | id::FACILITY
        | id::PROGRESS_INDICATOR
        | id::NOTIFICATION_INDICATOR
        | id::DISPLAY
        | id::DATE_TIME
        | id::KEYPAD_FACILITY
        | id::SIGNAL
        | id::CONNECTED_NUMBER
        | id::CALLING_PARTY_NUMBER
        | id::CALLING_PARTY_SUBADDRESS
        | id::CALLED_PARTY_NUMBER
        | id::CALLED_PARTY_SUBADDRESS
        | id::REDIRECTING_NUMBER
        | id::RESTART_INDICATOR
        | id::LOW_LAYER_COMPATIBILITY
        | id::HIGH_LAYER_COMPATIBILITY
        | id::USER_USER => true,
        _ => false,
    }
}

/// How often codeset 0 element `ie_id` may appear in one message (`None`: no limit).
///
/// §4.5.1: an element appears once unless its description says otherwise. Bearer
/// capability, low and high layer compatibility may be repeated (after a Repeat
/// indicator), Progress indicator may appear twice, Facility and Notification indicator
/// carry one item each and so repeat freely. Elements we do not interpret are not
/// policed (we do not know their rules).
pub(crate) fn max_occurrences(ie_id: u8) -> Option<usize> {
    match ie_id {
        id::BEARER_CAPABILITY | id::LOW_LAYER_COMPATIBILITY | id::HIGH_LAYER_COMPATIBILITY => Some(2),
        id::PROGRESS_INDICATOR => Some(2),
        id::FACILITY | id::NOTIFICATION_INDICATOR | id::MORE_DATA => None,
        _ if !is_interpreted(ie_id) => None,
        _ if ie_id & 0x80 != 0 && ie_id != id::SENDING_COMPLETE => None,
        _ => Some(1),
    }
}

/// Splits an octet group (octet N and its extension octets Na, Nb …) off the front of
/// `data`: the group ends with the first octet whose bit 8 (ext) is 1 (§4.5.1).
/// Returns the group and what follows; an empty or unterminated group is `TooShort`.
pub(super) fn split_group(data: &[u8]) -> Result<(&[u8], &[u8]), IeError> {
    let end = data.iter().position(|o| o & 0x80 != 0).ok_or(IeError::TooShort)?;
    Ok(data.split_at(end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_group_honours_extension_bits() {
        assert_eq!(split_group(&[0x81, 0x31]), Ok((&[0x81][..], &[0x31][..])));
        assert_eq!(split_group(&[0x21, 0x81, 0x31]), Ok((&[0x21, 0x81][..], &[0x31][..])));
        assert_eq!(split_group(&[0x21, 0x01]), Err(IeError::TooShort));
        assert_eq!(split_group(&[]), Err(IeError::TooShort));
    }

    #[test]
    fn single_octet_elements_encode_as_one_octet() {
        let mut out = Vec::new();
        Ie::SendingComplete.encode(&mut out);
        Ie::Other { codeset: 0, id: 0xD2, data: vec![1, 2] }.encode(&mut out);
        assert_eq!(out, [0xA1, 0xD2]);
    }

    #[test]
    fn names_and_ids() {
        assert_eq!(Ie::SendingComplete.name(), "Sending complete");
        assert_eq!(Ie::Signal(0x3F).id(), 0x34);
        assert_eq!(Ie::Signal(0x3F).name(), "Signal");
        assert_eq!(Ie::Other { codeset: 0, id: 0x78, data: vec![] }.name(), "Transit network selection");
        assert_eq!(Ie::Other { codeset: 0, id: 0xD1, data: vec![] }.name(), "Repeat indicator");
        assert_eq!(Ie::Other { codeset: 6, id: 0x01, data: vec![] }.name(), "Other codeset element");
        assert_eq!(Ie::Other { codeset: 0, id: 0x0E, data: vec![] }.name(), "Unknown");
    }

    #[test]
    fn unknown_ids_decode_raw() {
        assert_eq!(Ie::decode(0x78, &[1, 2]), Ok(Ie::Other { codeset: 0, id: 0x78, data: vec![1, 2] }));
        assert_eq!(Ie::decode(0xA1, &[]), Ok(Ie::SendingComplete));
        assert_eq!(Ie::decode(0xD2, &[9]), Ok(Ie::Other { codeset: 0, id: 0xD2, data: vec![] }));
    }

    #[test]
    fn overlong_contents_are_cut_at_255() {
        let mut out = Vec::new();
        Ie::Facility(vec![0x55; 300]).encode(&mut out);
        assert_eq!(out.len(), 257);
        assert_eq!(out[1], 255);
    }

    #[test]
    fn repetition_rules() {
        assert_eq!(max_occurrences(id::PROGRESS_INDICATOR), Some(2));
        assert_eq!(max_occurrences(id::FACILITY), None);
        assert_eq!(max_occurrences(id::DISPLAY), Some(1));
        assert_eq!(max_occurrences(id::SENDING_COMPLETE), Some(1));
        assert_eq!(max_occurrences(0xD1), None);
        assert_eq!(max_occurrences(0x78), None);
    }
}
