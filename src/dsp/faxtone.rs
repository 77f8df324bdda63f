//! Fax and modem connect tone detection: T.30 CNG, V.25 ANS (CED), ANS with phase
//! reversals (ANS/PR) and V.8 ANSam.
//!
//! The same 40 ms projection as call progress detection (`dsp::bands`) decides
//! every 10 ms whether 1100 Hz ± 38 (T.30 CNG tolerance) or 2100 Hz ± 15 (V.25) holds at
//! least [`FAX_TONE_RATIO`] of the energy; speech, DTMF (two tones, neither near) and
//! call progress tones (below 1000 Hz) cannot.
//!
//! Reporting:
//! * [`FaxTone::Cng`] when a 1100 Hz burst ends after 400–800 ms (T.30: 0.5 s ± 15%, on
//!   a 3 s off cadence). Reported once; again only after 5 s without a CNG burst, so a
//!   calling fax's repeated bursts give one event.
//! * [`FaxTone::Ced`] once 2100 Hz has lasted 500 ms. The same tone is then classified
//!   further and, at most once, upgraded with a second event:
//!   [`FaxTone::AnsAm`] when its envelope carries 15 Hz amplitude modulation (V.8: 20%
//!   depth; we accept ≥ 10%), visible ≈ 450 ms into the tone, or
//!   [`FaxTone::AnsPr`] after two phase reversals 450 ± 60 ms apart (V.25: every
//!   450 ± 25 ms), ≈ 950 ms into the tone. A consumer that only needs "answer tone" acts
//!   on `Ced`; one that must know whether to disable echo cancellers (phase reversals,
//!   G.168) or start V.8 waits for the upgrade. ANSam with phase reversals reads as
//!   `AnsAm` (the AM is seen first).
//!   A new 2100 Hz tone (after ≥ 60 ms of silence) is reported again.

use serde::{Deserialize, Serialize};

use crate::dsp::bands::{BandBank, EventRing, Segmenter, HOP};
use crate::dsp::{dbm0_to_power, SAMPLE_RATE};

/// Connect tones, named as in the ITU-T recommendations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaxTone {
    /// T.30 calling tone: 1100 Hz, 0.5 s on, 3 s off.
    Cng,
    /// T.30 called terminal identification = V.25 answer tone: 2100 Hz.
    Ced,
    /// V.25 answer tone with phase reversals every 450 ms (disables echo cancellers).
    AnsPr,
    /// V.8 ANSam: 2100 Hz amplitude-modulated 20% at 15 Hz.
    AnsAm,
}

impl FaxTone {
    /// The name used in events and config (`cng`, `ced`, `ans-pr`, `ans-am`).
    pub fn name(self) -> &'static str {
        match self {
            FaxTone::Cng => "cng",
            FaxTone::Ced => "ced",
            FaxTone::AnsPr => "ans-pr",
            FaxTone::AnsAm => "ans-am",
        }
    }
}

/// A detected tone. `at_sample` counts samples fed since construction or
/// [`FaxToneDetector::reset`]; it is the end of the 10 ms hop of the decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaxToneEvent {
    pub tone: FaxTone,
    pub at_sample: u64,
}

/// Fraction of the window energy the tone band must explain.
pub const FAX_TONE_RATIO: f32 = 0.8;
/// Minimum tone level, dBm0 (T.30 and V.25 send at about −10 to −15 dBm0; this allows
/// for 30 dB of loss).
const MIN_LEVEL_DBM0: f32 = -43.0;
/// CNG band: T.30 allows ±38 Hz.
const CNG_BAND: [f32; 4] = [1070.0, 1090.0, 1110.0, 1130.0];
/// ANS band: V.25 allows ±15 Hz. Index 0 (2100 Hz) is used for phase and envelope.
const ANS_BAND: [f32; 3] = [2100.0, 2088.0, 2112.0];
const CNG_MIN_MS: u32 = 400;
const CNG_MAX_MS: u32 = 800;
/// Quiet time after which CNG is reported again, ms.
const CNG_REARM_MS: u32 = 5000;
const CED_MS: u32 = 500;
/// Every 40 ms window that contains a phase reversal reads poorly (the flip spreads the
/// spectrum), so the answer tone's on/off state needs more than the usual 30 ms to flip.
const ANS_DEBOUNCE_HOPS: u32 = 6;
/// Phase reversal spacing accepted, ms.
const PR_MIN_MS: u64 = 390;
const PR_MAX_MS: u64 = 510;
/// Envelope history for the AM measurement: 40 hops = 400 ms = exactly 6 periods of 15 Hz,
/// so the 15 Hz bin is orthogonal to the envelope's mean.
const ENV_HOPS: usize = 40;
const AM_HZ: f64 = 15.0;
/// Modulation depth that counts as AM, and for how many hops in a row.
const AM_MIN_DEPTH: f32 = 0.1;
const AM_HOLD_HOPS: u32 = 5;
const HOP_MS: u64 = (HOP as u64 * 1000) / SAMPLE_RATE as u64;
const EVENT_RING: usize = 8;

