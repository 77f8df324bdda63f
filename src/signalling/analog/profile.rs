//! Analog loop-start profiles: every timer and variant choice of the FXS and FXO machines,
//! deserialized from the daemon's configuration (TOML), with sensible defaults per field.

use serde::Deserialize;

use crate::dsp::callerid::{CidDetect, CidFormat, CidTxConfig};
use crate::pii::Pii;

/// A profile value that cannot work (checked once at configuration load).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("{field}: {why}")]
    Invalid { field: &'static str, why: &'static str },
}

fn invalid(field: &'static str, why: &'static str) -> Result<(), ProfileError> {
    Err(ProfileError::Invalid { field, why })
}

/// How an FXS port tells the phone that the far end has cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Disconnect {
    /// Deny battery for `open_loop_ms` (open-loop disconnect, what answering machines and
    /// FXO ports with kewlstart detect).
    #[default]
    OpenLoop,
    /// Reverse the battery polarity (a polarity-reversal disconnect).
    Polarity,
    /// Both of the above.
    Both,
    /// No line signal: only the in-band clearing tone.
    None,
}

/// Which in-band tone an FXS plays while waiting for the phone to hang up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClearTone {
    #[default]
    Busy,
    Congestion,
}

/// When an FXS port sends on-hook caller ID (ETSI EN 300 659-1 §5 / Bellcore GR-30).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CidWhen {
    /// Before the first ring, with no alerting signal (DTMF caller ID in China, India, …).
    BeforeRing,
    /// Before the first ring, after a line (polarity) reversal that wakes the phone up
    /// (ETSI "DT-AS"-less variant used in most of Europe); normal polarity before ringing.
    Polarity,
    /// In the pause after the first ring burst (Bellcore; ETSI "RP-AS"; China FSK).
    AfterFirstRing,
}

impl CidWhen {
    /// The usual moment for a format: DTMF before the ring, FSK after the first ring.
    pub fn default_for(format: CidFormat) -> CidWhen {
        match format {
            CidFormat::Dtmf => CidWhen::BeforeRing,
            _ => CidWhen::AfterFirstRing,
        }
    }
}

/// FXS (we feed a telephone) profile.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FxsProfile {
    /// The line's own number, presented as the calling party of calls the phone places
    /// (empty: unknown).
    pub number: Pii<String>,
    /// Hotline: offer a call with an empty number as soon as the phone goes off-hook,
    /// without dial tone or digit collection.
    pub immediate: bool,
    /// Characters that end dialling; not part of the number. Empty: no terminator.
    pub terminator: String,
    /// Number complete at this many digits (0: no limit).
    pub max_digits: u32,
    /// Dial tone lasts this long without a first digit before the line is locked out.
    pub first_digit_timeout_ms: u32,
    /// Silence after a digit that completes the number.
    pub inter_digit_timeout_ms: u32,
    /// A loop break up to this long is a dial pulse (nominal break is 60-67 ms).
    pub pulse_break_max_ms: u32,
    /// A make at least this long after pulses ends the pulse-dialled digit.
    pub pulse_interdigit_ms: u32,
    /// In a call, a break shorter than this is a bounce and ignored.
    pub flash_min_ms: u32,
    /// A break longer than this is a hang-up (up to it: a hook flash).
    pub flash_max_ms: u32,
    /// Ringing cadence: alternating on and off durations, starting with on. Empty: the
    /// line's tone zone decides (China 1 s on / 4 s off, North America 2 s / 4 s, …).
    pub ring_cadence: Vec<u32>,
    /// Reverse the battery polarity when a call the phone placed is answered
    /// (answer supervision for payphones and PBXs); normal polarity is restored on clearing.
    pub answer_polarity: bool,
    /// Line signal when the far end clears first.
    pub disconnect: Disconnect,
    /// Duration of the battery denial of an open-loop disconnect.
    pub open_loop_ms: u32,
    /// Tone after the far end cleared, until the phone hangs up.
    pub clear_tone: ClearTone,
    /// On-hook caller ID sent to the phone (format, level, DTMF style); absent: none.
    pub caller_id: Option<CidTxConfig>,
    /// When caller ID is sent; absent: the format's usual moment ([`CidWhen::default_for`]).
    pub caller_id_when: Option<CidWhen>,
}

