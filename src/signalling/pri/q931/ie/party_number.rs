//! What calling, called, connected and redirecting numbers share (§4.5.8, §4.5.10):
//! type of number, numbering plan, presentation and screening.

use crate::signalling::Presentation;

/// Octet 3, bits 7–5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TypeOfNumber {
    #[default]
    Unknown,
    International,
    National,
    NetworkSpecific,
    Subscriber,
    Abbreviated,
    /// A reserved code point, kept.
    Reserved(u8),
}

/// Octet 3, bits 4–1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NumberingPlan {
    #[default]
    Unknown,
    /// ISDN/telephony numbering plan (E.164).
    Isdn,
    /// X.121
    Data,
    /// F.69
    Telex,
    National,
    Private,
    Reserved(u8),
}

/// Octet 3a, bits 2–1: who vouches for the number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Screening {
    #[default]
    UserProvidedNotScreened,
    UserProvidedVerifiedPassed,
    UserProvidedVerifiedFailed,
    NetworkProvided,
}

/// A party number. `presentation`/`screening` are octet 3a (absent in the called party
/// number, optional in the others: absent means "allowed, user provided, not screened").
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PartyNumber {
    pub ton: TypeOfNumber,
    pub npi: NumberingPlan,
    /// `None`: octet 3a absent.
    pub presentation: Option<(Presentation, Screening)>,
    /// IA5 digits (0-9 * # and, rarely, A-D); other octets are a content error.
    pub digits: String,
}

impl TypeOfNumber {
    pub fn code(self) -> u8 {
        todo!()
    }
    pub fn from_code(v: u8) -> Self {
        let _ = v;
        todo!()
    }
}

impl NumberingPlan {
    pub fn code(self) -> u8 {
        todo!()
    }
    pub fn from_code(v: u8) -> Self {
        let _ = v;
        todo!()
    }
}
