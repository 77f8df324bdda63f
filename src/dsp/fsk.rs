//! 1200 baud FSK modem with asynchronous (UART) framing, as used for caller ID:
//! ITU-T V.23 mode 1 (ETSI EN 300 659) and Bell 202 (Telcordia GR-30).
//!
//! The modem is data ([`FskParams`]), so both standards share one code path.
//!
//! # Receiver design
//!
//! * Discriminator: two complex correlators (mark and space) integrate the signal mixed
//!   down by each nominal tone over one bit time (7 samples at 1200 baud). This is the
//!   matched filter for a bit, and comparing `|M|²` with `|S|²` is independent of level
//!   and of mark/space twist, because only one tone is on the line at a time. The
//!   decision value `(|M|² − |S|²) / (|M|² + |S|²)` lies in −1..1.
//! * Carrier gate: the in-band power `|M|² + |S|²`, smoothed, must exceed
//!   [`FskRxConfig::min_level_dbm0`] (with hysteresis); below it the UART is held idle, so
//!   noise on a quiet line cannot start bytes.
//! * Bit clock: each start bit's mark→space edge is located to a fraction of a sample by
//!   interpolating the decision value's zero crossing; the ten bits of that character are
//!   then decided at their centres (decision value interpolated between samples).
//!   Resynchronising on every character makes a ±1% baud error cost at most 0.1 bit.
//! * Twist: the louder tone wins a window that straddles a transition early, so with
//!   twist mark→space edges read early and space→mark edges late (or the reverse) by the
//!   same amount, up to 1.7 samples at 10 dB. The space→mark edges inside characters are
//!   measured against the character's clock; half their mean offset corrects later start
//!   edges. The bit decisions themselves do not depend on level or twist.
//! * Tone measurement: during idle mark (the preamble's mark signal, and between
//!   characters) the mark correlator's phase advance per sample gives the actual mark
//!   frequency. Caller ID uses it to tell a Bell 202 signal from V.23: both demodulate
//!   fine on the other modem (1200 Hz reads as mark and 2200 Hz as space for 1300/2100 Hz
//!   correlators), but the mark then measures 100 Hz off. Only windows that held mark
//!   alone count: advances stay in a window-long delay line and are dropped when a start
//!   bit follows, because a window straddling a transition rotates at the tone spacing.

use serde::{Deserialize, Serialize};

use crate::dsp::{dbm0_to_peak, dbm0_to_power, SAMPLE_RATE};

/// A binary FSK modem: tone frequencies and signalling rate.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FskParams {
    /// Binary 1 (mark, also the idle state), Hz.
    pub mark_hz: f32,
    /// Binary 0 (space), Hz.
    pub space_hz: f32,
    /// Bits per second.
    pub baud: f32,
}

impl FskParams {
    /// ITU-T V.23 mode 1 forward channel (ETSI EN 300 659-1 on-hook/off-hook CLIP).
    pub const V23: FskParams = FskParams { mark_hz: 1300.0, space_hz: 2100.0, baud: 1200.0 };
    /// Bell 202 (Telcordia GR-30 CLASS).
    pub const BELL202: FskParams = FskParams { mark_hz: 1200.0, space_hz: 2200.0, baud: 1200.0 };

    /// Samples per bit (6.67 at 1200 baud).
    pub fn samples_per_bit(&self) -> f64 {
        f64::from(SAMPLE_RATE) / f64::from(self.baud.max(1.0))
    }
}

/// What precedes the characters: the channel seizure (alternating 0101…, starting with 0)
/// and the mark (continuous 1) signal, plus trailing mark after the last character.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FskPreamble {
    pub seizure_bits: u32,
    pub mark_bits: u32,
    /// Mark bits after the last stop bit, so the receiver's window clears the last
    /// character before the carrier drops.
    pub trailing_mark_bits: u32,
}

