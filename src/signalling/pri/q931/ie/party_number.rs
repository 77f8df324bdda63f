//! What calling, called, connected and redirecting numbers share (§4.5.8, §4.5.10):
//! type of number, numbering plan, presentation and screening.

use super::{split_group, IeError};
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
        match self {
            TypeOfNumber::Unknown => 0,
            TypeOfNumber::International => 1,
            TypeOfNumber::National => 2,
            TypeOfNumber::NetworkSpecific => 3,
            TypeOfNumber::Subscriber => 4,
            TypeOfNumber::Abbreviated => 6,
            TypeOfNumber::Reserved(v) => v & 0x07,
        }
    }
    /// From octet 3 bits 7–5 (already shifted down; higher bits are ignored).
    pub fn from_code(v: u8) -> Self {
        match v & 0x07 {
            0 => TypeOfNumber::Unknown,
            1 => TypeOfNumber::International,
            2 => TypeOfNumber::National,
            3 => TypeOfNumber::NetworkSpecific,
            4 => TypeOfNumber::Subscriber,
            6 => TypeOfNumber::Abbreviated,
            v => TypeOfNumber::Reserved(v),
        }
    }
}

impl NumberingPlan {
    pub fn code(self) -> u8 {
        match self {
            NumberingPlan::Unknown => 0,
            NumberingPlan::Isdn => 1,
            NumberingPlan::Data => 3,
            NumberingPlan::Telex => 4,
            NumberingPlan::National => 8,
            NumberingPlan::Private => 9,
            NumberingPlan::Reserved(v) => v & 0x0F,
        }
    }
    /// From octet 3 bits 4–1 (higher bits are ignored).
    pub fn from_code(v: u8) -> Self {
        match v & 0x0F {
            0 => NumberingPlan::Unknown,
            1 => NumberingPlan::Isdn,
            3 => NumberingPlan::Data,
            4 => NumberingPlan::Telex,
            8 => NumberingPlan::National,
            9 => NumberingPlan::Private,
            v => NumberingPlan::Reserved(v),
        }
    }
}

impl Screening {
    /// Octet 3a bits 2–1.
    pub fn code(self) -> u8 {
        match self {
            Screening::UserProvidedNotScreened => 0,
            Screening::UserProvidedVerifiedPassed => 1,
            Screening::UserProvidedVerifiedFailed => 2,
            Screening::NetworkProvided => 3,
        }
    }
    pub fn from_code(v: u8) -> Self {
        match v & 0x03 {
            0 => Screening::UserProvidedNotScreened,
            1 => Screening::UserProvidedVerifiedPassed,
            2 => Screening::UserProvidedVerifiedFailed,
            _ => Screening::NetworkProvided,
        }
    }
}

/// Octet 3a bits 7–6 for `p`.
pub(crate) fn presentation_code(p: Presentation) -> u8 {
    match p {
        Presentation::Allowed => 0,
        Presentation::Restricted => 1,
        Presentation::Unavailable => 2,
    }
}

/// Octet 3a bits 7–6 (shifted down). 11 is reserved: read as restricted, so a number we
/// cannot classify is never shown.
pub(crate) fn presentation_from_code(v: u8) -> Presentation {
    match v & 0x03 {
        0 => Presentation::Allowed,
        2 => Presentation::Unavailable,
        _ => Presentation::Restricted,
    }
}

impl PartyNumber {
    /// A number with presentation allowed, user provided, not screened (octet 3a absent).
    pub fn new(ton: TypeOfNumber, npi: NumberingPlan, digits: impl Into<String>) -> Self {
        PartyNumber { ton, npi, presentation: None, digits: digits.into() }
    }

    /// Presentation as the receiver must treat it: octet 3a absent means allowed.
    pub fn presentation_or_default(&self) -> Presentation {
        self.presentation.map(|(p, _)| p).unwrap_or_default()
    }
}

/// Whether `c` may appear in a number's digits (IA5, §4.5.8: 0–9 * # and A–D; ',' is a
/// pause some PBXs send).
pub(crate) fn is_number_digit(c: u8) -> bool {
    matches!(c, b'0'..=b'9' | b'*' | b'#' | b'A'..=b'D' | b'a'..=b'd' | b',')
}

