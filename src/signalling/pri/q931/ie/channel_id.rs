//! §4.5.13 Channel identification: which B-channel a call uses. On a primary rate
//! interface the channel is given by number in octet 3.3.

use super::{split_group, IeError};

/// Which channel(s) the element indicates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelSelection {
    /// Octet 3 bits 2–1 = 00: no channel.
    NoChannel,
    /// Octet 3 bits 2–1 = 11: any channel.
    Any,
    /// Channel numbers (E1 timeslots 1–31) from octet 3.3 (usually exactly one).
    Channels(Vec<u8>),
    /// The D-channel itself (octet 3 bit 3 with "as indicated").
    DChannel,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelId {
    /// Octet 3 bit 6: primary rate (true) or basic (false). We send primary rate.
    pub primary_rate: bool,
    /// Octet 3 bit 4: exclusive (true: only this channel is acceptable) or preferred.
    pub exclusive: bool,
    /// Octet 3 bit 7 and octet 3.1: an explicit interface identifier (NFAS), if any.
    pub interface: Option<u8>,
    pub selection: ChannelSelection,
}

impl ChannelId {
    /// One B-channel of this interface.
    pub fn b_channel(channel: u8, exclusive: bool) -> Self {
        ChannelId {
            primary_rate: true,
            exclusive,
            interface: None,
            selection: ChannelSelection::Channels(vec![channel]),
        }
    }

    /// The single channel number, when exactly one is indicated.
    pub fn channel(&self) -> Option<u8> {
        match &self.selection {
            ChannelSelection::Channels(c) if c.len() == 1 => Some(c[0]),
            _ => None,
        }
    }
}

/// Octet 3 fields.
const INTERFACE_ID_PRESENT: u8 = 0x40;
const PRIMARY_RATE: u8 = 0x20;
const EXCLUSIVE: u8 = 0x08;
const D_CHANNEL: u8 = 0x04;
/// Octet 3.2: number/map bit and the "B-channel units" channel type.
const SLOT_MAP: u8 = 0x10;
const B_CHANNEL_UNITS: u8 = 0x03;

impl ChannelId {
    /// Decodes the contents. Channel numbers are not range-checked here: a number the
    /// span does not have is for call control to refuse with cause 82.
    pub(super) fn decode(data: &[u8]) -> Result<Self, IeError> {
        // Octet 3 has no extension octets; any sent anyway are skipped.
        let (group3, mut rest) = split_group(data)?;
        let octet3 = group3.first().copied().ok_or(IeError::TooShort)?;
        let primary_rate = octet3 & PRIMARY_RATE != 0;
        let exclusive = octet3 & EXCLUSIVE != 0;
        let mut interface = None;
        if octet3 & INTERFACE_ID_PRESENT != 0 {
            let (group31, tail) = split_group(rest)?;
            match group31 {
                [id] => interface = Some(id & 0x7F),
                // Multi-octet interface identifiers are allowed by §4.5.13 but no NFAS
                // group we serve uses one, and `interface` cannot hold it.
                _ => return Err(IeError::BadValue { octet: "3.1", value: group31.first().copied().unwrap_or(0) }),
            }
            rest = tail;
        }
        let id = |selection| ChannelId { primary_rate, exclusive, interface, selection };
        if octet3 & D_CHANNEL != 0 {
            return Ok(id(ChannelSelection::DChannel));
        }
        let selection = octet3 & 0x03;
        match selection {
            0b00 => return Ok(id(ChannelSelection::NoChannel)),
            0b11 => return Ok(id(ChannelSelection::Any)),
            _ if !primary_rate => return Ok(id(ChannelSelection::Channels(vec![selection]))),
            0b10 => return Err(IeError::BadValue { octet: "3", value: octet3 }),
            _ => {}
        }
        // Primary rate, "as indicated in the following octets".
        let (group32, map) = split_group(rest)?;
        let octet32 = group32.first().copied().ok_or(IeError::TooShort)?;
        let coding = (octet32 >> 5) & 0x03;
        if coding != 0 {
            return Err(IeError::CodingStandard(coding));
        }
        if octet32 & 0x0F != B_CHANNEL_UNITS {
            // H0/H11/H12 channels: not something an E1 gateway offers.
            return Err(IeError::BadValue { octet: "3.2", value: octet32 });
        }
        let channels = if octet32 & SLOT_MAP != 0 { slot_map(map)? } else { channel_numbers(map)? };
        Ok(id(ChannelSelection::Channels(channels)))
    }