impl FskPreamble {
    /// ETSI EN 300 659-1: 300 bits seizure, 80 ± 25 bits mark.
    pub const ETSI: FskPreamble = FskPreamble { seizure_bits: 300, mark_bits: 80, trailing_mark_bits: 5 };
    /// Telcordia GR-30 on-hook: 300 bits seizure, 180 bits mark.
    pub const BELL: FskPreamble = FskPreamble { seizure_bits: 300, mark_bits: 180, trailing_mark_bits: 5 };
}

// ---------------------------------------------------------------- transmitter

/// Bits per UART character: start, 8 data, stop.
const CHAR_BITS: u64 = 10;

/// Sends a preamble and bytes as continuous-phase FSK with UART framing (start bit 0,
/// 8 data bits LSB first, stop bit 1).
#[derive(Clone, Debug)]
pub struct FskTransmitter {
    params: FskParams,
    mark_amp: f64,
    space_amp: f64,
    preamble: FskPreamble,
    bytes: Vec<u8>,
    total_samples: u64,
    sample: u64,
    phase: f64,
}

impl FskTransmitter {
    /// Mark and space levels are separate so tests can apply twist; normally equal.
    pub fn new(params: FskParams, mark_dbm0: f32, space_dbm0: f32, preamble: FskPreamble, bytes: &[u8]) -> Self {
        let total_bits = u64::from(preamble.seizure_bits)
            + u64::from(preamble.mark_bits)
            + CHAR_BITS * bytes.len() as u64
            + u64::from(preamble.trailing_mark_bits);
        let total_samples = (total_bits as f64 * params.samples_per_bit()).ceil() as u64;
        FskTransmitter {
            params,
            mark_amp: f64::from(dbm0_to_peak(mark_dbm0)),
            space_amp: f64::from(dbm0_to_peak(space_dbm0)),
            preamble,
            bytes: bytes.to_vec(),
            total_samples,
            sample: 0,
            phase: 0.0,
        }
    }

    /// Length of the whole transmission.
    pub fn duration_samples(&self) -> u64 {
        self.total_samples
    }

    pub fn is_done(&self) -> bool {
        self.sample >= self.total_samples
    }

    /// Writes the next samples; returns how many carry signal (from the start of `out`),
    /// the rest is zero-filled.
    pub fn fill(&mut self, out: &mut [i16]) -> usize {
        let n = (self.total_samples - self.sample.min(self.total_samples)).min(out.len() as u64) as usize;
        let fs = f64::from(SAMPLE_RATE);
        let tau = 2.0 * std::f64::consts::PI;
        let baud = f64::from(self.params.baud);
        let (head, tail) = out.split_at_mut(n);
        for o in head.iter_mut() {
            // Sample s belongs to bit floor(s·baud/fs); exact for integer rates.
            let bit_index = (self.sample as f64 * baud / fs) as u64;
            let (f, amp) = if self.bit(bit_index) {
                (self.params.mark_hz, self.mark_amp)
            } else {
                (self.params.space_hz, self.space_amp)
            };
            self.phase = (self.phase + tau * f64::from(f) / fs) % tau;
            *o = (amp * self.phase.sin()).round().clamp(-32768.0, 32767.0) as i16;
            self.sample += 1;
        }
        tail.fill(0);
        n
    }

    /// The line state during bit `i` of the transmission.
    fn bit(&self, i: u64) -> bool {
        let seizure = u64::from(self.preamble.seizure_bits);
        if i < seizure {
            return i % 2 == 1;
        }
        let i = i - seizure;
        let mark = u64::from(self.preamble.mark_bits);
        if i < mark {
            return true;
        }
        let i = i - mark;
        let Some(&byte) = self.bytes.get((i / CHAR_BITS) as usize) else {
            return true; // trailing mark
        };
        match i % CHAR_BITS {
            0 => false,
            9 => true,
            k => (byte >> (k - 1)) & 1 == 1,
        }
    }
}

// ---------------------------------------------------------------- receiver

