//! Q.931 message coding (§4.1–4.5): protocol discriminator, call reference, message type,
//! then information elements with codeset shifts.
//!
//! Decoding is lenient where the spec is (§5.8): a message whose header is sound is
//! returned together with a list of the element problems found, and the protocol layer
//! decides (from the message type and profile) whether that means cause 96, 99 or 100,
//! or nothing at all. Only a header that cannot be trusted is an error: the message is
//! ignored.

use super::ie::{self, ChannelId, Ie};

/// Protocol discriminator of Q.931 user-network call control messages.
pub const PD_Q931: u8 = 0x08;

/// A call reference (§4.3). On a primary rate interface it is two octets long.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallRef {
    /// 15-bit value; 0 is the global call reference (RESTART, STATUS about the interface).
    pub value: u16,
    /// The call reference flag: false in messages sent *by* the side that allocated the
    /// reference (the originating side), true in messages sent *to* it.
    pub flag: bool,
}

impl CallRef {
    pub const GLOBAL: CallRef = CallRef { value: 0, flag: false };

    pub fn is_global(&self) -> bool {
        self.value == 0
    }
}

/// Message types (Q.931 Table 4-2). Unknown codes are kept for the STATUS cause 97 reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    Alerting,
    CallProceeding,
    Connect,
    ConnectAcknowledge,
    Progress,
    Setup,
    SetupAcknowledge,
    Resume,
    ResumeAcknowledge,
    ResumeReject,
    Suspend,
    SuspendAcknowledge,
    SuspendReject,
    UserInformation,
    Disconnect,
    Release,
    ReleaseComplete,
    Restart,
    RestartAcknowledge,
    Segment,
    CongestionControl,
    Information,
    Notify,
    Status,
    StatusEnquiry,
    Facility,
    Unknown(u8),
}

impl MessageType {
    pub fn code(self) -> u8 {
        todo!()
    }
    pub fn from_code(v: u8) -> Self {
        let _ = v;
        todo!()
    }
    /// Upper-case spec name for traces ("CALL PROCEEDING").
    pub fn name(self) -> &'static str {
        todo!()
    }
}

/// A Q.931 message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub cref: CallRef,
    pub kind: MessageType,
    /// Elements in the order received, or the order to send (the encoder sorts codeset 0
    /// variable-length elements into ascending identifier order as §4.5.1 requires).
    pub ies: Vec<Ie>,
}

/// What was wrong with one element of an otherwise decodable message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IeProblem {
    pub codeset: u8,
    pub id: u8,
    pub kind: IeProblemKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IeProblemKind {
    /// Not recognized, and not in the comprehension-required range: ignore it (a STATUS
    /// with cause 99 may be sent).
    Unrecognized,
    /// Not recognized and in codeset 0's comprehension-required range (identifiers
    /// 0000 xxxx, §4.5.1): handle as a missing mandatory element (cause 96).
    ComprehensionRequired,
    /// Recognized but its contents could not be decoded (cause 100 if mandatory, else
    /// ignored with STATUS cause 100).
    ContentError,
    /// Its length ran past the end of the message (the rest of the message is dropped).
    Truncated,
    /// Repeated beyond what §4.5.1 allows: the extra occurrences are dropped.
    Repeated,
}

/// Why a message was ignored entirely (§5.8.1–5.8.3).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message too short ({0} octets)")]
    TooShort(usize),
    #[error("protocol discriminator {0:#04x} is not Q.931")]
    ProtocolDiscriminator(u8),
    #[error("call reference length {0} is not valid here")]
    CallRefLength(u8),
}

/// A decoded message and the element problems found in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub msg: Message,
    pub problems: Vec<IeProblem>,
}

/// Decodes one message (the contents of one DL-DATA-INDICATION).
pub fn decode(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let _ = bytes;
    todo!()
}

impl Message {
    pub fn new(cref: CallRef, kind: MessageType) -> Message {
        Message { cref, kind, ies: Vec::new() }
    }

    /// Builder: adds an element.
    pub fn with(mut self, ie: Ie) -> Message {
        self.ies.push(ie);
        self
    }

    /// Encodes with a 2-octet call reference (primary rate).
    pub fn encode(&self) -> Vec<u8> {
        todo!()
    }

    pub fn cause(&self) -> Option<&ie::CauseIe> {
        self.ies.iter().find_map(|i| if let Ie::Cause(c) = i { Some(c) } else { None })
    }
    pub fn channel_id(&self) -> Option<&ChannelId> {
        self.ies.iter().find_map(|i| if let Ie::ChannelId(c) = i { Some(c) } else { None })
    }
    pub fn bearer_capability(&self) -> Option<&ie::BearerCapability> {
        self.ies.iter().find_map(|i| if let Ie::BearerCapability(c) = i { Some(c) } else { None })
    }
    pub fn calling(&self) -> Option<&ie::PartyNumber> {
        self.ies.iter().find_map(|i| if let Ie::CallingPartyNumber(c) = i { Some(c) } else { None })
    }
    pub fn called(&self) -> Option<&ie::PartyNumber> {
        self.ies.iter().find_map(|i| if let Ie::CalledPartyNumber(c) = i { Some(c) } else { None })
    }
    pub fn connected(&self) -> Option<&ie::PartyNumber> {
        self.ies.iter().find_map(|i| if let Ie::ConnectedNumber(c) = i { Some(c) } else { None })
    }
    pub fn redirecting(&self) -> Option<&ie::RedirectingNumber> {
        self.ies.iter().find_map(|i| if let Ie::RedirectingNumber(c) = i { Some(c) } else { None })
    }
    pub fn progress(&self) -> impl Iterator<Item = &ie::ProgressIndicator> {
        self.ies.iter().filter_map(|i| if let Ie::ProgressIndicator(c) = i { Some(c) } else { None })
    }
    pub fn display(&self) -> Option<&[u8]> {
        self.ies.iter().find_map(|i| if let Ie::Display(c) = i { Some(c.as_slice()) } else { None })
    }
    pub fn sending_complete(&self) -> bool {
        self.ies.iter().any(|i| matches!(i, Ie::SendingComplete))
    }
    pub fn restart_class(&self) -> Option<ie::RestartClass> {
        self.ies.iter().find_map(|i| if let Ie::RestartIndicator(c) = i { Some(*c) } else { None })
    }
    pub fn call_state(&self) -> Option<u8> {
        self.ies.iter().find_map(|i| if let Ie::CallState(c) = i { Some(*c) } else { None })
    }
}
