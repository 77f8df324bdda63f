//! `trunkd analyze FILE.wav`: what the gateway's detectors hear in a recording — DTMF
//! digits, caller ID messages, call-progress tones with their cadences, fax and modem
//! tones, R2 MF signals — for anyone debugging a line from a capture.
//!
//! The same sans-IO detectors as the media path run over the samples, so what this prints
//! is what the gateway would have understood. Files at other rates are resampled to 8 kHz
//! first; each channel of a stereo file (trunkd's own recordings: left = the line, right =
//! what we sent) is analysed on its own.

use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::dsp::callerid::{CallerIdDetector, CallerIdMessage, CidDetect};
use crate::dsp::dtmf::{DtmfDetector, DtmfEventKind, DtmfRxConfig};
use crate::dsp::faxtone::FaxToneDetector;
use crate::dsp::progress::{CadenceLearner, ProgressConfig, ProgressDetector};
use crate::dsp::r2mf::{signal_char, R2Direction, R2MfDetector, R2MfRxConfig};
use crate::dsp::zone::{builtin_zones, ToneZone};
use crate::dsp::SAMPLE_RATE;

/// Why a file could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error("{path}: {why}")]
    Read { path: String, why: String },
    #[error("unknown tone zone `{0}`")]
    Zone(String),
    #[error("built-in tone zones: {0}")]
    Zones(String),
}

/// One thing heard, at a time in seconds from the start of the file: for DTMF digits and
/// R2 MF signals when the tone began (the detector's decision time less its minimum on
/// time, ±5 ms), for caller ID when the message ended, and for progress and fax tones when
/// the detector recognised them (a busy tone after about two cadence cycles).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Finding {
    Dtmf {
        at: f64,
        digit: char,
        duration_ms: u32,
    },
    CallerId {
        at: f64,
        format: String,
        message: CallerIdMessage,
    },
    /// A call-progress tone recognised by a zone's cadence.
    Tone {
        at: f64,
        tone: String,
        zone: String,
    },
    Fax {
        at: f64,
        tone: String,
    },
    R2Mf {
        at: f64,
        direction: String,
        signal: char,
        duration_ms: u32,
    },
}

impl Finding {
    pub fn at(&self) -> f64 {
        match self {
            Finding::Dtmf { at, .. }
            | Finding::CallerId { at, .. }
            | Finding::Tone { at, .. }
            | Finding::Fax { at, .. }
            | Finding::R2Mf { at, .. } => *at,
        }
    }
}

/// A steady tone's measured frequencies and cadence, as a zone entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LearnedCadence {
    pub freqs: Vec<(f32, f32)>,
    pub cadence: Vec<u32>,
    pub cycles: u32,
    /// The same as a line for a zone in `zones.toml` (`busy = { … }`).
    pub zone_entry: String,
}

/// Everything heard on one channel of the file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChannelReport {
    pub channel: usize,
    pub findings: Vec<Finding>,
    pub cadence: Option<LearnedCadence>,
}

/// What to listen for.
#[derive(Clone, Debug)]
pub struct AnalyzeOptions {
    /// Zones whose cadences the progress detector knows; empty: every built-in zone.
    pub zones: Vec<String>,
}

/// Runs every detector over 8 kHz samples.
pub fn analyze_samples(samples: &[i16], opts: &AnalyzeOptions) -> Result<Vec<Finding>, AnalyzeError> {
    let all = builtin_zones().map_err(|e| AnalyzeError::Zones(e.to_string()))?;
    let zones: Vec<ToneZone> = if opts.zones.is_empty() {
        all
    } else {
        opts.zones
            .iter()
            .map(|z| all.iter().find(|b| b.name == *z).cloned().ok_or_else(|| AnalyzeError::Zone(z.clone())))
            .collect::<Result<_, _>>()?
    };
    let dtmf_cfg = DtmfRxConfig::default();
    let mut dtmf = DtmfDetector::new(dtmf_cfg);
    let mut cid = CallerIdDetector::new(CidDetect::Auto);
    let mut fax = FaxToneDetector::new();
    let mut progress: Vec<(String, ProgressDetector)> =
        zones.iter().map(|z| (z.name.clone(), ProgressDetector::new(z, ProgressConfig::default()))).collect();
    // Per direction: the detector and the signal on now, with its start.
    let mut r2: Vec<(R2MfDetector, Option<(u8, u64)>)> = [R2Direction::Forward, R2Direction::Backward]
        .into_iter()
        .map(|d| (R2MfDetector::new(d, R2MfRxConfig::default()), None))
        .collect();
    let mut out = Vec::new();
    let mut digits = DigitTimes::new(&dtmf_cfg);
    for block in samples.chunks(crate::dsp::FRAME_SAMPLES) {
        dtmf.process(block);
        digits.drain(&mut dtmf, &mut out);
        cid.process(block);
        while let Some(r) = cid.poll() {
            out.push(Finding::CallerId { at: secs(r.end_sample), format: r.format.name().into(), message: r.message });
        }
        fax.process(block);
        while let Some(ev) = fax.poll() {
            out.push(Finding::Fax { at: secs(ev.at_sample), tone: ev.tone.name().into() });
        }
        for (zone, d) in &mut progress {
            d.process(block);
            while let Some(ev) = d.poll() {
                out.push(Finding::Tone { at: secs(ev.at_sample), tone: ev.tone.name().into(), zone: zone.clone() });
            }
        }
        for (d, on) in &mut r2 {
            d.process(block);
            drain_r2(d, on, &mut out);
        }
    }
    // A digit or signal still on when the recording stops (or stopping just before) ends
    // only after the detectors' minimum off time: run them on past the end so it is
    // reported, with its duration up to the end of the file.
    let tail = [0i16; FLUSH_MS as usize * 8];
    dtmf.process(&tail);
    digits.drain(&mut dtmf, &mut out);
    for (d, on) in &mut r2 {
        d.process(&tail);
        drain_r2(d, on, &mut out);
    }
    out.sort_by(|a, b| a.at().total_cmp(&b.at()));
    Ok(out)
}