/// Receiver thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FskRxConfig {
    /// Carrier-on level, dBm0. EN 300 659-1 and GR-30 ask for operation down to about
    /// −40 dBm0; −47 leaves margin for line noise dips, while −55 must not be seen.
    pub min_level_dbm0: f32,
    /// Carrier-off level is this much lower (hysteresis), dB.
    pub hysteresis_db: f32,
}

impl Default for FskRxConfig {
    fn default() -> Self {
        FskRxConfig { min_level_dbm0: -47.0, hysteresis_db: 3.0 }
    }
}

/// Accumulated phase advance of the mark correlator over idle mark, for measuring the
/// received mark frequency.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ToneAcc {
    mark: (f32, f32),
}

impl ToneAcc {
    pub fn add(&mut self, other: &ToneAcc) {
        self.mark.0 += other.mark.0;
        self.mark.1 += other.mark.1;
    }

    /// Measured mark frequency minus nominal, Hz; `None` if no clean mark was seen.
    pub fn mark_offset_hz(&self) -> Option<f32> {
        let (re, im) = self.mark;
        (re * re + im * im > 0.0).then(|| im.atan2(re) * SAMPLE_RATE as f32 / (2.0 * std::f32::consts::PI))
    }
}

/// What the receiver reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FskEvent {
    /// A character with a valid stop bit. `idle_bits` is how many whole bit times of
    /// mark preceded its start bit (since carrier-on or the previous character); `tones`
    /// covers the signal since the previous event.
    Byte { byte: u8, idle_bits: u32, at_sample: u64, tones: ToneAcc },
    /// A character whose stop bit was space.
    FramingError { at_sample: u64 },
    /// The carrier dropped below the threshold.
    CarrierDown { at_sample: u64 },
}

/// Longest correlator supported (bit time at 250 baud).
const MAX_WINDOW: usize = 32;
/// Fraction of a lone tone's decision value above which the window is taken to hold
/// only that tone.
const PURE_TONE: f32 = 0.8;
/// Smoothing of the edge asymmetry estimate, per space→mark edge.
const ASYMMETRY_ALPHA: f64 = 1.0 / 8.0;
/// Carrier power smoothing, one-pole coefficient per sample (time constant 8 samples).
const POWER_ALPHA: f32 = 1.0 / 8.0;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Uart {
    /// Line at mark (or unknown): looking for a start bit edge.
    Idle,
    /// Receiving: `bit` is the next bit to sample (0 = start, 9 = stop) at time `next_t`.
    Char { next_t: f64, bit: u8, byte: u8 },
    /// After a framing error: wait for mark before looking for an edge.
    WaitMark,
}

/// Streaming FSK demodulator and UART.
#[derive(Clone, Debug)]
pub struct FskReceiver {
    window: usize,
    samples_per_bit: f64,
    /// Local oscillators (unit phasors) and their per-sample rotations.
    lo: [(f32, f32); 2],
    rot: [(f32, f32); 2],
    /// Mixed-down samples of the last `window` inputs, per tone.
    ring: [[(f32, f32); MAX_WINDOW]; 2],
    pos: usize,
    prev_corr: [(f32, f32); 2],
    /// Correlator-output power of a sine at the on and off thresholds.
    on_power: f32,
    off_power: f32,
    power: f32,
    carrier: bool,
    prev_d: f32,
    /// Decision magnitude that marks a window holding a single tone.
    pure_d: f32,
    /// How much later space→mark edges read than mark→space ones, samples (smoothed).
    asymmetry: f64,
    uart: Uart,
    /// Time (sample index) since which the line has been idle mark.
    idle_since: f64,
    tones: ToneAcc,
    /// Recent mark phase advances not yet known to come from a clean window.
    pending: [(f32, f32); MAX_WINDOW],
    pending_len: usize,
    /// Samples processed so far; the index of the next one.
    n: u64,
    /// Mean sample power (x²) under which a block cannot open the carrier gate (6 dB under
    /// the threshold): such blocks skip the correlators while the gate is closed, so a
    /// silent on-hook line costs one multiply-add per sample.
    quiet_power: f32,
}

