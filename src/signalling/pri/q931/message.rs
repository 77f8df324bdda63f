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

macro_rules! message_types {
    ($( $name:ident = $code:expr, $text:expr; )*) => {
        impl MessageType {
            /// The message type octet (bit 8 = 0).
            pub fn code(self) -> u8 {
                match self { $( MessageType::$name => $code, )* MessageType::Unknown(v) => v }
            }
            /// Codes this table does not name (including the 0x00 national escape and
            /// anything with bit 8 set) are kept in `Unknown`.
            pub fn from_code(v: u8) -> Self {
                match v { $( $code => MessageType::$name, )* v => MessageType::Unknown(v) }
            }
            /// Upper-case spec name for traces ("CALL PROCEEDING").
            pub fn name(self) -> &'static str {
                match self { $( MessageType::$name => $text, )* MessageType::Unknown(_) => "UNKNOWN" }
            }
        }
    };
}

// Q.931 Table 4-2, plus FACILITY from Q.932.
message_types! {
    Alerting = 0x01, "ALERTING";
    CallProceeding = 0x02, "CALL PROCEEDING";
    Connect = 0x07, "CONNECT";
    ConnectAcknowledge = 0x0F, "CONNECT ACKNOWLEDGE";
    Progress = 0x03, "PROGRESS";
    Setup = 0x05, "SETUP";
    SetupAcknowledge = 0x0D, "SETUP ACKNOWLEDGE";
    Resume = 0x26, "RESUME";
    ResumeAcknowledge = 0x2E, "RESUME ACKNOWLEDGE";
    ResumeReject = 0x22, "RESUME REJECT";
    Suspend = 0x25, "SUSPEND";
    SuspendAcknowledge = 0x2D, "SUSPEND ACKNOWLEDGE";
    SuspendReject = 0x21, "SUSPEND REJECT";
    UserInformation = 0x20, "USER INFORMATION";
    Disconnect = 0x45, "DISCONNECT";
    Release = 0x4D, "RELEASE";
    ReleaseComplete = 0x5A, "RELEASE COMPLETE";
    Restart = 0x46, "RESTART";
    RestartAcknowledge = 0x4E, "RESTART ACKNOWLEDGE";
    Segment = 0x60, "SEGMENT";
    CongestionControl = 0x79, "CONGESTION CONTROL";
    Information = 0x7B, "INFORMATION";
    Notify = 0x6E, "NOTIFY";
    Status = 0x7D, "STATUS";
    StatusEnquiry = 0x75, "STATUS ENQUIRY";
    Facility = 0x62, "FACILITY";
}

/// Message type 0x00: escape to nationally specific message types (§4.4).
pub const MESSAGE_TYPE_ESCAPE: u8 = 0x00;

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
    /// The call reference length octet: length above 2, or its spare bits 8–5 not 0000
    /// (§5.8.3.1 says to ignore such a message). Holds the whole octet.
    #[error("call reference length octet {0:#04x} is not valid here")]
    CallRefLength(u8),
}

/// A decoded message and the element problems found in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub msg: Message,
    pub problems: Vec<IeProblem>,
}

/// Decodes one message (the contents of one DL-DATA-INDICATION).
///
/// Header: a call reference of length 2 (primary rate), 1 (basic rate, accepted for
/// robustness) or 0 (the dummy call reference, read as value 0, flag false). The
/// national escape message type (0x00) decodes as `Unknown(0)` with no elements, since
/// the rest of such a message follows national rules.
///
/// Elements: see `decode_ies` (shifts, problems, repetition).
pub fn decode(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let too_short = DecodeError::TooShort(bytes.len());
    let (&pd, rest) = bytes.split_first().ok_or(too_short.clone())?;
    if rest.len() < 2 {
        return Err(too_short);
    }
    if pd != PD_Q931 {
        return Err(DecodeError::ProtocolDiscriminator(pd));
    }
    let (&cr_len_octet, rest) = rest.split_first().ok_or(too_short.clone())?;
    let cr_len = usize::from(cr_len_octet);
    if cr_len > 2 {
        return Err(DecodeError::CallRefLength(cr_len_octet));
    }
    if rest.len() < cr_len + 1 {
        return Err(too_short);
    }
    let (cr, rest) = rest.split_at(cr_len);
    let cref = match *cr {
        [] => CallRef { value: 0, flag: false },
        [a] => CallRef { value: u16::from(a & 0x7F), flag: a & 0x80 != 0 },
        [a, b] => CallRef { value: u16::from_be_bytes([a & 0x7F, b]), flag: a & 0x80 != 0 },
        _ => return Err(DecodeError::CallRefLength(cr_len_octet)),
    };
    let (&mt, ies) = rest.split_first().ok_or(too_short)?;
    let kind = MessageType::from_code(mt);
    let mut msg = Message::new(cref, kind);
    let mut problems = Vec::new();
    if mt != MESSAGE_TYPE_ESCAPE {
        decode_ies(ies, &mut msg.ies, &mut problems);
    }
    Ok(Decoded { msg, problems })
}

