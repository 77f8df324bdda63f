//! §4.5.25 Restart indicator: what a RESTART applies to.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartClass {
    /// 000: the channels given in the channel identification element.
    Indicated,
    /// 110: a single interface (all channels of it).
    SingleInterface,
    /// 111: all interfaces.
    AllInterfaces,
    Reserved(u8),
}