/// Samples per quiet-gate block.
const QUIET_BLOCK: usize = 40;

impl FskReceiver {
    pub fn new(params: FskParams, cfg: FskRxConfig) -> Self {
        let spb = params.samples_per_bit();
        let window = (spb.round() as usize).clamp(2, MAX_WINDOW);
        let fs = f64::from(SAMPLE_RATE);
        let rot = [params.mark_hz, params.space_hz].map(|f| {
            let w = 2.0 * std::f64::consts::PI * f64::from(f) / fs;
            (w.cos() as f32, -(w.sin() as f32))
        });
        // A lone tone leaks |Σ e^{jΔk}|²/N² of its power into the other correlator, so
        // its decision value is (1 − L)/(1 + L) (0.76 for V.23, 0.97 for Bell 202).
        let delta = 2.0 * std::f64::consts::PI * f64::from(params.space_hz - params.mark_hz) / fs;
        let (re, im) =
            (0..window).fold((0.0, 0.0), |a, k| (a.0 + (delta * k as f64).cos(), a.1 + (delta * k as f64).sin()));
        let leak = ((re * re + im * im) / (window * window) as f64) as f32;
        let pure_d = PURE_TONE * (1.0 - leak) / (1.0 + leak);
        // A sine of mean power p gives |corr|² ≈ p · window² / 2.
        let scale = (window * window) as f32 / 2.0;
        FskReceiver {
            window,
            samples_per_bit: spb,
            lo: [(1.0, 0.0); 2],
            rot,
            ring: [[(0.0, 0.0); MAX_WINDOW]; 2],
            pos: 0,
            prev_corr: [(0.0, 0.0); 2],
            on_power: dbm0_to_power(cfg.min_level_dbm0) * scale,
            off_power: dbm0_to_power(cfg.min_level_dbm0 - cfg.hysteresis_db.max(0.0)) * scale,
            power: 0.0,
            carrier: false,
            prev_d: 0.0,
            pure_d,
            asymmetry: 0.0,
            uart: Uart::Idle,
            idle_since: 0.0,
            tones: ToneAcc::default(),
            pending: [(0.0, 0.0); MAX_WINDOW],
            pending_len: 0,
            n: 0,
            quiet_power: dbm0_to_power(cfg.min_level_dbm0 - 6.0),
        }
    }

    /// Forgets everything, as if just constructed (sample count restarts at 0).
    pub fn reset(&mut self) {
        self.lo = [(1.0, 0.0); 2];
        self.ring = [[(0.0, 0.0); MAX_WINDOW]; 2];
        self.pos = 0;
        self.prev_corr = [(0.0, 0.0); 2];
        self.power = 0.0;
        self.carrier = false;
        self.prev_d = 0.0;
        self.asymmetry = 0.0;
        self.uart = Uart::Idle;
        self.idle_since = 0.0;
        self.tones = ToneAcc::default();
        self.pending_len = 0;
        self.n = 0;
    }

    /// Whether the carrier gate is open.
    pub fn carrier(&self) -> bool {
        self.carrier
    }

    /// Feeds samples; events go to `sink` as they happen.
    pub fn process(&mut self, samples: &[i16], mut sink: impl FnMut(FskEvent)) {
        for block in samples.chunks(QUIET_BLOCK) {
            let energy: f32 = block.iter().map(|&x| f32::from(x) * f32::from(x)).sum();
            if !self.carrier && energy < self.quiet_power * block.len() as f32 {
                self.skip_quiet(block.len());
                continue;
            }
            for &x in block {
                self.step(f32::from(x), &mut sink);
            }
        }
    }

