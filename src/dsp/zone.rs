//! Tone zones: which call-progress tones a country or network plays, as data.
//!
//! The built-in zones live in `zones.toml` next to this file and are compiled in, so a
//! deployment needs no data files; the same schema can later be loaded from config.

use std::fmt;

use serde::Deserialize;

use crate::dsp::tone::{ToneKind, ToneSpec};

/// The tones of one zone.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToneZone {
    /// Short key used in config, e.g. "cn", "us".
    pub name: String,
    pub description: String,
    pub dial: ToneSpec,
    pub busy: ToneSpec,
    pub ringback: ToneSpec,
    pub congestion: ToneSpec,
    pub call_waiting: ToneSpec,
    /// Short "call is being recorded" beep.
    pub beep: ToneSpec,
    /// Ringing cadence for an FXS phone, ms on/off.
    pub ring_cadence: Vec<u32>,
}

impl ToneZone {
    pub fn tone(&self, kind: ToneKind) -> &ToneSpec {
        match kind {
            ToneKind::Dial => &self.dial,
            ToneKind::Busy => &self.busy,
            ToneKind::Ringback => &self.ringback,
            ToneKind::Congestion => &self.congestion,
            ToneKind::CallWaiting => &self.call_waiting,
            ToneKind::Beep => &self.beep,
        }
    }

    /// Rejects specs that cannot be played sensibly.
    fn validate(&self) -> Result<(), ZoneError> {
        let bad = |what: &str| ZoneError::Invalid { zone: self.name.clone(), what: what.to_string() };
        if self.name.is_empty() {
            return Err(bad("empty name"));
        }
        for kind in ToneKind::ALL {
            let spec = self.tone(kind);
            let nyquist = crate::dsp::SAMPLE_RATE as f32 / 2.0;
            if spec.freqs.is_empty() {
                return Err(bad(&format!("{kind:?} has no frequency")));
            }
            if spec.freqs.iter().any(|&(f, l)| !(f > 0.0 && f < nyquist && (-60.0..=3.0).contains(&l))) {
                return Err(bad(&format!("{kind:?} frequency or level out of range")));
            }
            if !spec.cadence.is_empty() && spec.cadence.iter().all(|&ms| ms == 0) {
                return Err(bad(&format!("{kind:?} cadence is all zero")));
            }
        }
        if self.ring_cadence.is_empty() || self.ring_cadence.len() % 2 != 0 {
            return Err(bad("ring_cadence needs on/off pairs"));
        }
        Ok(())
    }
}

/// Why zone data could not be used.
#[derive(Clone, Debug, PartialEq)]
pub enum ZoneError {
    /// The TOML did not match the schema.
    Parse(String),
    /// A zone parsed but has unusable values.
    Invalid { zone: String, what: String },
    /// Two zones share a name.
    Duplicate(String),
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZoneError::Parse(e) => write!(f, "tone zone data does not parse: {e}"),
            ZoneError::Invalid { zone, what } => write!(f, "tone zone {zone:?}: {what}"),
            ZoneError::Duplicate(name) => write!(f, "tone zone {name:?} defined twice"),
        }
    }
}

impl std::error::Error for ZoneError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneFile {
    zone: Vec<ToneZone>,
}

const BUILTIN: &str = include_str!("zones.toml");

/// Parses and validates zones from TOML text (`[[zone]]` tables).
pub fn parse_zones(text: &str) -> Result<Vec<ToneZone>, ZoneError> {
    let file: ZoneFile = toml::from_str(text).map_err(|e| ZoneError::Parse(e.to_string()))?;
    for (i, z) in file.zone.iter().enumerate() {
        z.validate()?;
        if file.zone.iter().take(i).any(|o| o.name == z.name) {
            return Err(ZoneError::Duplicate(z.name.clone()));
        }
    }
    Ok(file.zone)
}

/// All compiled-in zones.
pub fn builtin_zones() -> Result<Vec<ToneZone>, ZoneError> {
    parse_zones(BUILTIN)
}