/// Decodes the information elements after the message type (§4.5).
///
/// - Shift (§4.5.3, §4.5.4): a locking shift changes the active codeset for the rest of the
///   message, but only to a higher codeset than the active one; one to the same or a lower
///   codeset (codeset 0 included) is ignored. A non-locking shift applies to the next
///   element only; a locking shift directly after it cancels it (§4.5.4: "as though only
///   the locking shift had been received").
/// - Codesets other than 0: every element becomes `Ie::Other`, no problem reported.
/// - Codeset 0: elements we do not interpret become `Ie::Other` with an `Unrecognized` or
///   (identifiers `0000 xxxx`) `ComprehensionRequired` problem; an element whose contents do
///   not decode becomes `Ie::Other` with `ContentError`; occurrences beyond what §4.5.1
///   allows are dropped with `Repeated`.
/// - A length running past the end: `Truncated`, and decoding stops there.
fn decode_ies(mut bytes: &[u8], ies: &mut Vec<Ie>, problems: &mut Vec<IeProblem>) {
    let mut locked: u8 = 0;
    let mut next_only: Option<u8> = None;
    let mut seen = [0usize; 256];
    while let Some((&first, rest)) = bytes.split_first() {
        if first & 0xF0 == ie::id::SHIFT {
            let codeset = first & 0x07;
            if first & 0x08 != 0 {
                next_only = Some(codeset);
            } else {
                next_only = None;
                if codeset > locked {
                    locked = codeset;
                }
            }
            bytes = rest;
            continue;
        }
        let codeset = next_only.take().unwrap_or(locked);
        let data: &[u8] = if first & 0x80 != 0 {
            bytes = rest;
            &[]
        } else {
            let Some((&len, rest)) = rest.split_first() else {
                problems.push(IeProblem { codeset, id: first, kind: IeProblemKind::Truncated });
                return;
            };
            let Some((data, rest)) = rest.split_at_checked(usize::from(len)) else {
                problems.push(IeProblem { codeset, id: first, kind: IeProblemKind::Truncated });
                return;
            };
            bytes = rest;
            data
        };
        let problem = |kind| IeProblem { codeset, id: first, kind };
        if codeset != 0 {
            ies.push(Ie::Other { codeset, id: first, data: data.to_vec() });
            continue;
        }
        if !ie::is_interpreted(first) {
            ies.push(Ie::Other { codeset, id: first, data: data.to_vec() });
            let kind =
                if first & 0xF0 == 0 { IeProblemKind::ComprehensionRequired } else { IeProblemKind::Unrecognized };
            problems.push(problem(kind));
            continue;
        }
        let count = &mut seen[usize::from(first)];
        *count += 1;
        if ie::max_occurrences(first).is_some_and(|max| *count > max) {
            problems.push(problem(IeProblemKind::Repeated));
            continue;
        }
        match Ie::decode(first, data) {
            Ok(element) => ies.push(element),
            Err(_) => {
                ies.push(Ie::Other { codeset, id: first, data: data.to_vec() });
                problems.push(problem(IeProblemKind::ContentError));
            }
        }
    }
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

    /// Encodes with a 2-octet call reference (primary rate); elements go in
    /// [`Message::canonical_order`].
    ///
    /// Elements of codesets other than 0 (`Ie::Other { codeset: n, .. }`) are each preceded
    /// by a non-locking shift `1001 1nnn`: unlike a locking shift this needs no ordering of
    /// codesets and cannot leak into the next element. `Ie::Other` values that are
    /// themselves shift octets are not elements and are not sent.
    pub fn encode(&self) -> Vec<u8> {
        let value = self.cref.value & 0x7FFF;
        let flag = if self.cref.flag { 0x80 } else { 0 };
        let mut out = Vec::with_capacity(64);
        out.extend([PD_Q931, 2, flag | (value >> 8) as u8, value as u8, self.kind.code()]);
        for element in self.canonical_order() {
            let codeset = element.codeset() & 0x07;
            if codeset != 0 {
                out.push(ie::id::SHIFT | 0x08 | codeset);
            }
            element.encode(&mut out);
        }
        out
    }

    /// The order [`Message::encode`] sends the elements in (and so the order a decoder
    /// returns them in):
    /// - codeset 0 first, variable-length elements in ascending identifier order (§4.5.1),
    ///   equal identifiers in their given order;
    /// - a single-octet element (Sending complete, Repeat indicator …) stays just before
    ///   the variable-length element that followed it in `ies` (so a Repeat indicator keeps
    ///   preceding the repeated elements), or at the end of codeset 0 if none followed it
    ///   (where libpri puts Sending complete);
    /// - then the elements of other codesets, by codeset and identifier.
    ///
    /// Shift octets stored as `Ie::Other` are left out.
    pub fn canonical_order(&self) -> Vec<&Ie> {
        let mut keyed: Vec<((u8, u16), &Ie)> = Vec::with_capacity(self.ies.len());
        let mut next_variable: u16 = 0x100;
        // Walk backwards so each single-octet element learns the identifier after it.
        for element in self.ies.iter().rev() {
            let (codeset, id) = (element.codeset(), element.id());
            if id & 0xF0 == ie::id::SHIFT {
                continue;
            }
            let key = if codeset != 0 {
                (codeset, u16::from(id))
            } else if id & 0x80 == 0 {
                next_variable = u16::from(id);
                (0, next_variable)
            } else {
                (0, next_variable)
            };
            keyed.push((key, element));
        }
        keyed.reverse();
        keyed.sort_by_key(|(key, _)| *key);
        keyed.into_iter().map(|(_, element)| element).collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::pri::q931::ie::{
        BearerCapability, CauseIe, ChannelSelection, DateTime, Location, NumberingPlan, PartyNumber,
        ProgressDescription, ProgressIndicator, RestartClass, Screening, TypeOfNumber, UserInfoLayer1,
    };
    use crate::signalling::{Cause, Presentation};

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace().filter(|t| *t != "|").map(|t| u8::from_str_radix(t, 16).unwrap()).collect()
    }

    fn ok(bytes: &[u8]) -> Decoded {
        decode(bytes).expect("header decodes")
    }

    fn problem(codeset: u8, id: u8, kind: IeProblemKind) -> IeProblem {
        IeProblem { codeset, id, kind }
    }

    /// SETUP as libpri sends it (EuroISDN E1, CPE side): A-law speech, exclusive B1,
    /// calling 1234 (national, verified), called 5678, sending complete last.
    const LIBPRI_SETUP: &str =
        "08 02 00 01 05 | 04 03 80 90 a3 | 18 03 a9 83 81 | 6c 06 21 81 31 32 33 34 | 70 05 81 35 36 37 38 | a1";

    #[test]
    fn golden_libpri_setup() {
        let bytes = hex(LIBPRI_SETUP);
        let d = ok(&bytes);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        let m = &d.msg;
        assert_eq!(m.cref, CallRef { value: 1, flag: false });
        assert_eq!(m.kind, MessageType::Setup);
        assert_eq!(m.bearer_capability(), Some(&BearerCapability::speech(UserInfoLayer1::Alaw)));
        assert_eq!(m.channel_id(), Some(&ChannelId::b_channel(1, true)));
        let calling = m.calling().unwrap();
        assert_eq!((calling.ton, calling.npi), (TypeOfNumber::National, NumberingPlan::Isdn));
        assert_eq!(calling.presentation, Some((Presentation::Allowed, Screening::UserProvidedVerifiedPassed)));
        assert_eq!(calling.digits, "1234");
        assert_eq!(m.called(), Some(&PartyNumber::new(TypeOfNumber::Unknown, NumberingPlan::Isdn, "5678")));
        assert!(m.sending_complete());

        // The same message built by hand encodes to libpri's bytes exactly (Sending
        // complete pushed last stays last).
        let built = Message::new(CallRef { value: 1, flag: false }, MessageType::Setup)
            .with(Ie::BearerCapability(BearerCapability::speech(UserInfoLayer1::Alaw)))
            .with(Ie::ChannelId(ChannelId::b_channel(1, true)))
            .with(Ie::CallingPartyNumber(calling.clone()))
            .with(Ie::CalledPartyNumber(PartyNumber::new(TypeOfNumber::Unknown, NumberingPlan::Isdn, "5678")))
            .with(Ie::SendingComplete);
        assert_eq!(&built, m);
        assert_eq!(built.encode(), bytes);
    }

    #[test]
    fn setup_elements_out_of_order_are_sorted_on_encode() {
        let m = Message::new(CallRef { value: 1, flag: false }, MessageType::Setup)
            .with(Ie::SendingComplete)
            .with(Ie::CalledPartyNumber(PartyNumber::new(TypeOfNumber::Unknown, NumberingPlan::Isdn, "5678")))
            .with(Ie::ChannelId(ChannelId::b_channel(1, true)))
            .with(Ie::BearerCapability(BearerCapability::speech(UserInfoLayer1::Alaw)));
        let bytes = m.encode();
        // Sending complete travels with the called party number it preceded.
        assert_eq!(bytes, hex("08 02 00 01 05 04 03 80 90 a3 18 03 a9 83 81 a1 70 05 81 35 36 37 38"));
        let d = ok(&bytes);
        assert!(d.problems.is_empty());
        assert_eq!(d.msg.ies.iter().collect::<Vec<_>>(), m.canonical_order());
    }

    #[test]
    fn golden_release_complete_with_cause() {
        let bytes = hex("08 02 00 01 5a 08 02 80 90");
        let d = ok(&bytes);
        let expected = Message::new(CallRef { value: 1, flag: false }, MessageType::ReleaseComplete)
            .with(Ie::Cause(CauseIe::new(Cause::NormalClearing, Location::User)));
        assert_eq!(d, Decoded { msg: expected.clone(), problems: vec![] });
        assert_eq!(expected.encode(), bytes);
        assert_eq!(d.msg.cause().map(|c| c.cause), Some(Cause::NormalClearing));
    }

    #[test]
    fn golden_status_cause_97_and_call_state() {
        // Network's answer to an unknown message type 0x33 in the active state.
        let bytes = hex("08 02 80 01 7d 08 03 80 e1 33 14 01 0a");
        let d = ok(&bytes);
        assert!(d.problems.is_empty());
        let mut cause = CauseIe::new(Cause::MessageTypeNonexistent, Location::User);
        cause.diagnostics = vec![0x33];
        let expected = Message::new(CallRef { value: 1, flag: true }, MessageType::Status)
            .with(Ie::Cause(cause))
            .with(Ie::CallState(ie::call_state::state::ACTIVE));
        assert_eq!(d.msg, expected);
        assert_eq!(d.msg.call_state(), Some(10));
        assert_eq!(expected.encode(), bytes);
    }

    #[test]
    fn golden_restart_and_restart_acknowledge() {
        let bytes = hex("08 02 00 00 46 18 03 a9 83 81 79 01 80");
        let d = ok(&bytes);
        assert!(d.problems.is_empty());
        assert!(d.msg.cref.is_global());
        assert_eq!(d.msg.kind, MessageType::Restart);
        assert_eq!(d.msg.channel_id().and_then(ChannelId::channel), Some(1));
        assert_eq!(d.msg.restart_class(), Some(RestartClass::Indicated));
        let ack = Message::new(CallRef { value: 0, flag: true }, MessageType::RestartAcknowledge)
            .with(Ie::RestartIndicator(RestartClass::Indicated))
            .with(Ie::ChannelId(ChannelId::b_channel(1, true)));
        assert_eq!(ack.encode(), hex("08 02 80 00 4e 18 03 a9 83 81 79 01 80"));
        assert_eq!(
            Message::new(CallRef::GLOBAL, MessageType::Restart)
                .with(Ie::RestartIndicator(RestartClass::AllInterfaces))
                .encode(),
            hex("08 02 00 00 46 79 01 87")
        );
    }

    #[test]
    fn golden_connect_with_date_time_and_connected_number() {
        let bytes = hex("08 02 80 01 07 | 29 05 18 03 0f 0e 1e | 4c 06 01 81 35 36 37 38");
        let d = ok(&bytes);
        assert!(d.problems.is_empty());
        let connected = PartyNumber {
            presentation: Some((Presentation::Allowed, Screening::UserProvidedVerifiedPassed)),
            ..PartyNumber::new(TypeOfNumber::Unknown, NumberingPlan::Isdn, "5678")
        };
        let expected = Message::new(CallRef { value: 1, flag: true }, MessageType::Connect)
            .with(Ie::DateTime(DateTime {
                year: 24,
                month: 3,
                day: 15,
                hour: Some(14),
                minute: Some(30),
                second: None,
            }))
            .with(Ie::ConnectedNumber(connected.clone()));
        assert_eq!(d.msg, expected);
        assert_eq!(d.msg.connected(), Some(&connected));
        assert_eq!(expected.encode(), bytes);
    }

    #[test]
    fn golden_alerting_with_progress() {
        let bytes = hex("08 02 80 01 01 1e 02 82 88");
        let d = ok(&bytes);
        let p: Vec<_> = d.msg.progress().collect();
        assert_eq!(p, [&ProgressIndicator::new(Location::PublicLocal, ProgressDescription::InbandAvailable)]);
        assert_eq!(d.msg.encode(), bytes);
    }

    #[test]
    fn header_errors() {
        assert_eq!(decode(&[]), Err(DecodeError::TooShort(0)));
        assert_eq!(decode(&[0x08]), Err(DecodeError::TooShort(1)));
        assert_eq!(decode(&[0x08, 0x02]), Err(DecodeError::TooShort(2)));
        assert_eq!(decode(&hex("08 02 00 01")), Err(DecodeError::TooShort(4)));
        assert_eq!(decode(&hex("09 02 00 01 05")), Err(DecodeError::ProtocolDiscriminator(0x09)));
        assert_eq!(decode(&hex("03 02 00 01 05")), Err(DecodeError::ProtocolDiscriminator(0x03)));
        assert_eq!(decode(&hex("08 03 00 00 01 05")), Err(DecodeError::CallRefLength(0x03)));
        assert_eq!(decode(&hex("08 0f 00 00 01 05")), Err(DecodeError::CallRefLength(0x0F)));
        // Spare bits of the length octet not zero.
        assert_eq!(decode(&hex("08 12 00 01 05")), Err(DecodeError::CallRefLength(0x12)));
    }

    #[test]
    fn short_call_references() {
        let d = ok(&hex("08 00 7b"));
        assert_eq!((d.msg.cref, d.msg.kind), (CallRef { value: 0, flag: false }, MessageType::Information));
        let d = ok(&hex("08 01 85 05"));
        assert_eq!(d.msg.cref, CallRef { value: 5, flag: true });
        let d = ok(&hex("08 02 ff ff 4d"));
        assert_eq!(d.msg.cref, CallRef { value: 0x7FFF, flag: true });
        assert_eq!(d.msg.encode(), hex("08 02 ff ff 4d"));
    }

    #[test]
    fn unknown_message_types() {
        let d = ok(&hex("08 02 00 01 33 08 02 80 90"));
        assert_eq!(d.msg.kind, MessageType::Unknown(0x33));
        assert_eq!(d.msg.kind.name(), "UNKNOWN");
        assert_eq!(d.msg.kind.code(), 0x33);
        assert_eq!(d.msg.cause().map(|c| c.cause), Some(Cause::NormalClearing));
        // Bit 8 set: not a Q.931 message type either.
        assert_eq!(ok(&hex("08 02 00 01 85")).msg.kind, MessageType::Unknown(0x85));
        // National escape: the rest follows national rules, nothing is decoded.
        let d = ok(&hex("08 02 00 01 00 12 08 02 80 90"));
        assert_eq!((d.msg.kind, d.msg.ies.len(), d.problems.len()), (MessageType::Unknown(0), 0, 0));
    }

    #[test]
    fn message_type_table() {
        for code in 0..=255u8 {
            let kind = MessageType::from_code(code);
            assert_eq!(kind.code(), code);
            if !matches!(kind, MessageType::Unknown(_)) {
                assert_ne!(kind.name(), "UNKNOWN");
            }
        }
        assert_eq!(MessageType::CallProceeding.name(), "CALL PROCEEDING");
        assert_eq!(MessageType::from_code(0x5A), MessageType::ReleaseComplete);
        assert_eq!(MessageType::from_code(0x62), MessageType::Facility);
    }

    #[test]
    fn unknown_element_in_comprehension_required_range() {
        let d = ok(&hex("08 02 00 01 5a 08 02 80 90 0e 01 00"));
        assert_eq!(d.msg.ies[1], Ie::Other { codeset: 0, id: 0x0E, data: vec![0] });
        assert_eq!(d.problems, [problem(0, 0x0E, IeProblemKind::ComprehensionRequired)]);
        // Segmented message is in that range too, and we do not reassemble.
        let d = ok(&hex("08 02 00 01 05 00 02 81 05"));
        assert_eq!(d.problems, [problem(0, 0x00, IeProblemKind::ComprehensionRequired)]);
    }

    #[test]
    fn unknown_elements_outside_it() {
        let d = ok(&hex("08 02 00 01 05 04 03 80 90 a3 78 03 a1 31 32 7a 01 00 c3"));
        assert_eq!(d.msg.bearer_capability(), Some(&BearerCapability::speech(UserInfoLayer1::Alaw)));
        assert_eq!(d.msg.ies[1], Ie::Other { codeset: 0, id: 0x78, data: vec![0xA1, 0x31, 0x32] });
        assert_eq!(d.msg.ies[3], Ie::Other { codeset: 0, id: 0xC3, data: vec![] });
        assert_eq!(
            d.problems,
            [
                problem(0, 0x78, IeProblemKind::Unrecognized),
                problem(0, 0x7A, IeProblemKind::Unrecognized),
                problem(0, 0xC3, IeProblemKind::Unrecognized),
            ]
        );
    }

    #[test]
    fn content_error_in_mandatory_element() {
        // Channel identification with the reserved selection 10 on a primary rate interface.
        let d = ok(&hex("08 02 00 01 05 04 03 80 90 a3 18 03 aa 83 81 70 02 81 31"));
        assert_eq!(d.msg.channel_id(), None);
        assert_eq!(d.msg.ies[1], Ie::Other { codeset: 0, id: 0x18, data: vec![0xAA, 0x83, 0x81] });
        assert_eq!(d.problems, [problem(0, 0x18, IeProblemKind::ContentError)]);
        assert_eq!(d.msg.called().map(|c| c.digits.as_str()), Some("1"));
        // Kept raw, it is sent back unchanged.
        assert_eq!(d.msg.encode(), hex("08 02 00 01 05 04 03 80 90 a3 18 03 aa 83 81 70 02 81 31"));
    }

    #[test]
    fn truncated_elements_stop_decoding() {
        let d = ok(&hex("08 02 00 01 5a 14 01 0a 08 05 80 90 1e 02"));
        assert_eq!(d.msg.ies, [Ie::CallState(10)]);
        assert_eq!(d.problems, [problem(0, 0x08, IeProblemKind::Truncated)]);
        // Identifier without a length octet.
        let d = ok(&hex("08 02 00 01 5a 08"));
        assert_eq!(d.problems, [problem(0, 0x08, IeProblemKind::Truncated)]);
        assert!(d.msg.ies.is_empty());
    }

    #[test]
    fn locking_shift_to_codeset_6() {
        let d = ok(&hex("08 02 00 01 05 04 03 80 90 a3 96 01 02 aa bb 7e 01 04 a1"));
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(
            d.msg.ies[1..],
            [
                Ie::Other { codeset: 6, id: 0x01, data: vec![0xAA, 0xBB] },
                Ie::Other { codeset: 6, id: 0x7E, data: vec![0x04] },
                Ie::Other { codeset: 6, id: 0xA1, data: vec![] },
            ]
        );
        assert!(!d.msg.sending_complete());
        // Re-encoded with a non-locking shift before each.
        assert_eq!(d.msg.encode(), hex("08 02 00 01 05 04 03 80 90 a3 9e 01 02 aa bb 9e 7e 01 04 9e a1"));
    }

    #[test]
    fn non_locking_shift_applies_to_one_element() {
        let d = ok(&hex("08 02 00 01 05 04 03 80 90 a3 9e 01 01 aa 70 02 81 31 a1"));
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(d.msg.ies[1], Ie::Other { codeset: 6, id: 0x01, data: vec![0xAA] });
        assert_eq!(d.msg.called().map(|c| c.digits.as_str()), Some("1"));
        assert!(d.msg.sending_complete());
        // A non-locking shift to codeset 0 from locked codeset 5, for one element.
        let d = ok(&hex("08 02 00 01 5a 95 01 01 aa 98 08 02 80 90 02 01 bb"));
        assert_eq!(d.msg.ies[1], Ie::Cause(CauseIe::new(Cause::NormalClearing, Location::User)));
        assert_eq!(d.msg.ies[2], Ie::Other { codeset: 5, id: 0x02, data: vec![0xBB] });
    }

    #[test]
    fn locking_shift_down_is_ignored() {
        // Locked to 5, then a locking shift to 0: still codeset 5.
        let d = ok(&hex("08 02 00 01 5a 95 01 01 aa 90 08 02 80 90"));
        assert_eq!(d.msg.ies[1], Ie::Other { codeset: 5, id: 0x08, data: vec![0x80, 0x90] });
        assert!(d.problems.is_empty());
        // A locking shift straight after a non-locking one cancels it.
        let d = ok(&hex("08 02 00 01 5a 9d 96 01 01 aa 02 01 bb"));
        assert_eq!(d.msg.ies[0], Ie::Other { codeset: 6, id: 0x01, data: vec![0xAA] });
        assert_eq!(d.msg.ies[1], Ie::Other { codeset: 6, id: 0x02, data: vec![0xBB] });
    }

    #[test]
    fn repeated_elements() {
        // Two displays: the second is dropped.
        let d = ok(&hex("08 02 80 01 01 28 01 41 28 01 42"));
        assert_eq!(d.msg.ies, [Ie::Display(b"A".to_vec())]);
        assert_eq!(d.problems, [problem(0, 0x28, IeProblemKind::Repeated)]);
        // Progress indicator twice is fine, a third is dropped.
        let d = ok(&hex("08 02 80 01 01 1e 02 82 81 1e 02 82 88 1e 02 82 82"));
        assert_eq!(d.msg.progress().count(), 2);
        assert_eq!(d.problems, [problem(0, 0x1E, IeProblemKind::Repeated)]);
        // Facility repeats freely; bearer capability twice after a repeat indicator.
        let d = ok(&hex("08 02 00 01 05 d2 04 03 80 90 a3 04 03 90 90 a3 1c 01 91 1c 01 92"));
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(d.msg.ies.len(), 5);
        assert_eq!(d.msg.ies[0], Ie::Other { codeset: 0, id: 0xD2, data: vec![] });
        // The repeat indicator stays in front of the repeated elements when re-encoded.
        assert_eq!(d.msg.encode(), hex("08 02 00 01 05 d2 04 03 80 90 a3 04 03 90 90 a3 1c 01 91 1c 01 92"));
        // Sending complete twice.
        let d = ok(&hex("08 02 00 01 7b a1 a1"));
        assert_eq!(d.msg.ies, [Ie::SendingComplete]);
        assert_eq!(d.problems, [problem(0, 0xA1, IeProblemKind::Repeated)]);
    }

    #[test]
    fn encoder_places_other_codesets_last_with_non_locking_shifts() {
        let m = Message::new(CallRef { value: 0x1234, flag: false }, MessageType::Disconnect)
            .with(Ie::Other { codeset: 5, id: 0x30, data: vec![1] })
            .with(Ie::Cause(CauseIe::new(Cause::UserBusy, Location::PublicLocal)))
            .with(Ie::Other { codeset: 0, id: 0x95, data: vec![] })
            .with(Ie::ProgressIndicator(ProgressIndicator::new(
                Location::PublicLocal,
                ProgressDescription::InbandAvailable,
            )));
        assert_eq!(m.encode(), hex("08 02 12 34 45 08 02 82 91 1e 02 82 88 9d 30 01 01"));
        let d = ok(&m.encode());
        assert!(d.problems.is_empty());
        assert_eq!(d.msg.ies.len(), 3);
    }

    #[test]
    fn channel_selection_any_via_message() {
        let d = ok(&hex("08 02 00 01 05 18 01 a3"));
        assert_eq!(d.msg.channel_id().map(|c| c.selection.clone()), Some(ChannelSelection::Any));
    }

    /// The fuzz seed corpus (`fuzz/corpus/q931_decode/`, listed in
    /// `fuzz/q931_decode_seeds.txt`): real messages, each decoding cleanly.
    const FUZZ_SEEDS: &[(&str, &str)] = &[
        ("setup", "08 02 00 01 05 04 03 80 90 a3 18 03 a9 83 81 6c 06 21 81 31 32 33 34 70 05 81 35 36 37 38 a1"),
        ("setup_redirecting", "08 02 00 03 05 04 03 90 90 a2 18 03 a9 83 8a 28 04 b1 4a 6f 65 6c 06 11 81 34 39 33 30 70 03 c1 35 35 74 07 21 03 8f 31 32 33 34 7d 02 91 81"),
        ("setup_codeset6", "08 02 00 02 05 04 03 80 90 a3 18 03 a1 83 85 6c 02 21 a3 70 04 81 31 32 33 96 01 02 aa bb"),
        ("setup_acknowledge", "08 02 80 01 0d 18 03 a9 83 81"),
        ("call_proceeding", "08 02 80 01 02 18 03 a9 83 81"),
        ("alerting", "08 02 80 01 01 1e 02 82 88"),
        ("progress", "08 02 80 01 03 1e 02 82 81"),
        ("connect", "08 02 80 01 07 29 05 18 03 0f 0e 1e 4c 06 01 81 35 36 37 38"),
        ("connect_acknowledge", "08 02 00 01 0f"),
        ("information", "08 02 00 01 7b 70 02 81 39 a1"),
        ("notify", "08 02 80 01 6e 27 01 fb"),
        ("disconnect", "08 02 80 01 45 08 02 82 90 1e 02 82 88"),
        ("release", "08 02 00 01 4d 08 02 80 90"),
        ("release_complete", "08 02 80 01 5a"),
        ("restart", "08 02 00 00 46 18 03 a9 83 81 79 01 80"),
        ("restart_acknowledge", "08 02 80 00 4e 18 03 a9 83 81 79 01 80"),
        ("status", "08 02 80 01 7d 08 03 80 e1 33 14 01 0a"),
        ("status_enquiry", "08 02 00 01 75")
,
    ];

    #[test]
    fn fuzz_seeds_decode_cleanly_and_match_the_corpus() {
        let mut kinds = Vec::new();
        for (name, h) in FUZZ_SEEDS {
            let bytes = hex(h);
            let d = ok(&bytes);
            assert!(d.problems.is_empty(), "{name}: {:?}", d.problems);
            assert!(!matches!(d.msg.kind, MessageType::Unknown(_)), "{name}");
            assert_eq!(ok(&d.msg.encode()).msg.encode(), d.msg.encode(), "{name}");
            kinds.push(d.msg.kind);
            // The binary files, when this crate has them (the fuzz crate may live elsewhere).
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/q931_decode").join(name);
            if let Ok(file) = std::fs::read(&path) {
                assert_eq!(file, bytes, "{}", path.display());
            }
        }
        use MessageType::*;
        for kind in [
            Setup,
            CallProceeding,
            Alerting,
            Connect,
            ConnectAcknowledge,
            Disconnect,
            Release,
            ReleaseComplete,
            Restart,
            RestartAcknowledge,
            Status,
            StatusEnquiry,
            Information,
            Progress,
            SetupAcknowledge,
        ] {
            assert!(kinds.contains(&kind), "no seed for {}", kind.name());
        }
    }

    mod prop {
        use super::*;
        use crate::signalling::pri::q931::ie::{
            HighLayerCompatibility, NumberingPlan, RedirectingNumber, RedirectionReason, TransferCapability, UserUser,
        };
        use proptest::collection::vec;
        use proptest::option;
        use proptest::prelude::*;

        fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
            vec(any::<u8>(), 0..=max)
        }

        fn location() -> impl Strategy<Value = Location> {
            (0u8..16).prop_map(Location::from_code)
        }

        fn bearer() -> impl Strategy<Value = BearerCapability> {
            let rest = prop_oneof![
                Just(Vec::new()),
                // Octet 6 (layer 2) and/or 7 (layer 3).
                (0u8..32, option::of(0u8..32)).prop_map(|(l2, l3)| {
                    let mut v = vec![0xC0 | l2];
                    v.extend(l3.map(|p| 0xE0 | p));
                    v
                }),
            ];
            (0u8..4, 0u8..32, 0u8..4, 0u8..32, 1u8..128, option::of(0u8..32), rest).prop_map(
                |(coding_standard, tc, transfer_mode, transfer_rate, mult, l1, rest)| BearerCapability {
                    coding_standard,
                    transfer_capability: TransferCapability::from_code(tc),
                    transfer_mode,
                    transfer_rate,
                    rate_multiplier: (transfer_rate == 0x18).then_some(mult),
                    layer1: l1.map(UserInfoLayer1::from_code),
                    rest,
                },
            )
        }

        fn channel_id() -> impl Strategy<Value = ChannelId> {
            let pri = prop_oneof![
                Just(ChannelSelection::NoChannel),
                Just(ChannelSelection::Any),
                Just(ChannelSelection::DChannel),
                vec(1u8..=31, 1..4).prop_map(ChannelSelection::Channels),
            ];
            let bri = prop_oneof![
                Just(ChannelSelection::NoChannel),
                Just(ChannelSelection::Any),
                Just(ChannelSelection::DChannel),
                (1u8..=2).prop_map(|c| ChannelSelection::Channels(vec![c])),
            ];
            let selection = (any::<bool>(), pri, bri).prop_map(|(p, a, b)| (p, if p { a } else { b }));
            (any::<bool>(), option::of(0u8..128), selection).prop_map(
                |(exclusive, interface, (primary_rate, selection))| ChannelId {
                    primary_rate,
                    exclusive,
                    interface,
                    selection,
                },
            )
        }

        fn presentation() -> impl Strategy<Value = (Presentation, Screening)> {
            (
                prop_oneof![
                    Just(Presentation::Allowed),
                    Just(Presentation::Restricted),
                    Just(Presentation::Unavailable)
                ],
                (0u8..4).prop_map(Screening::from_code),
            )
        }

        fn number(with_3a: bool) -> impl Strategy<Value = PartyNumber> {
            (0u8..8, 0u8..16, option::of(presentation()), "[0-9*#A-D]{0,16}").prop_map(
                move |(ton, npi, presentation, digits)| PartyNumber {
                    ton: TypeOfNumber::from_code(ton),
                    npi: NumberingPlan::from_code(npi),
                    presentation: if with_3a { presentation } else { None },
                    digits,
                },
            )
        }

        fn redirecting() -> impl Strategy<Value = RedirectingNumber> {
            (number(true), option::of(0u8..16), presentation()).prop_map(|(mut number, reason, p)| {
                if reason.is_some() && number.presentation.is_none() {
                    number.presentation = Some(p);
                }
                RedirectingNumber { number, reason: reason.map(RedirectionReason::from_code) }
            })
        }

        fn date_time() -> impl Strategy<Value = DateTime> {
            (0u8..100, 1u8..=12, 1u8..=31, 0usize..4, 0u8..24, 0u8..60, 0u8..60).prop_map(|(y, mo, d, n, h, mi, s)| {
                DateTime {
                    year: y,
                    month: mo,
                    day: d,
                    hour: (n >= 1).then_some(h),
                    minute: (n >= 2).then_some(mi),
                    second: (n >= 3).then_some(s),
                }
            })
        }

        fn hlc() -> impl Strategy<Value = HighLayerCompatibility> {
            (0u8..4, 0u8..8, 0u8..4, 0u8..128, option::of(0u8..128)).prop_map(|(c, i, p, ch, e)| {
                HighLayerCompatibility {
                    coding_standard: c,
                    interpretation: i,
                    presentation: p,
                    characteristics: ch,
                    extended: e,
                }
            })
        }

        fn other_codeset() -> impl Strategy<Value = Ie> {
            let single = (0xA0u8..=0xFF).prop_filter("not a shift", |o| o & 0xF0 != 0x90);
            (4u8..8, prop_oneof![(0u8..0x80, bytes(20)), (single, Just(Vec::new()))])
                .prop_map(|(codeset, (id, data))| Ie::Other { codeset, id, data })
        }

        /// Elements that may appear once (as `Option`s), plus the repeatable ones.
        fn elements() -> impl Strategy<Value = Vec<Ie>> {
            let once_a = (
                option::of(Just(Ie::SendingComplete)),
                option::of(bearer().prop_map(Ie::BearerCapability)),
                option::of((0u8..4, location(), 0u8..128, bytes(8)).prop_map(|(c, l, v, d)| {
                    Ie::Cause(CauseIe { coding_standard: c, location: l, cause: Cause::from_code(v), diagnostics: d })
                })),
                option::of((0u8..64).prop_map(Ie::CallState)),
                option::of(channel_id().prop_map(Ie::ChannelId)),
                option::of(bytes(82).prop_map(Ie::Display)),
                option::of(date_time().prop_map(Ie::DateTime)),
                option::of("[ -~]{0,20}".prop_map(Ie::KeypadFacility)),
            );
            let once_b = (
                option::of(any::<u8>().prop_map(Ie::Signal)),
                option::of(number(true).prop_map(Ie::ConnectedNumber)),
                option::of(number(true).prop_map(Ie::CallingPartyNumber)),
                option::of(bytes(20).prop_map(Ie::CallingPartySubaddress)),
                option::of(number(false).prop_map(Ie::CalledPartyNumber)),
                option::of(bytes(20).prop_map(Ie::CalledPartySubaddress)),
                option::of(redirecting().prop_map(Ie::RedirectingNumber)),
                option::of((0u8..8).prop_map(|c| Ie::RestartIndicator(RestartClass::from_code(c)))),
            );
            let once_c = (
                option::of(bytes(16).prop_map(Ie::LowLayerCompatibility)),
                option::of(hlc().prop_map(Ie::HighLayerCompatibility)),
                option::of(
                    (any::<u8>(), bytes(30)).prop_map(|(protocol, data)| Ie::UserUser(UserUser { protocol, data })),
                ),
            );
            let repeated = (
                vec(
                    (0u8..4, location(), 0u8..128).prop_map(|(c, l, d)| {
                        Ie::ProgressIndicator(ProgressIndicator {
                            coding_standard: c,
                            location: l,
                            description: ProgressDescription::from_code(d),
                        })
                    }),
                    0..=2,
                ),
                vec(bytes(30).prop_map(Ie::Facility), 0..=2),
                vec((0u8..128).prop_map(Ie::NotificationIndicator), 0..=2),
                vec(other_codeset(), 0..=2),
            );
            (once_a, once_b, once_c, repeated)
                .prop_map(|(a, b, c, r)| {
                    let mut v: Vec<Ie> = [a.0, a.1, a.2, a.3, a.4, a.5, a.6, a.7]
                        .into_iter()
                        .chain([b.0, b.1, b.2, b.3, b.4, b.5, b.6, b.7])
                        .chain([c.0, c.1, c.2])
                        .flatten()
                        .collect();
                    v.extend(r.0);
                    v.extend(r.1);
                    v.extend(r.2);
                    v.extend(r.3);
                    v
                })
                .prop_shuffle()
        }

        fn kind() -> impl Strategy<Value = MessageType> {
            (1u8..0x80).prop_map(MessageType::from_code)
        }

        fn message() -> impl Strategy<Value = Message> {
            (0u16..0x8000, any::<bool>(), kind(), elements()).prop_map(|(value, flag, kind, ies)| Message {
                cref: CallRef { value, flag },
                kind,
                ies,
            })
        }

        /// A valid header followed by arbitrary octets: reaches the element decoders.
        fn with_header() -> impl Strategy<Value = Vec<u8>> {
            (any::<u16>(), 1u8..0x80, bytes(280)).prop_map(|(cr, mt, tail)| {
                let mut v = vec![PD_Q931, 2, (cr >> 8) as u8, cr as u8, mt];
                v.extend(tail);
                v
            })
        }

        /// Arbitrary but mostly well-framed elements: id, matching length, contents.
        fn framed() -> impl Strategy<Value = Vec<u8>> {
            let element = prop_oneof![
                (0u8..0x80, bytes(12)).prop_map(|(id, d)| {
                    let mut v = vec![id, d.len() as u8];
                    v.extend(d);
                    v
                }),
                (
                    proptest::sample::select(vec![
                        0x04u8, 0x08, 0x14, 0x18, 0x1E, 0x29, 0x4C, 0x6C, 0x70, 0x74, 0x79, 0x7D
                    ]),
                    bytes(8)
                )
                    .prop_map(|(id, d)| {
                        let mut v = vec![id, d.len() as u8];
                        v.extend(d);
                        v
                    }),
                (0x80u8..=0xFF).prop_map(|o| vec![o]),
            ];
            (kind(), vec(element, 0..12)).prop_map(|(kind, elements)| {
                let mut v = vec![PD_Q931, 2, 0x00, 0x01, kind.code()];
                v.extend(elements.concat());
                v
            })
        }

        /// What the fuzz target checks too: decoding never panics, and once decoded,
        /// encoding is a fixpoint (decode ∘ encode returns the canonical message).
        fn check_fixpoint(bytes: &[u8]) -> Result<(), TestCaseError> {
            if let Ok(first) = decode(bytes) {
                let once = first.msg.encode();
                let again = decode(&once).expect("our own encoding decodes");
                let canonical: Vec<Ie> = first.msg.canonical_order().into_iter().cloned().collect();
                prop_assert_eq!(&again.msg.ies, &canonical);
                prop_assert_eq!(again.msg.encode(), once);
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn decode_never_panics(bytes in bytes(300)) {
                let _ = decode(&bytes);
            }

            #[test]
            fn decode_after_header_never_panics_and_reencodes(bytes in with_header()) {
                check_fixpoint(&bytes)?;
            }

            #[test]
            fn framed_elements_reencode(bytes in framed()) {
                check_fixpoint(&bytes)?;
            }

            #[test]
            fn well_formed_messages_round_trip(m in message()) {
                let d = decode(&m.encode()).expect("our own encoding decodes");
                prop_assert!(d.problems.is_empty(), "{:?}", d.problems);
                prop_assert_eq!(d.msg.cref, m.cref);
                prop_assert_eq!(d.msg.kind, m.kind);
                let canonical: Vec<Ie> = m.canonical_order().into_iter().cloned().collect();
                prop_assert_eq!(d.msg.ies, canonical);
            }
        }
    }
}
