//! §4.5.14 Date/time: the network's clock, sent in CONNECT (year is two digits).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    /// 0–99 as on the wire.
    pub year: u8,
    pub month: u8,
    pub day: u8,
    pub hour: Option<u8>,
    pub minute: Option<u8>,
    pub second: Option<u8>,
}