    /// What `step` would do with `len` samples of (near) silence while the gate is closed:
    /// the correlators empty, the power estimate decays, the UART stays idle.
    fn skip_quiet(&mut self, len: usize) {
        self.n += len as u64;
        self.ring = [[(0.0, 0.0); MAX_WINDOW]; 2];
        self.prev_corr = [(0.0, 0.0); 2];
        self.power *= (1.0 - POWER_ALPHA).powi(i32::try_from(len).unwrap_or(i32::MAX));
        self.prev_d = 0.0;
        self.pending_len = 0;
        self.uart = Uart::Idle;
        self.idle_since = self.n as f64;
        self.tones = ToneAcc::default();
        self.asymmetry = 0.0;
    }

    fn step(&mut self, x: f32, sink: &mut impl FnMut(FskEvent)) {
        let n = self.n;
        self.n += 1;
        let mut corr = [(0.0f32, 0.0f32); 2];
        for ((c, ring), (lo, rot)) in corr.iter_mut().zip(&mut self.ring).zip(self.lo.iter_mut().zip(&self.rot)) {
            if let Some(slot) = ring.get_mut(self.pos) {
                *slot = (x * lo.0, x * lo.1);
            }
            // Summing the short window afresh each sample avoids running-sum drift.
            *c = ring.iter().take(self.window).fold((0.0, 0.0), |a, v| (a.0 + v.0, a.1 + v.1));
            let next = (lo.0 * rot.0 - lo.1 * rot.1, lo.0 * rot.1 + lo.1 * rot.0);
            let g = 1.5 - 0.5 * (next.0 * next.0 + next.1 * next.1);
            *lo = (next.0 * g, next.1 * g);
        }
        self.pos = (self.pos + 1) % self.window;
        let pm = norm(corr[0]);
        let ps = norm(corr[1]);
        let total = pm + ps;
        let d = if total > 0.0 { (pm - ps) / total } else { 0.0 };

        let idle_mark = total > 0.0 && d > self.pure_d && self.uart == Uart::Idle;
        if idle_mark {
            let (c, p) = (corr[0], self.prev_corr[0]);
            let adv = ((c.0 * p.0 + c.1 * p.1) / total, (c.1 * p.0 - c.0 * p.1) / total);
            if self.pending_len == self.window {
                // The oldest advance is a window old and no start bit followed: commit it.
                let (re, im) = self.pending[0];
                self.tones.mark.0 += re;
                self.tones.mark.1 += im;
                self.pending.copy_within(1..self.window, 0);
                self.pending_len -= 1;
            }
            if let Some(slot) = self.pending.get_mut(self.pending_len) {
                *slot = adv;
                self.pending_len += 1;
            }
        } else {
            self.pending_len = 0;
        }
        self.prev_corr = corr;

        self.power += (total - self.power) * POWER_ALPHA;
        let was_on = self.carrier;
        self.carrier = if was_on { self.power >= self.off_power } else { self.power >= self.on_power };
        if !self.carrier {
            if was_on {
                sink(FskEvent::CarrierDown { at_sample: n });
            }
            self.uart = Uart::Idle;
            self.idle_since = n as f64;
            self.prev_d = d;
            self.tones = ToneAcc::default();
            self.asymmetry = 0.0;
            return;
        }
        if !was_on {
            self.uart = if d >= 0.0 { Uart::Idle } else { Uart::WaitMark };
            self.idle_since = n as f64;
        }
        self.uart_step(n, d, sink);
        self.prev_d = d;
    }