/// One compiled-in zone by name ("eu" is accepted as an alias of "etsi").
pub fn builtin_zone(name: &str) -> Option<ToneZone> {
    let name = if name == "eu" { "etsi" } else { name };
    builtin_zones().ok()?.into_iter().find(|z| z.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::goertzel::tone_dbm0;
    use crate::dsp::tone::render;

    const KINDS: [ToneKind; 6] = ToneKind::ALL;

    /// (on, off) run lengths in ms of rendered audio, measured on 5 ms blocks.
    fn runs(x: &[i16]) -> Vec<(bool, u32)> {
        let mut v: Vec<(bool, u32)> = Vec::new();
        for b in x.chunks(40) {
            let on = b.iter().any(|&s| s != 0);
            match v.last_mut() {
                Some((o, ms)) if *o == on => *ms += 5,
                _ => v.push((on, 5)),
            }
        }
        v
    }

    #[test]
    fn builtin_zones_parse_and_lookup_works() {
        let zones = builtin_zones().unwrap();
        let names: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
        for n in ["cn", "etsi", "us", "uk", "de"] {
            assert!(names.contains(&n), "{n} missing");
        }
        assert_eq!(builtin_zone("eu").unwrap().name, "etsi");
        assert!(builtin_zone("xx").is_none());
        let us = builtin_zone("us").unwrap();
        assert_eq!(us.tone(ToneKind::Busy), &us.busy);
        assert_eq!(us.ring_cadence, vec![2000, 4000]);
    }

    #[test]
    fn every_tone_is_audible_at_its_frequencies() {
        for z in builtin_zones().unwrap() {
            for kind in KINDS {
                let spec = z.tone(kind);
                let first_on = spec.cadence.first().copied().unwrap_or(1000).min(1000);
                let x = render(spec, first_on);
                let body = &x[x.len() / 4..x.len() * 3 / 4];
                for &(f, dbm0) in &spec.freqs {
                    let got = tone_dbm0(body, f);
                    assert!((got - dbm0).abs() < 1.0, "{} {kind:?} {f} Hz: {got}", z.name);
                }
                // And not at an unrelated frequency.
                assert!(tone_dbm0(body, 2600.0) < -40.0, "{} {kind:?}", z.name);
            }
        }
    }

    #[test]
    fn busy_and_congestion_cadences_match_the_tables() {
        let want = [
            ("cn", ToneKind::Busy, 350, 350),
            ("cn", ToneKind::Congestion, 700, 700),
            ("etsi", ToneKind::Busy, 500, 500),
            ("etsi", ToneKind::Congestion, 250, 250),
            ("us", ToneKind::Busy, 500, 500),
            ("us", ToneKind::Congestion, 250, 250),
            ("uk", ToneKind::Busy, 375, 375),
            ("de", ToneKind::Busy, 480, 480),
            ("cn", ToneKind::Ringback, 1000, 4000),
            ("us", ToneKind::Ringback, 2000, 4000),
        ];
        for (zone, kind, on, off) in want {
            let z = builtin_zone(zone).unwrap();
            let x = render(z.tone(kind), 3 * (on + off));
            let r = runs(&x);
            // Full periods only (rounding of the 5 ms grid: ±5 ms).
            for &(is_on, ms) in r.iter().take(r.len() - 1) {
                let expect = if is_on { on } else { off };
                assert!(ms.abs_diff(expect) <= 5, "{zone} {kind:?}: {r:?}");
            }
            assert!(r.len() >= 5, "{zone} {kind:?}: {r:?}");
        }
        let dial = render(&builtin_zone("us").unwrap().dial, 2000);
        assert_eq!(runs(&dial), vec![(true, 2000)], "dial tone is continuous");
    }

    #[test]
    fn bad_zone_data_is_rejected() {
        let good = BUILTIN;
        assert!(parse_zones(&good.replace("ring_cadence", "ring_cadense")).is_err());
        assert!(matches!(
            parse_zones(&good.replace("[[450.0, -10.0]], cadence = [350, 350]", "[], cadence = [350, 350]")),
            Err(ZoneError::Invalid { .. })
        ));
        assert!(matches!(parse_zones(&good.replace("name = \"de\"", "name = \"cn\"")), Err(ZoneError::Duplicate(_))));
        let e = parse_zones("zone = 3").unwrap_err();
        assert!(e.to_string().contains("does not parse"));
    }
}