/// Longer than any detector's minimum off time at its defaults.
const FLUSH_MS: u32 = 100;

fn secs(sample: u64) -> f64 {
    sample as f64 / f64::from(SAMPLE_RATE)
}

/// Samples of `ms` at 8 kHz.
fn ms_samples(ms: u32) -> u64 {
    u64::from(ms) * u64::from(SAMPLE_RATE) / 1000
}

/// Turns the DTMF detector's Begin/End events into digits with their start times.
struct DigitTimes {
    /// The detector's minimum on and off times, ms: Begin comes the one after the tone
    /// started, End the other after it stopped.
    min_on_ms: u32,
    min_off_ms: u32,
    /// Start of the digit on now.
    began: Option<u64>,
}

impl DigitTimes {
    fn new(cfg: &DtmfRxConfig) -> DigitTimes {
        DigitTimes { min_on_ms: cfg.min_on_ms, min_off_ms: cfg.min_off_ms, began: None }
    }

    fn drain(&mut self, dtmf: &mut DtmfDetector, out: &mut Vec<Finding>) {
        while let Some(ev) = dtmf.poll_event() {
            match ev.kind {
                DtmfEventKind::Begin => self.began = Some(ev.at_sample.saturating_sub(ms_samples(self.min_on_ms))),
                DtmfEventKind::End { duration_ms } => {
                    let from_end = ev.at_sample.saturating_sub(ms_samples(self.min_off_ms + duration_ms));
                    let began = self.began.take().unwrap_or(from_end);
                    out.push(Finding::Dtmf { at: secs(began), digit: ev.digit, duration_ms });
                }
            }
        }
    }
}

/// The R2 MF signals `d` has decided since the last call, with their start times and
/// durations (each decision comes the detector's minimum on or off time late).
fn drain_r2(d: &mut R2MfDetector, on: &mut Option<(u8, u64)>, out: &mut Vec<Finding>) {
    let (min_on_ms, min_off_ms) = (d.config().min_on_ms, d.config().min_off_ms);
    while let Some(ev) = d.poll() {
        if let Some((sig, t0)) = on.take() {
            let ended = ev.at_sample.saturating_sub(ms_samples(min_off_ms));
            let duration_ms = (ended.saturating_sub(t0) * 1000 / u64::from(SAMPLE_RATE)) as u32;
            let direction = if d.direction() == R2Direction::Forward { "forward" } else { "backward" };
            let signal = signal_char(sig).unwrap_or('?');
            out.push(Finding::R2Mf { at: secs(t0), direction: direction.into(), signal, duration_ms });
        }
        *on = ev.signal.map(|s| (s, ev.at_sample.saturating_sub(ms_samples(min_on_ms))));
    }
}

/// Measures a repeating tone's frequencies and cadence (the learning mode), if there is one.
pub fn learn_cadence(samples: &[i16]) -> Option<LearnedCadence> {
    let mut l = CadenceLearner::new();
    for block in samples.chunks(crate::dsp::FRAME_SAMPLES) {
        l.process(block);
    }
    let t = l.result()?;
    Some(LearnedCadence { zone_entry: t.zone_entry("busy"), freqs: t.freqs, cadence: t.cadence, cycles: t.cycles })
}