    fn uart_step(&mut self, n: u64, d: f32, sink: &mut impl FnMut(FskEvent)) {
        let t = n as f64;
        match self.uart {
            Uart::WaitMark => {
                if d > 0.0 {
                    self.uart = Uart::Idle;
                    self.idle_since = t;
                }
            }
            Uart::Idle => {
                if self.prev_d >= 0.0 && d < 0.0 {
                    // Interpolated zero crossing between n−1 and n.
                    let edge = t - 1.0 + f64::from(self.prev_d / (self.prev_d - d)) + self.asymmetry / 2.0;
                    self.uart = Uart::Char { next_t: edge + 0.5 * self.samples_per_bit, bit: 0, byte: 0 };
                }
            }
            Uart::Char { next_t, bit, byte } => {
                if self.prev_d < 0.0 && d >= 0.0 && bit > 0 {
                    // A space→mark edge should fall on the boundary before the bit due
                    // now. Twist makes the louder tone win the window early, moving
                    // mark→space and space→mark edges by the same amount in opposite
                    // directions; the start edge (already corrected by half the
                    // asymmetry) is the reference, so the full asymmetry is err + A/2.
                    let at = t - 1.0 + f64::from(self.prev_d / (self.prev_d - d));
                    let boundary = next_t - 0.5 * self.samples_per_bit;
                    let err = (at - boundary).clamp(-0.5 * self.samples_per_bit, 0.5 * self.samples_per_bit);
                    self.asymmetry += (err + self.asymmetry / 2.0 - self.asymmetry) * ASYMMETRY_ALPHA;
                }
                // Decide on the window centred on the bit. (Averaging the neighbouring
                // windows too lowers noise but loses weak bits next to loud ones at high
                // twist.)
                if t < next_t {
                    return;
                }
                // Interpolated to the exact centre: sample-grid rounding would add up to
                // half a sample to the timing error.
                let frac = (next_t - (t - 1.0)).clamp(0.0, 1.0) as f32;
                let one = self.prev_d + (d - self.prev_d) * frac > 0.0;
                let following = next_t + self.samples_per_bit;
                self.uart = match bit {
                    // A start bit must still be space at its centre, else it was a glitch.
                    0 if one => Uart::Idle,
                    0 => Uart::Char { next_t: following, bit: 1, byte: 0 },
                    1..=8 => Uart::Char { next_t: following, bit: bit + 1, byte: byte | (u8::from(one) << (bit - 1)) },
                    _ if one => {
                        let start = next_t - 9.5 * self.samples_per_bit;
                        let idle = ((start - self.idle_since) / self.samples_per_bit).max(0.0);
                        let tones = std::mem::take(&mut self.tones);
                        sink(FskEvent::Byte { byte, idle_bits: idle as u32, at_sample: n + 1, tones });
                        // The stop bit's centre: mark from here on counts as idle.
                        self.idle_since = next_t;
                        Uart::Idle
                    }
                    _ => {
                        sink(FskEvent::FramingError { at_sample: n + 1 });
                        Uart::WaitMark
                    }
                };
            }
        }
    }
}