impl Default for FxsProfile {
    fn default() -> Self {
        FxsProfile {
            number: Pii::default(),
            immediate: false,
            terminator: "#".into(),
            max_digits: 0,
            first_digit_timeout_ms: 10_000,
            inter_digit_timeout_ms: 4_000,
            pulse_break_max_ms: 100,
            pulse_interdigit_ms: 300,
            flash_min_ms: 150,
            flash_max_ms: 800,
            ring_cadence: vec![],
            answer_polarity: false,
            disconnect: Disconnect::OpenLoop,
            open_loop_ms: 800,
            clear_tone: ClearTone::Busy,
            caller_id: None,
            caller_id_when: None,
        }
    }
}

impl FxsProfile {
    /// Checks the relations between fields that the state machine relies on.
    pub fn validate(&self) -> Result<(), ProfileError> {
        if self.ring_cadence.contains(&0) {
            return invalid("ring_cadence", "durations must not be 0");
        }
        if self.pulse_break_max_ms >= self.flash_max_ms {
            return invalid("pulse_break_max_ms", "must be shorter than flash_max_ms");
        }
        if self.flash_min_ms > self.flash_max_ms {
            return invalid("flash_min_ms", "must not exceed flash_max_ms");
        }
        if let Some(c) = &self.caller_id {
            if !(c.level_dbm0.is_finite() && (-40.0..=0.0).contains(&c.level_dbm0)) {
                return invalid("caller_id.level_dbm0", "must be between -40 and 0");
            }
            if !(c.twist_db.is_finite() && c.twist_db.abs() <= 10.0) {
                return invalid("caller_id.twist_db", "must be between -10 and 10");
            }
            if c.dtmf.on_ms == 0 || c.dtmf.off_ms == 0 {
                return invalid("caller_id.dtmf", "on_ms and off_ms must not be 0");
            }
            // A test spill with every field the format can carry must render.
            let probe = crate::dsp::callerid::CallerIdMessage {
                number: Some("12345678".into()),
                datetime: Some(crate::dsp::callerid::CidDateTime { month: 1, day: 1, hour: 0, minute: 0 }),
                ..Default::default()
            };
            match crate::dsp::callerid::CallerIdGenerator::new(c, &probe) {
                Ok(g) if g.duration_samples() <= u64::from(crate::dsp::SAMPLE_RATE) * 5 => {}
                Ok(_) => return invalid("caller_id", "a spill would last more than 5 s"),
                Err(_) => return invalid("caller_id", "level, preamble or DTMF style out of range"),
            }
        }
        Ok(())
    }
}

/// How an FXO port sends the called number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DialMode {
    /// In-band DTMF (sent by the call core's tone generator).
    #[default]
    Dtmf,
    /// Loop-disconnect pulses, timed by this machine.
    Pulse,
}

/// FXO (we face a central office) profile.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FxoProfile {
    /// Offer the incoming call after this many ring bursts (at least 1).
    pub answer_after_rings: u32,
    /// Called number reported for incoming calls (a loop-start line carries none).
    pub did: Pii<String>,
    /// No ring edge for this long: the caller gave up (or the ringing stopped).
    pub ring_timeout_ms: u32,
    /// Wait after seizing before dialling (stands in for dial-tone detection).
    pub dial_delay_ms: u32,
    pub dial_mode: DialMode,
    /// Pulse dialling: loop open per pulse.
    pub pulse_break_ms: u32,
    /// Pulse dialling: loop closed between pulses of a digit.
    pub pulse_make_ms: u32,
    /// Pulse dialling: loop closed between digits.
    pub pulse_interdigit_ms: u32,
    /// Outgoing calls are answered when the line reverses polarity (the CO offers answer
    /// supervision); otherwise they count as answered once dialled.
    pub answer_on_polarity: bool,
    /// A polarity reversal in a call is the far end clearing.
    pub hangup_on_polarity: bool,
    /// Battery must stay away this long to count as a disconnect (debounce).
    pub battery_loss_min_ms: u32,
    /// On-hook time after a call before the line may be seized again.
    pub onhook_guard_ms: u32,
    /// Caller ID to listen for while on-hook: `auto` (FSK V.23 / Bell 202 and DTMF, the
    /// first valid message wins), one format, or `off`.
    pub caller_id: CidListen,
    /// After the first ring, how long the offer waits for caller ID before going ahead
    /// without it (FSK arrives 0.5–2 s after the first ring ends).
    pub caller_id_wait_ms: u32,
    /// Listen for call-progress tones on calls: after dialling, busy, congestion and SIT
    /// clear the call (cause 17, 34, 1) and ringback reports alerting; in a call, busy or
    /// congestion tone means the far end hung up (the disconnect supervision of lines
    /// without battery drop). Cadences come from the line's tone zone.
    pub call_progress: bool,
}