/// Reads a WAV file as one 8 kHz sample vector per channel.
pub fn read_wav(path: &Path) -> Result<Vec<Vec<i16>>, AnalyzeError> {
    let err = |why: String| AnalyzeError::Read { path: path.display().to_string(), why };
    match hound::WavReader::open(path) {
        Ok(mut r) => {
            let spec = r.spec();
            let ch = usize::from(spec.channels.max(1));
            let all: Vec<i16> = match (spec.sample_format, spec.bits_per_sample) {
                (hound::SampleFormat::Int, 16) => r.samples::<i16>().collect::<Result<_, _>>(),
                (hound::SampleFormat::Int, b) if b <= 32 => {
                    // Scale any width to 16 bits: 8-bit samples up, 24/32-bit down.
                    let b = i32::from(b);
                    r.samples::<i32>()
                        .map(|s| s.map(|v| if b < 16 { v << (16 - b) } else { v >> (b - 16) } as i16))
                        .collect::<Result<_, _>>()
                }
                (hound::SampleFormat::Float, _) => r
                    .samples::<f32>()
                    .map(|s| s.map(|v| (v * 32767.0).clamp(-32768.0, 32767.0) as i16))
                    .collect::<Result<_, _>>(),
                (_, b) => return Err(err(format!("{b}-bit samples are not supported"))),
            }
            .map_err(|e| err(e.to_string()))?;
            let chans: Vec<Vec<i16>> =
                (0..ch).map(|c| all.iter().skip(c).step_by(ch).copied().collect::<Vec<i16>>()).collect();
            Ok(chans.into_iter().map(|c| resample(&c, spec.sample_rate)).collect())
        }
        // A-law / µ-law WAV (hound reads PCM only): the prompt loader takes 8 kHz mono.
        Err(_) => crate::core::media::prompt::load_wav(path).map(|s| vec![s]).map_err(|e| err(e.to_string())),
    }
}

/// Resamples to 8 kHz: a windowed-sinc low-pass at 3.6 kHz, then linear interpolation.
fn resample(x: &[i16], rate: u32) -> Vec<i16> {
    if rate == SAMPLE_RATE || rate == 0 || x.is_empty() {
        return x.to_vec();
    }
    let ratio = f64::from(rate) / f64::from(SAMPLE_RATE);
    let filtered: Vec<f64> = if rate > SAMPLE_RATE {
        let fc = 3600.0 / f64::from(rate);
        let half = 32i64;
        let taps: Vec<f64> = (-half..=half)
            .map(|n| {
                let n = n as f64;
                let sinc = if n == 0.0 {
                    2.0 * fc
                } else {
                    (2.0 * std::f64::consts::PI * fc * n).sin() / (std::f64::consts::PI * n)
                };
                let w = 0.54 + 0.46 * (std::f64::consts::PI * n / (half as f64 + 1.0)).cos();
                sinc * w
            })
            .collect();
        (0..x.len() as i64)
            .map(|i| {
                taps.iter()
                    .enumerate()
                    .map(|(k, t)| {
                        let j = i + k as i64 - half;
                        if j < 0 || j >= x.len() as i64 {
                            0.0
                        } else {
                            t * f64::from(x[j as usize])
                        }
                    })
                    .sum()
            })
            .collect()
    } else {
        x.iter().map(|&v| f64::from(v)).collect()
    };
    let n = ((x.len() as f64) / ratio).floor() as usize;
    (0..n)
        .map(|i| {
            let pos = i as f64 * ratio;
            let j = pos.floor() as usize;
            let frac = pos - j as f64;
            let a = filtered.get(j).copied().unwrap_or(0.0);
            let b = filtered.get(j + 1).copied().unwrap_or(a);
            (a + (b - a) * frac).round().clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

/// Analyses every channel of a WAV file.
pub fn analyze_file(path: &Path, opts: &AnalyzeOptions) -> Result<Vec<ChannelReport>, AnalyzeError> {
    read_wav(path)?
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Ok(ChannelReport { channel: i + 1, findings: analyze_samples(s, opts)?, cadence: learn_cadence(s) })
        })
        .collect()
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>9.3}s  ", self.at())?;
        match self {
            Finding::Dtmf { digit, duration_ms, .. } => write!(f, "DTMF {digit} ({duration_ms} ms)"),
            Finding::CallerId { format, message, .. } => {
                write!(f, "caller ID ({format}):")?;
                let m = message;
                if let Some(n) = &m.number {
                    write!(f, " number {n}")?;
                }
                if let Some(a) = m.number_absence {
                    write!(f, " number {}", a.name())?;
                }
                if let Some(n) = &m.name {
                    write!(f, " name \"{n}\"")?;
                }
                if let Some(a) = m.name_absence {
                    write!(f, " name {}", a.name())?;
                }
                if let Some(d) = m.datetime {
                    write!(f, " date {:02}-{:02} {:02}:{:02}", d.month, d.day, d.hour, d.minute)?;
                }
                if let Some(t) = m.call_type {
                    write!(f, " call type {t}")?;
                }
                Ok(())
            }
            Finding::Tone { tone, zone, .. } => write!(f, "{tone} tone (zone {zone})"),
            Finding::Fax { tone, .. } => write!(f, "fax/modem tone {tone}"),
            Finding::R2Mf { direction, signal, duration_ms, .. } => {
                write!(f, "R2 MF {direction} signal {signal} ({duration_ms} ms)")
            }
        }
    }
}