/// Decodes octet group 3 (3, 3a, 3b …) and the digits of a number element.
///
/// Up to `extensions` octets after octet 3 are returned (the caller interprets 3a/3b);
/// extension octets beyond those this element defines are skipped, as §4.5.1 lets a
/// receiver do with extensions it does not know.
pub(super) fn decode_number(data: &[u8], extensions: usize) -> Result<(PartyNumber, [Option<u8>; 2]), IeError> {
    let (group, digits) = split_group(data)?;
    let (&octet3, ext) = group.split_first().ok_or(IeError::TooShort)?;
    let mut octets = [None; 2];
    for (slot, &o) in octets.iter_mut().zip(ext.iter()).take(extensions) {
        *slot = Some(o);
    }
    let mut number = PartyNumber {
        ton: TypeOfNumber::from_code(octet3 >> 4),
        npi: NumberingPlan::from_code(octet3),
        presentation: None,
        digits: String::with_capacity(digits.len()),
    };
    if let Some(o3a) = octets[0] {
        number.presentation = Some((presentation_from_code(o3a >> 5), Screening::from_code(o3a)));
    }
    for &d in digits {
        if !is_number_digit(d) {
            return Err(IeError::BadValue { octet: "4 (number digits)", value: d });
        }
        number.digits.push(char::from(d));
    }
    Ok((number, octets))
}

/// Encodes octet 3, octet 3a (when `with_3a` and a presentation is set, or when `octet3b`
/// is given: 3b can only follow 3a, so 3a then defaults to allowed / not screened), octet
/// 3b and the digits. Characters outside the IA5 digit set are not sent: a '+' from SIP
/// must become type of number "international" before it gets here.
pub(super) fn encode_number(n: &PartyNumber, with_3a: bool, octet3b: Option<u8>, out: &mut Vec<u8>) {
    let octet3 = (n.ton.code() << 4) | n.npi.code();
    let presentation = match (with_3a, n.presentation, octet3b) {
        (false, _, _) => None,
        (true, Some(p), _) => Some(p),
        (true, None, Some(_)) => Some((Presentation::Allowed, Screening::UserProvidedNotScreened)),
        (true, None, None) => None,
    };
    match presentation {
        None => out.push(0x80 | octet3),
        Some((p, s)) => {
            out.push(octet3);
            let o3a = (presentation_code(p) << 5) | s.code();
            match octet3b {
                None => out.push(0x80 | o3a),
                Some(o3b) => {
                    out.push(o3a);
                    out.push(0x80 | o3b);
                }
            }
        }
    }
    out.extend(n.digits.bytes().filter(|&d| is_number_digit(d)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for v in 0..8 {
            assert_eq!(TypeOfNumber::from_code(v).code(), v);
        }
        for v in 0..16 {
            assert_eq!(NumberingPlan::from_code(v).code(), v);
        }
        for v in 0..4 {
            assert_eq!(Screening::from_code(v).code(), v);
        }
        assert_eq!(TypeOfNumber::from_code(6), TypeOfNumber::Abbreviated);
        assert_eq!(NumberingPlan::from_code(9), NumberingPlan::Private);
    }

    #[test]
    fn reserved_presentation_reads_as_restricted() {
        assert_eq!(presentation_from_code(3), Presentation::Restricted);
        assert_eq!(presentation_from_code(2), Presentation::Unavailable);
    }

    #[test]
    fn encoder_drops_non_digits() {
        let mut out = Vec::new();
        encode_number(
            &PartyNumber::new(TypeOfNumber::International, NumberingPlan::Isdn, "+4930"),
            false,
            None,
            &mut out,
        );
        assert_eq!(out, [0x91, b'4', b'9', b'3', b'0']);
    }

    #[test]
    fn octet_3b_forces_octet_3a() {
        let mut out = Vec::new();
        encode_number(&PartyNumber::new(TypeOfNumber::Unknown, NumberingPlan::Isdn, "1"), true, Some(0x0F), &mut out);
        assert_eq!(out, [0x01, 0x00, 0x8F, b'1']);
    }
}
