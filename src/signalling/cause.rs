//! ITU-T Q.850 cause values: the one vocabulary every signalling stack maps its
//! clearing reasons to, so the call core, CDRs and CTI speak one language.

use std::fmt;

macro_rules! causes {
    ($( $(#[$m:meta])* $name:ident = $val:expr, $text:expr; )*) => {
        /// A Q.850 cause value. Unknown values received from the wire are kept in `Other`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Cause {
            $( $(#[$m])* $name, )*
            /// A value this table does not name (kept, not rejected).
            Other(u8),
        }

        impl Cause {
            /// The Q.850 code point (1..=127).
            pub fn code(self) -> u8 {
                match self { $( Cause::$name => $val, )* Cause::Other(v) => v }
            }

            /// Maps a code point back; unknown codes are preserved in `Other`.
            pub fn from_code(code: u8) -> Cause {
                match code { $( $val => Cause::$name, )* v => Cause::Other(v & 0x7f) }
            }

            /// The upper-case name used by FreeSWITCH and in CTI (`NORMAL_CLEARING`).
            pub fn name(self) -> &'static str {
                match self { $( Cause::$name => $text, )* Cause::Other(_) => "UNKNOWN" }
            }

            /// Parses an upper-case name (`USER_BUSY`) or a decimal code (`17`).
            pub fn from_name(s: &str) -> Option<Cause> {
                if let Ok(v) = s.parse::<u8>() {
                    return (1..=127).contains(&v).then(|| Cause::from_code(v));
                }
                let up = s.to_ascii_uppercase();
                match up.as_str() { $( $text => Some(Cause::$name), )* _ => None }
            }
        }
    };
}

causes! {
    Unallocated = 1, "UNALLOCATED_NUMBER";
    NoRouteTransitNet = 2, "NO_ROUTE_TRANSIT_NET";
    NoRouteDestination = 3, "NO_ROUTE_DESTINATION";
    ChannelUnacceptable = 6, "CHANNEL_UNACCEPTABLE";
    NormalClearing = 16, "NORMAL_CLEARING";
    UserBusy = 17, "USER_BUSY";
    NoUserResponse = 18, "NO_USER_RESPONSE";
    NoAnswer = 19, "NO_ANSWER";
    CallRejected = 21, "CALL_REJECTED";
    NumberChanged = 22, "NUMBER_CHANGED";
    DestinationOutOfOrder = 27, "DESTINATION_OUT_OF_ORDER";
    InvalidNumberFormat = 28, "INVALID_NUMBER_FORMAT";
    FacilityRejected = 29, "FACILITY_REJECTED";
    ResponseToStatusEnquiry = 30, "RESPONSE_TO_STATUS_ENQUIRY";
    NormalUnspecified = 31, "NORMAL_UNSPECIFIED";
    NonSelectedUserClearing = 26, "NON_SELECTED_USER_CLEARING";
    NoCircuitAvailable = 34, "NORMAL_CIRCUIT_CONGESTION";
    NetworkOutOfOrder = 38, "NETWORK_OUT_OF_ORDER";
    TemporaryFailure = 41, "NORMAL_TEMPORARY_FAILURE";
    SwitchingEquipmentCongestion = 42, "SWITCH_CONGESTION";
    RequestedChannelNotAvailable = 44, "REQUESTED_CHAN_UNAVAIL";
    AccessInfoDiscarded = 43, "ACCESS_INFO_DISCARDED";
    ResourceUnavailable = 47, "RESOURCE_UNAVAILABLE";
    BearerCapabilityNotAvailable = 58, "BEARERCAPABILITY_NOTAVAIL";
    ServiceUnavailable = 63, "SERVICE_UNAVAILABLE";
    BearerCapabilityNotImplemented = 65, "BEARERCAPABILITY_NOTIMPL";
    ServiceNotImplemented = 79, "SERVICE_NOT_IMPLEMENTED";
    InvalidCallReference = 81, "INVALID_CALL_REFERENCE";
    IdentifiedChannelNonexistent = 82, "CHAN_NOT_IMPLEMENTED";
    IncompatibleDestination = 88, "INCOMPATIBLE_DESTINATION";
    InvalidMessage = 95, "INVALID_MSG_UNSPECIFIED";
    MandatoryIeMissing = 96, "MANDATORY_IE_MISSING";
    MessageTypeNonexistent = 97, "MESSAGE_TYPE_NONEXIST";
    WrongMessage = 98, "WRONG_MESSAGE";
    IeNonexistent = 99, "IE_NONEXIST";
    InvalidIeContents = 100, "INVALID_IE_CONTENTS";
    WrongCallState = 101, "WRONG_CALL_STATE";
    RecoveryOnTimerExpiry = 102, "RECOVERY_ON_TIMER_EXPIRE";
    ProtocolError = 111, "PROTOCOL_ERROR";
    Interworking = 127, "INTERWORKING";
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for code in 0..=127u8 {
            let c = Cause::from_code(code);
            assert_eq!(c.code(), code);
            if !matches!(c, Cause::Other(_)) {
                assert_eq!(Cause::from_name(c.name()), Some(c));
            }
        }
        assert_eq!(Cause::from_name("user_busy"), Some(Cause::UserBusy));
        assert_eq!(Cause::from_name("16"), Some(Cause::NormalClearing));
        assert_eq!(Cause::from_name("0"), None);
        assert_eq!(Cause::from_name("NOPE"), None);
        assert_eq!(Cause::NormalClearing.to_string(), "NORMAL_CLEARING (16)");
    }
}
