//! What a signalling path carries, in both directions, independent of the backend.
//!
//! These are the physical-layer primitives a DAHDI card offers (HDLC frames with the
//! FCS handled by the driver, ABCD CAS bits, analog hook/ring/battery/polarity), plus
//! modem lines. Every backend maps its own device events onto these, so the signalling
//! stacks above never know whether a card, a modem or the simulator is underneath.

/// ABCD signalling bits of one CAS channel (low nibble; A = 0b1000 … D = 0b0001, as DAHDI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Abcd(u8);

impl Abcd {
    pub const fn new(bits: u8) -> Self {
        Abcd(bits & 0x0f)
    }
    pub const fn bits(self) -> u8 {
        self.0
    }
    pub const fn a(self) -> bool {
        self.0 & 0b1000 != 0
    }
    pub const fn b(self) -> bool {
        self.0 & 0b0100 != 0
    }
    /// Parses "1101" (A first), as DAHDI's system.conf writes CAS bits.
    pub fn parse(s: &str) -> Option<Abcd> {
        if s.len() != 4 {
            return None;
        }
        u8::from_str_radix(s, 2).ok().map(Abcd::new)
    }
}

impl std::fmt::Display for Abcd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04b}", self.0)
    }
}

/// Analog hook commands we transmit (DAHDI_HOOK and friends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookCmd {
    /// FXO: close the loop (answer/seize). FXS: restore battery after a disconnect.
    OffHook,
    /// FXO: open the loop (hang up). FXS: deny battery (open-loop disconnect, "kewl").
    OnHook,
    /// FXO: a timed hook flash.
    Flash,
    /// FXS: apply ringing voltage (the cadence is driven by the signalling core).
    Ring,
    /// FXS: remove ringing voltage.
    RingOff,
}

/// Analog line events we receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookEvent {
    /// FXS: the phone closed the loop. Raw transition; pulses and flashes are decoded above
    /// unless the backend already did (then `PulseDigit` / `Flash` arrive instead).
    OffHook,
    /// FXS: the phone opened the loop (raw transition).
    OnHook,
    /// FXS: a hook flash already decoded by the backend (DAHDI_EVENT_WINKFLASH).
    Flash,
    /// FXS: a pulse-dialled digit already decoded by the backend (DAHDI_EVENT_PULSEDIGIT).
    PulseDigit(u8),
    /// FXO: ringing voltage appeared on the line.
    RingBegin,
    /// FXO: ringing voltage went away.
    RingEnd,
    /// FXO: battery (loop current) lost: the far end disconnected (kewlstart / OLD).
    BatteryLoss,
    /// FXO: battery back after a loss.
    BatteryRestored,
    /// FXO: the line's polarity reversed (answer or disconnect supervision, caller ID alert).
    PolarityReversal,
}

/// Battery polarity an FXS port applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Polarity {
    #[default]
    Normal,
    Reversed,
}

/// Something to transmit on a channel's signalling path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineCmd {
    /// One HDLC frame on a D-channel, without FCS (the backend adds it).
    Hdlc(Vec<u8>),
    /// New transmit ABCD bits on a CAS channel.
    Cas(Abcd),
    /// An analog hook/ring command.
    Hook(HookCmd),
    /// FXS: set battery polarity (DAHDI_SETPOLARITY).
    Polarity(Polarity),
    /// Modem: one command line (without CR).
    At(String),
}

/// Something received on a channel's signalling path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineEvent {
    /// One HDLC frame whose FCS checked out (FCS stripped).
    Hdlc(Vec<u8>),
    /// A frame was dropped for a bad FCS or an abort (counted, for link statistics).
    HdlcError,
    /// The far end's ABCD bits changed to this value.
    Cas(Abcd),
    /// An analog line event.
    Hook(HookEvent),
    /// Modem: one response or unsolicited result line.
    At(String),
}

/// The kind of signalling path a channel has (what a card's channel was configured as).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathKind {
    /// A clear bearer channel (audio only; its signalling lives on another channel).
    Bearer,
    /// An HDLC D-channel (no audio).
    Hdlc,
    /// A bearer with CAS bits (E1 TS16 multiframe carries them).
    Cas,
    /// An analog port we drive as FXS (a phone is attached).
    Fxs,
    /// An analog port facing a central office (we behave like a phone).
    Fxo,
    /// A modem's command channel.
    Modem,
}

/// Span alarm bits, as DAHDI reports them (SPANSTAT .alarms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct Alarms(pub u32);

impl Alarms {
    pub const NONE: Alarms = Alarms(0);
    pub const RECOVER: u32 = 1;
    pub const LOOPBACK: u32 = 2;
    pub const YELLOW: u32 = 4;
    pub const RED: u32 = 8;
    pub const BLUE: u32 = 0x10;
    pub const NOTOPEN: u32 = 0x20;
    pub const LOS: u32 = 0x100;
    pub const LFA: u32 = 0x200;
    pub const LMFA: u32 = 0x400;

    pub fn is_clear(self) -> bool {
        self.0 == 0
    }

    /// Alarms that make the span unusable for calls (RED, BLUE, LOS, framing loss, not open).
    pub fn is_down(self) -> bool {
        self.0 & (Self::RED | Self::BLUE | Self::LOS | Self::LFA | Self::LMFA | Self::NOTOPEN) != 0
    }

    /// Names for display, e.g. "RED,LOS"; "OK" when clear.
    pub fn describe(self) -> String {
        if self.is_clear() {
            return "OK".into();
        }
        let names = [
            (Self::RECOVER, "RECOVERING"),
            (Self::LOOPBACK, "LOOPBACK"),
            (Self::YELLOW, "YELLOW"),
            (Self::RED, "RED"),
            (Self::BLUE, "BLUE"),
            (Self::NOTOPEN, "NOTOPEN"),
            (Self::LOS, "LOS"),
            (Self::LFA, "LFA"),
            (Self::LMFA, "LMFA"),
        ];
        let v: Vec<&str> = names.iter().filter(|(b, _)| self.0 & b != 0).map(|(_, n)| *n).collect();
        if v.is_empty() {
            format!("0x{:x}", self.0)
        } else {
            v.join(",")
        }
    }
}
