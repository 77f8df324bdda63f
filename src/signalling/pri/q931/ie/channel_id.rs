//! §4.5.13 Channel identification: which B-channel a call uses. On a primary rate
//! interface the channel is given by number in octet 3.3.

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
        ChannelId { primary_rate: true, exclusive, interface: None, selection: ChannelSelection::Channels(vec![channel]) }
    }

    /// The single channel number, when exactly one is indicated.
    pub fn channel(&self) -> Option<u8> {
        match &self.selection {
            ChannelSelection::Channels(c) if c.len() == 1 => Some(c[0]),
            _ => None,
        }
    }
}