/// The FXO caller ID setting: `off` or what [`CidDetect`] accepts (`auto` or a format).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum CidListen {
    Detect(CidDetect),
    Off,
}

impl TryFrom<String> for CidListen {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s == "off" {
            return Ok(CidListen::Off);
        }
        s.parse().map(CidListen::Detect).map_err(|e: String| format!("{e}, or off"))
    }
}

impl CidListen {
    /// No caller ID: offer at the ring count alone.
    pub const OFF: CidListen = CidListen::Off;

    pub fn detect(self) -> Option<CidDetect> {
        match self {
            CidListen::Detect(d) => Some(d),
            CidListen::Off => None,
        }
    }
}

impl Default for FxoProfile {
    fn default() -> Self {
        FxoProfile {
            answer_after_rings: 1,
            did: Pii::default(),
            ring_timeout_ms: 8_000,
            dial_delay_ms: 1_000,
            dial_mode: DialMode::Dtmf,
            pulse_break_ms: 60,
            pulse_make_ms: 40,
            pulse_interdigit_ms: 700,
            answer_on_polarity: false,
            hangup_on_polarity: false,
            battery_loss_min_ms: 300,
            onhook_guard_ms: 1_000,
            caller_id: CidListen::Detect(CidDetect::Auto),
            caller_id_wait_ms: 4_000,
            call_progress: true,
        }
    }
}

impl FxoProfile {
    /// Checks the relations between fields that the state machine relies on.
    pub fn validate(&self) -> Result<(), ProfileError> {
        if self.answer_after_rings == 0 {
            return invalid("answer_after_rings", "must be at least 1");
        }
        if self.pulse_break_ms == 0 || self.pulse_make_ms == 0 {
            return invalid("pulse_break_ms", "pulse timings must not be 0");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fxs_profile_from_toml() {
        let p: FxsProfile = toml::from_str(
            r#"
            number = "5551234"
            disconnect = "both"
            ring_cadence = [1000, 500, 1000, 2000]
            clear_tone = "congestion"
            "#,
        )
        .unwrap();
        assert_eq!(p.number.reveal(), "5551234");
        assert_eq!(p.disconnect, Disconnect::Both);
        assert_eq!(p.ring_cadence, vec![1000, 500, 1000, 2000]);
        assert_eq!(p.clear_tone, ClearTone::Congestion);
        assert_eq!(p.flash_max_ms, FxsProfile::default().flash_max_ms);
        assert!(p.validate().is_ok());
        assert!(toml::from_str::<FxsProfile>("bogus = 1").is_err());
        assert!(toml::from_str::<FxsProfile>("disconnect = \"loud\"").is_err());
    }

    #[test]
    fn fxo_profile_from_toml() {
        let p: FxoProfile = toml::from_str("dial_mode = \"pulse\"\nanswer_after_rings = 2\ndid = \"100\"").unwrap();
        assert_eq!(p.dial_mode, DialMode::Pulse);
        assert_eq!(p.answer_after_rings, 2);
        assert_eq!(p.did.reveal(), "100");
        assert_eq!(p.onhook_guard_ms, 1_000);
        assert!(toml::from_str::<FxoProfile>("ring_timeout = 1").is_err());
        let bad = FxoProfile { answer_after_rings: 0, ..FxoProfile::default() };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn validation_catches_bad_fxs_timings() {
        assert!(FxsProfile::default().validate().is_ok());
        let p = FxsProfile { ring_cadence: vec![1_000, 0], ..FxsProfile::default() };
        assert!(p.validate().is_err());
        let p = FxsProfile { flash_max_ms: 50, ..FxsProfile::default() };
        assert!(p.validate().is_err());
    }
}