/// Streaming connect tone detector for one channel; see the module docs.
#[derive(Clone, Debug)]
pub struct FaxToneDetector {
    bank: BandBank,
    cng: Segmenter,
    ans: Segmenter,
    min_power: f32,
    /// Hop at which the last recognised CNG burst ended (reported or not).
    cng_last: Option<u64>,
    /// Start hop of the 2100 Hz run already reported as Ced, and whether it was upgraded.
    ced_run: Option<u64>,
    upgraded: bool,
    // Phase tracking of the 2100 Hz tone.
    last_z: (f32, f32),
    have_z: bool,
    skipped: u32,
    adv: (f32, f32),
    mean_mag2: f32,
    last_reversal: Option<u64>,
    /// Two reversals at the V.25 spacing have been seen in this tone.
    reversal_pair: bool,
    // Envelope for AM.
    env: [f32; ENV_HOPS],
    env_len: usize,
    env_head: usize,
    am_hops: u32,
    twiddle: [(f32, f32); ENV_HOPS],
    events: EventRing<FaxToneEvent, EVENT_RING>,
}

impl Default for FaxToneDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl FaxToneDetector {
    pub fn new() -> Self {
        let mut twiddle = [(0.0, 0.0); ENV_HOPS];
        let hop_rate = f64::from(SAMPLE_RATE) / HOP as f64;
        for (k, t) in twiddle.iter_mut().enumerate() {
            let a = 2.0 * std::f64::consts::PI * AM_HZ * k as f64 / hop_rate;
            *t = (a.cos() as f32, -a.sin() as f32);
        }
        FaxToneDetector {
            bank: BandBank::new(&[CNG_BAND.to_vec(), ANS_BAND.to_vec()]),
            cng: Segmenter::default(),
            ans: Segmenter::with_debounce(ANS_DEBOUNCE_HOPS),
            min_power: dbm0_to_power(MIN_LEVEL_DBM0),
            cng_last: None,
            ced_run: None,
            upgraded: false,
            last_z: (0.0, 0.0),
            have_z: false,
            skipped: 0,
            adv: (0.0, 0.0),
            mean_mag2: 0.0,
            last_reversal: None,
            reversal_pair: false,
            env: [0.0; ENV_HOPS],
            env_len: 0,
            env_head: 0,
            am_hops: 0,
            twiddle,
            events: EventRing::new(),
        }
    }

    /// Feeds samples of any length.
    pub fn process(&mut self, samples: &[i16]) {
        let mut rest = samples;
        while let Some(r) = self.bank.next_hop(rest) {
            rest = r;
            self.end_of_hop();
        }
    }

    /// Next detected tone, oldest first (later events are dropped if 8 are pending).
    pub fn poll(&mut self) -> Option<FaxToneEvent> {
        self.events.pop()
    }

    /// Forgets all signal history, reported tones and pending events.
    pub fn reset(&mut self) {
        self.bank.reset();
        self.cng.reset();
        self.ans.reset();
        self.cng_last = None;
        self.ced_run = None;
        self.upgraded = false;
        self.have_z = false;
        self.skipped = 0;
        self.adv = (0.0, 0.0);
        self.mean_mag2 = 0.0;
        self.last_reversal = None;
        self.reversal_pair = false;
        self.env = [0.0; ENV_HOPS];
        self.env_len = 0;
        self.env_head = 0;
        self.am_hops = 0;
        self.events.clear();
    }

    fn emit(&mut self, tone: FaxTone) {
        self.events.push(FaxToneEvent { tone, at_sample: self.bank.samples() });
    }