    /// Channels are sent by number (never as a slot map). An empty channel list is sent
    /// as "no channel"; on a basic rate interface only B1/B2 exist, anything else is sent
    /// as "any channel".
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        let mut octet3 = 0x80;
        if self.interface.is_some() {
            octet3 |= INTERFACE_ID_PRESENT;
        }
        if self.primary_rate {
            octet3 |= PRIMARY_RATE;
        }
        if self.exclusive {
            octet3 |= EXCLUSIVE;
        }
        let numbers: &[u8] = match &self.selection {
            ChannelSelection::NoChannel => &[],
            ChannelSelection::Any => {
                octet3 |= 0b11;
                &[]
            }
            ChannelSelection::DChannel => {
                octet3 |= D_CHANNEL | 0b01;
                &[]
            }
            ChannelSelection::Channels(c) if c.is_empty() => &[],
            ChannelSelection::Channels(c) if !self.primary_rate => {
                octet3 |= match c.as_slice() {
                    [1] => 0b01,
                    [2] => 0b10,
                    _ => 0b11,
                };
                &[]
            }
            ChannelSelection::Channels(c) => {
                octet3 |= 0b01;
                c
            }
        };
        out.push(octet3);
        if let Some(i) = self.interface {
            out.push(0x80 | (i & 0x7F));
        }
        if let Some((last, first)) = numbers.split_last() {
            out.push(0x80 | B_CHANNEL_UNITS);
            out.extend(first.iter().map(|c| c & 0x7F));
            out.push(0x80 | (last & 0x7F));
        }
    }
}

/// Octet 3.3 by number: each octet one channel, bit 8 = 1 on the last one. Octets after
/// the last one (none are defined) are ignored.
fn channel_numbers(data: &[u8]) -> Result<Vec<u8>, IeError> {
    let (numbers, _) = split_group(data)?;
    Ok(numbers.iter().map(|c| c & 0x7F).collect())
}