#[inline]
fn norm(a: (f32, f32)) -> f32 {
    a.0 * a.0 + a.1 * a.1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(params: FskParams, dbm0: f32, preamble: FskPreamble, bytes: &[u8]) -> Vec<i16> {
        let mut tx = FskTransmitter::new(params, dbm0, dbm0, preamble, bytes);
        let mut out = vec![0i16; tx.duration_samples() as usize + 400];
        let n = tx.fill(&mut out);
        assert_eq!(n as u64, tx.duration_samples());
        assert!(tx.is_done());
        out
    }

    fn decode(params: FskParams, x: &[i16]) -> (Vec<u8>, Vec<u32>, ToneAcc) {
        let mut rx = FskReceiver::new(params, FskRxConfig::default());
        let (mut bytes, mut idles, mut acc) = (Vec::new(), Vec::new(), ToneAcc::default());
        for chunk in x.chunks(37) {
            rx.process(chunk, |e| {
                if let FskEvent::Byte { byte, idle_bits, tones, .. } = e {
                    bytes.push(byte);
                    idles.push(idle_bits);
                    acc.add(&tones);
                }
            });
        }
        (bytes, idles, acc)
    }

    #[test]
    fn duration_counts_fractional_bit_times() {
        let tx = FskTransmitter::new(FskParams::V23, -10.0, -10.0, FskPreamble::ETSI, &[1, 2, 3]);
        // 300 + 80 + 30 + 5 = 415 bits × 20/3 samples = 2766.67 → 2767.
        assert_eq!(tx.duration_samples(), 2767);
    }

    #[test]
    fn both_modems_round_trip_bytes_after_the_preamble() {
        let data: Vec<u8> = (0..=255u8).step_by(7).chain([0x00, 0xFF, 0x55, 0xAA]).collect();
        for params in [FskParams::V23, FskParams::BELL202] {
            let x = render(params, -20.0, FskPreamble { seizure_bits: 0, mark_bits: 60, trailing_mark_bits: 5 }, &data);
            let (bytes, idles, acc) = decode(params, &x);
            assert_eq!(bytes, data, "{params:?}");
            assert!(idles[0] >= 50 && idles[1..].iter().all(|&i| i == 0), "{idles:?}");
            let m = acc.mark_offset_hz().unwrap();
            assert!(m.abs() < 5.0, "mark offset {m}");
        }
    }

    #[test]
    fn other_modem_decodes_but_measures_the_tones_100_hz_off() {
        let data = b"caller id".to_vec();
        let x = render(FskParams::BELL202, -15.0, FskPreamble::ETSI, &data);
        let (bytes, _, acc) = decode(FskParams::V23, &x);
        assert!(bytes.ends_with(&data));
        let m = acc.mark_offset_hz().unwrap();
        assert!((m + 100.0).abs() < 10.0, "{m}");
        let x = render(FskParams::V23, -15.0, FskPreamble::ETSI, &data);
        let m = decode(FskParams::BELL202, &x).2.mark_offset_hz().unwrap();
        assert!((m - 100.0).abs() < 10.0, "{m}");
    }

    #[test]
    fn quiet_signal_is_gated_off() {
        let x = render(FskParams::V23, -55.0, FskPreamble::ETSI, b"abc");
        assert!(decode(FskParams::V23, &x).0.is_empty());
        let x = render(FskParams::V23, -40.0, FskPreamble::ETSI, b"abc");
        assert!(decode(FskParams::V23, &x).0.ends_with(b"abc"));
    }

    #[test]
    fn seizure_decodes_as_0x55_and_mark_precedes_the_data() {
        let x = render(FskParams::V23, -10.0, FskPreamble::ETSI, &[0x80]);
        let (bytes, idles, _) = decode(FskParams::V23, &x);
        assert_eq!(bytes.last(), Some(&0x80));
        assert!(bytes[..bytes.len() - 1].iter().all(|&b| b == 0x55));
        assert!((75..=81).contains(idles.last().unwrap()), "{idles:?}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 32,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0xF5C),
            ..proptest::prelude::ProptestConfig::default()
        })]

        #[test]
        fn bytes_survive_offsets_and_levels(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..24),
            bell in proptest::prelude::any::<bool>(),
            freq_pct in -1.5f32..=1.5,
            baud_pct in -1.0f32..=1.0,
            dbm0 in -40.0f32..=0.0,
        ) {
            let nominal = if bell { FskParams::BELL202 } else { FskParams::V23 };
            let sent = FskParams {
                mark_hz: nominal.mark_hz * (1.0 + freq_pct / 100.0),
                space_hz: nominal.space_hz * (1.0 + freq_pct / 100.0),
                baud: nominal.baud * (1.0 + baud_pct / 100.0),
            };
            let x = render(sent, dbm0, FskPreamble { seizure_bits: 0, mark_bits: 20, trailing_mark_bits: 5 }, &data);
            let (bytes, _, acc) = decode(nominal, &x);
            proptest::prop_assert_eq!(bytes, data);
            let m = acc.mark_offset_hz().unwrap();
            proptest::prop_assert!((m - nominal.mark_hz * freq_pct / 100.0).abs() < 8.0, "mark offset {}", m);
        }

        #[test]
        fn random_input_never_panics(x in proptest::collection::vec(proptest::prelude::any::<i16>(), 0..4000)) {
            let mut rx = FskReceiver::new(FskParams::V23, FskRxConfig::default());
            rx.process(&x, |_| {});
        }
    }
}