    fn end_of_hop(&mut self) {
        let hop = self.bank.hop_index();
        let steady = self.bank.steady();
        let on = |r: crate::dsp::bands::Reading| steady && r.ratio >= FAX_TONE_RATIO && r.power >= self.min_power;
        let (cng_on, ans_on) = (on(self.bank.reading(0)), on(self.bank.reading(1)));

        if let Some(run) = self.cng.step(hop, cng_on) {
            if run.on && !run.partial && (CNG_MIN_MS..=CNG_MAX_MS).contains(&run.ms()) {
                if self.cng_last.is_none_or(|t| run.end.saturating_sub(t) * HOP_MS > u64::from(CNG_REARM_MS)) {
                    self.emit(FaxTone::Cng);
                }
                self.cng_last = Some(run.end);
            }
        }

        self.ans.step(hop, ans_on);
        let cur = self.ans.ongoing(hop);
        if !self.ans.is_on() {
            self.ced_run = None;
            self.upgraded = false;
        }
        if ans_on || self.ans.is_on() {
            self.track(hop, ans_on);
        } else {
            self.have_z = false;
            self.env_len = 0;
            self.am_hops = 0;
            self.last_reversal = None;
            self.reversal_pair = false;
        }
        if !self.ans.is_on() {
            return;
        }
        let start = cur.end - u64::from(cur.hops);
        if self.ced_run != Some(start) && cur.ms() >= CED_MS {
            self.ced_run = Some(start);
            self.upgraded = false;
            self.emit(FaxTone::Ced);
        }
        if self.ced_run == Some(start) && !self.upgraded {
            if self.am_hops >= AM_HOLD_HOPS {
                self.upgraded = true;
                self.emit(FaxTone::AnsAm);
            } else if self.reversal_pair {
                self.upgraded = true;
                self.emit(FaxTone::AnsPr);
            }
        }
    }

    /// Follows the 2100 Hz tone's envelope (for AM) and phase (for reversals) hop by hop.
    fn track(&mut self, hop: u64, on: bool) {
        let z = self.bank.hop_dft(1, 0);
        let mag2 = z.0 * z.0 + z.1 * z.1;
        if !mag2.is_finite() {
            return;
        }
        // Envelope: the 15 Hz bin of the last 400 ms of hop magnitudes. 400 ms is a whole
        // number of 15 Hz periods, so the ring's physical order only rotates the bin's phase.
        let mag = mag2.sqrt();
        self.env[self.env_head] = mag;
        self.env_head = (self.env_head + 1) % ENV_HOPS;
        self.env_len = (self.env_len + 1).min(ENV_HOPS);
        if self.env_len == ENV_HOPS {
            let dc: f32 = self.env.iter().sum();
            let (re, im) =
                self.env.iter().zip(&self.twiddle).fold((0.0, 0.0), |(r, i), (&m, &t)| (r + m * t.0, i + m * t.1));
            let depth = if dc > 0.0 { 2.0 * (re * re + im * im).sqrt() / dc } else { 0.0 };
            self.am_hops = if depth >= AM_MIN_DEPTH { self.am_hops.saturating_add(1) } else { 0 };
        }
        // Phase: a hop that straddles a reversal (or drops out) reads weak; skip it and
        // compare the next one with the last good hop, predicting the steady advance.
        if !self.have_z {
            if on {
                (self.last_z, self.have_z, self.skipped, self.adv, self.mean_mag2) = (z, true, 0, (0.0, 0.0), mag2);
            }
            return;
        }
        if !on || mag2 < 0.25 * self.mean_mag2 {
            self.skipped += 1;
            if self.skipped > 3 {
                self.have_z = false;
            }
            return;
        }
        self.mean_mag2 = 0.9 * self.mean_mag2 + 0.1 * mag2;
        let d = unit(cmul(z, (self.last_z.0, -self.last_z.1)));
        let steps = self.skipped + 1;
        self.last_z = z;
        self.skipped = 0;
        if self.adv == (0.0, 0.0) {
            if steps == 1 {
                self.adv = d;
            }
            return;
        }
        let mut pred = (1.0, 0.0);
        for _ in 0..steps {
            pred = cmul(pred, self.adv);
        }
        let q = cmul(d, (pred.0, -pred.1));
        if q.0 < -0.5 {
            let ms_since = |t: u64| (hop - t) * HOP_MS;
            if self.last_reversal.is_some_and(|t| (PR_MIN_MS..=PR_MAX_MS).contains(&ms_since(t))) {
                self.reversal_pair = true;
            }
            self.last_reversal = Some(hop);
        } else if steps == 1 {
            self.adv = unit((0.7 * self.adv.0 + 0.3 * d.0, 0.7 * self.adv.1 + 0.3 * d.1));
        }
    }
}

fn cmul(a: (f32, f32), b: (f32, f32)) -> (f32, f32) {
    (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0)
}

/// `a / |a|`, or zero.
fn unit(a: (f32, f32)) -> (f32, f32) {
    let m = (a.0 * a.0 + a.1 * a.1).sqrt();
    if m > 0.0 && m.is_finite() {
        (a.0 / m, a.1 / m)
    } else {
        (0.0, 0.0)
    }
}

#[cfg(test)]
mod tests;
