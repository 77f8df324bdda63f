//! Telephony DSP for trunkd: G.711 companding, DTMF generation and detection, on-hook
//! caller ID (FSK and DTMF), call progress tones and their detection, fax/modem connect
//! tone detection, R2 MF, tone zones and cheap level measurement.
//!
//! Every type here is a sans-IO state machine: it is fed samples and asked for results.
//! Time is the sample count at [`SAMPLE_RATE`]; nothing reads a clock, spawns a thread or
//! does I/O, so a media tick can drive thousands of channels per core and tests run in
//! virtual time. After construction, per-frame processing does not allocate.
//!
//! Levels are in dBm0 with the convention of [`DBM0_PEAK`].

pub(crate) mod bands;
pub mod callerid;
pub mod dtmf;
pub mod faxtone;
pub mod fsk;
pub mod g711;
pub mod goertzel;
pub mod level;
pub mod progress;
pub mod r2mf;
#[doc(hidden)]
pub mod testsig;
pub mod tone;
pub mod zone;

/// Samples per second on every TDM channel.
pub const SAMPLE_RATE: u32 = 8000;

/// Samples in one 20 ms media frame, the unit the media tick moves.
pub const FRAME_SAMPLES: usize = 160;

/// Peak amplitude (16-bit linear) of a 0 dBm0 sine wave.
///
/// Same convention as spandsp (`DBM0_MAX_SINE_POWER` = 3.14 dB): a full-scale 16-bit sine
/// is +3.14 dBm0, so 0 dBm0 peaks at `32768 * 10^(-3.14/20)` = 22827.06. Using one
/// constant everywhere keeps generated levels and detector thresholds consistent.
pub const DBM0_PEAK: f32 = 22_827.06;

/// Mean power (mean of x², 16-bit linear) of a 0 dBm0 sine: `DBM0_PEAK² / 2`.
pub const DBM0_POWER: f32 = DBM0_PEAK * DBM0_PEAK / 2.0;

/// Peak amplitude of a sine at `dbm0`.
pub fn dbm0_to_peak(dbm0: f32) -> f32 {
    DBM0_PEAK * 10f32.powf(dbm0 / 20.0)
}

/// Mean power of a sine at `dbm0`, in the same units as the mean of squared samples.
pub fn dbm0_to_power(dbm0: f32) -> f32 {
    DBM0_POWER * 10f32.powf(dbm0 / 10.0)
}