/// Octet 3.3 as a slot map (all 8 bits used, no extension bits), as libpri reads it: 4
/// octets on a 2048 kbit/s interface (bit n of the 32-bit map = timeslot n, timeslot 0 being
/// framing), 3 on a 1544 kbit/s one (bit n = channel n + 1).
fn slot_map(data: &[u8]) -> Result<Vec<u8>, IeError> {
    let (map, first_slot) = match data {
        [a, b, c, d] => (u32::from_be_bytes([*a, *b, *c, *d]), 0u8),
        [a, b, c] => (u32::from_be_bytes([0, *a, *b, *c]), 1u8),
        [] => return Err(IeError::TooShort),
        _ => return Err(IeError::TooLong),
    };
    if first_slot == 0 && map & 1 != 0 {
        return Err(IeError::BadValue { octet: "3.3 (slot map)", value: map as u8 });
    }
    let channels: Vec<u8> = (0..32u8).filter(|bit| map & (1u32 << bit) != 0).map(|bit| bit + first_slot).collect();
    if channels.is_empty() {
        return Err(IeError::BadValue { octet: "3.3 (slot map)", value: 0 });
    }
    Ok(channels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::pri::q931::ie::Ie;

    fn encoded(c: &ChannelId) -> Vec<u8> {
        let mut out = Vec::new();
        Ie::ChannelId(c.clone()).encode(&mut out);
        out
    }

    #[test]
    fn golden_exclusive_b1() {
        let c = ChannelId::decode(&[0xA9, 0x83, 0x81]).unwrap();
        assert_eq!(c, ChannelId::b_channel(1, true));
        assert_eq!(c.channel(), Some(1));
        assert_eq!(encoded(&c), [0x18, 0x03, 0xA9, 0x83, 0x81]);
    }

    #[test]
    fn golden_preferred_5() {
        let c = ChannelId::decode(&[0xA1, 0x83, 0x85]).unwrap();
        assert_eq!(c, ChannelId::b_channel(5, false));
        assert_eq!(encoded(&c), [0x18, 0x03, 0xA1, 0x83, 0x85]);
    }

    #[test]
    fn several_channels_by_number() {
        let c = ChannelId::decode(&[0xA9, 0x83, 0x01, 0x02, 0x9F]).unwrap();
        assert_eq!(c.selection, ChannelSelection::Channels(vec![1, 2, 31]));
        assert_eq!(c.channel(), None);
        assert_eq!(encoded(&c)[2..], [0xA9, 0x83, 0x01, 0x02, 0x9F]);
    }

    #[test]
    fn explicit_interface() {
        // NFAS: interface 1, exclusive channel 17.
        let c = ChannelId::decode(&[0xE9, 0x81, 0x83, 0x91]).unwrap();
        assert_eq!(c.interface, Some(1));
        assert_eq!(c.channel(), Some(17));
        assert_eq!(encoded(&c)[2..], [0xE9, 0x81, 0x83, 0x91]);
    }

    #[test]
    fn any_no_channel_and_d_channel() {
        let any = ChannelId::decode(&[0xA3]).unwrap();
        assert_eq!(any.selection, ChannelSelection::Any);
        assert_eq!(encoded(&any), [0x18, 0x01, 0xA3]);
        let none = ChannelId::decode(&[0xA0]).unwrap();
        assert_eq!(none.selection, ChannelSelection::NoChannel);
        assert_eq!(encoded(&none), [0x18, 0x01, 0xA0]);
        let d = ChannelId::decode(&[0xAD]).unwrap();
        assert_eq!((d.selection, d.exclusive), (ChannelSelection::DChannel, true));
        assert_eq!(encoded(&ChannelId::decode(&[0xAC]).unwrap()), [0x18, 0x01, 0xAD]);
    }

    #[test]
    fn basic_rate() {
        let b1 = ChannelId::decode(&[0x89]).unwrap();
        assert_eq!((b1.primary_rate, b1.selection.clone()), (false, ChannelSelection::Channels(vec![1])));
        let b2 = ChannelId::decode(&[0x82]).unwrap();
        assert_eq!(b2.selection, ChannelSelection::Channels(vec![2]));
        assert_eq!(encoded(&b1), [0x18, 0x01, 0x89]);
        assert_eq!(encoded(&b2), [0x18, 0x01, 0x82]);
    }

    #[test]
    fn slot_maps() {
        // E1: timeslots 1 and 17.
        let c = ChannelId::decode(&[0xA9, 0x93, 0x00, 0x02, 0x00, 0x02]).unwrap();
        assert_eq!(c.selection, ChannelSelection::Channels(vec![1, 17]));
        // T1: bit 0 = channel 1.
        let c = ChannelId::decode(&[0xA9, 0x93, 0x00, 0x00, 0x01]).unwrap();
        assert_eq!(c.selection, ChannelSelection::Channels(vec![1]));
        // Timeslot 0, empty maps and odd sizes are content errors.
        assert!(ChannelId::decode(&[0xA9, 0x93, 0x00, 0x00, 0x00, 0x01]).is_err());
        assert!(ChannelId::decode(&[0xA9, 0x93, 0x00, 0x00, 0x00, 0x00]).is_err());
        assert!(ChannelId::decode(&[0xA9, 0x93, 0x01]).is_err());
        assert!(ChannelId::decode(&[0xA9, 0x93]).is_err());
    }

    #[test]
    fn content_errors() {
        // Reserved information channel selection 10 on a primary rate interface.
        assert_eq!(ChannelId::decode(&[0xAA, 0x83, 0x81]), Err(IeError::BadValue { octet: "3", value: 0xAA }));
        // National coding standard in octet 3.2.
        assert_eq!(ChannelId::decode(&[0xA9, 0xE3, 0x81]), Err(IeError::CodingStandard(3)));
        // H0 channel type.
        assert!(ChannelId::decode(&[0xA9, 0x86, 0x81]).is_err());
        // Missing octet 3.2 / 3.3, unterminated channel list.
        assert_eq!(ChannelId::decode(&[0xA9]), Err(IeError::TooShort));
        assert_eq!(ChannelId::decode(&[0xA9, 0x83]), Err(IeError::TooShort));
        assert_eq!(ChannelId::decode(&[0xA9, 0x83, 0x01]), Err(IeError::TooShort));
        assert_eq!(ChannelId::decode(&[]), Err(IeError::TooShort));
        // Interface identifier announced but missing.
        assert_eq!(ChannelId::decode(&[0xE9]), Err(IeError::TooShort));
    }

    #[test]
    fn empty_channel_list_encodes_as_no_channel() {
        let c = ChannelId { selection: ChannelSelection::Channels(vec![]), ..ChannelId::b_channel(1, true) };
        assert_eq!(encoded(&c), [0x18, 0x01, 0xA8]);
    }
}
