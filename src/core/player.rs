//! Playback of a sequence of prompts, tones, silence and DTMF, one 20 ms frame at a time.
//! Files are loaded (and cached) before playback starts, so the media tick only copies.

use super::app::PlayItem;
use crate::backend::FRAME_SAMPLES;
use crate::dsp::dtmf::{DtmfGenerator, DtmfTxConfig};
use crate::dsp::tone::{ToneGenerator, ToneSpec};
use crate::dsp::zone::ToneZone;
use std::collections::VecDeque;
use std::sync::Arc;

/// Turns a prompt path into samples (cached by the caller), or a message naming the problem.
pub type Loader<'a> = dyn FnMut(&std::path::Path) -> Result<Arc<[i16]>, String> + 'a;

/// A resolved play item, ready for the media tick.
pub enum Source {
    Samples(Arc<[i16]>),
    Tone(Box<ToneGenerator>, usize),
    Silence(usize),
    Dtmf(Box<DtmfGenerator>),
}

impl Source {
    /// Resolves an item; `load` turns a path into samples (cached by the caller).
    pub fn resolve(item: &PlayItem, zone: &ToneZone, load: &mut Loader<'_>) -> Result<Source, String> {
        let samples = |d: std::time::Duration| (d.as_millis() as usize).saturating_mul(8);
        Ok(match item {
            PlayItem::File(p) => Source::Samples(load(p)?),
            PlayItem::Tone(kind, d) => Source::Tone(Box::new(ToneGenerator::new(zone.tone(*kind))), samples(*d)),
            PlayItem::Sine(hz, d) => {
                let spec = ToneSpec { freqs: vec![(*hz, -10.0)], cadence: vec![], repeat: true };
                Source::Tone(Box::new(ToneGenerator::new(&spec)), samples(*d))
            }
            PlayItem::Spec(spec, d) => Source::Tone(Box::new(ToneGenerator::new(spec)), samples(*d)),
            PlayItem::Silence(d) => Source::Silence(samples(*d)),
            PlayItem::Dtmf(digits) => {
                let mut g = DtmfGenerator::new(DtmfTxConfig::default());
                g.push_digits(digits);
                Source::Dtmf(Box::new(g))
            }
        })
    }
}

/// Plays resolved sources in order.
pub struct Player {
    queue: VecDeque<Source>,
    pos: usize,
    paused: bool,
    /// Gain steps of 3 dB (input-callback `volume:`), clamped to ±4.
    volume: i32,
}

impl Player {
    pub fn new(sources: Vec<Source>) -> Player {
        Player { queue: sources.into(), pos: 0, paused: false, volume: 0 }
    }

    /// Whether a generated tone is what plays now (its echo must not be taken for the
    /// line's call-progress tones).
    pub fn playing_tone(&self) -> bool {
        matches!(self.queue.front(), Some(Source::Tone(..)))
    }

    /// Applies an input-callback verb to what is playing.
    pub fn control(&mut self, c: crate::core::app::PlayControl) {
        use crate::core::app::PlayControl;
        match c {
            PlayControl::Pause => self.paused = !self.paused,
            PlayControl::Restart => self.pos = 0,
            PlayControl::Seek(ms) => {
                let len = match self.queue.front() {
                    Some(Source::Samples(s)) => s.len(),
                    _ => return,
                };
                let delta = (ms as i64) * 8;
                self.pos = (self.pos as i64 + delta).clamp(0, len as i64) as usize;
            }
            PlayControl::Volume(0) => self.volume = 0,
            PlayControl::Volume(n) => self.volume = (self.volume + n.signum()).clamp(-4, 4),
        }
    }

    /// Fills one frame; returns `true` when everything has been played.
    pub fn fill(&mut self, out: &mut [i16; FRAME_SAMPLES]) -> bool {
        if self.paused {
            out.fill(0);
            return false;
        }
        let done = self.fill_inner(out);
        if self.volume != 0 {
            let gain = 10f32.powf(self.volume as f32 * 3.0 / 20.0);
            for s in out.iter_mut() {
                *s = (*s as f32 * gain).clamp(i16::MIN as f32, i16::MAX as f32) as i16;
            }
        }
        done
    }

    fn fill_inner(&mut self, out: &mut [i16; FRAME_SAMPLES]) -> bool {
        let mut filled = 0;
        while filled < out.len() {
            let Some(src) = self.queue.front_mut() else {
                out[filled..].fill(0);
                return true;
            };
            let want = out.len() - filled;
            let (n, finished) = match src {
                Source::Samples(s) => {
                    let rest = s.get(self.pos..).unwrap_or(&[]);
                    let n = rest.len().min(want);
                    out[filled..filled + n].copy_from_slice(&rest[..n]);
                    self.pos += n;
                    (n, self.pos >= s.len())
                }
                Source::Tone(g, remaining) => {
                    let n = (*remaining).min(want);
                    g.fill(&mut out[filled..filled + n]);
                    *remaining -= n;
                    (n, *remaining == 0)
                }
                Source::Silence(remaining) => {
                    let n = (*remaining).min(want);
                    out[filled..filled + n].fill(0);
                    *remaining -= n;
                    (n, *remaining == 0)
                }
                Source::Dtmf(g) => {
                    if g.is_idle() {
                        (0, true)
                    } else {
                        g.fill(&mut out[filled..]);
                        (want, g.is_idle())
                    }
                }
            };
            filled += n;
            if finished {
                self.queue.pop_front();
                self.pos = 0;
            }
        }
        self.queue.is_empty()
    }
}
