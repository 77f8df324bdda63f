//! The application interface: what runs a call once it is routed.
//!
//! An application reacts to [`AppEvent`]s and answers with [`AppCmd`]s. Commands run in
//! order; operations (play, collect, record, sleep, bridge, send DTMF) complete with an
//! `AppEvent::Done`, so an application is a state machine or, for Lua, a coroutine that
//! yields on each blocking call and is resumed with its result. Applications never touch
//! the clock or the media: the call core does, every 20 ms tick.

use crate::core::media::recorder::RecordMode;
use crate::dsp::tone::ToneKind;
use crate::signalling::{Cause, Party};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// One thing to play.
#[derive(Clone, Debug, PartialEq)]
pub enum PlayItem {
    /// A WAV prompt (8 kHz mono PCM16, A-law or µ-law).
    File(PathBuf),
    /// A zone tone for a time.
    Tone(ToneKind, Duration),
    /// Silence for a time.
    Silence(Duration),
    /// A sine at this frequency (Hz) for a time, at -10 dBm0.
    Sine(f32, Duration),
    /// Any tone as data (frequencies, cadence) for a time: FreeSWITCH `tone_stream://`.
    Spec(crate::dsp::tone::ToneSpec, Duration),
    /// DTMF digits played in-band (for callers and `tone_stream` digits).
    Dtmf(String),
}

/// Where a bridge or a dial goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialTarget {
    /// A span or line group name from the config.
    pub group: String,
    pub number: String,
    /// Give up if not answered in this time (cause NO_ANSWER).
    pub timeout: Duration,
}

/// Digit collection parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectSpec {
    pub max: usize,
    /// Digits that end collection (not included in the result).
    pub terminators: String,
    pub first_timeout: Duration,
    pub inter_timeout: Duration,
}

/// A foreground recording of what the far end says (voicemail style).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordSpec {
    /// Relative paths land under the data directory's `recordings/`.
    pub path: PathBuf,
    pub limit: Duration,
    /// Stop after this much continuous silence.
    pub silence_stop: Option<Duration>,
    /// Play the zone's beep first.
    pub beep: bool,
    /// Digits that stop the recording.
    pub terminators: String,
}

/// A command from an application.
#[derive(Clone, Debug, PartialEq)]
pub enum AppCmd {
    Answer,
    /// Early media without answering (PROGRESS).
    PreAnswer,
    /// Tell the caller the destination rings (ALERTING).
    Ring,
    Hangup(Cause),
    /// Operation: play items; stops early on a digit in `interrupt`.
    Play {
        items: Vec<PlayItem>,
        interrupt: String,
    },
    /// Operation: collect digits.
    Collect(CollectSpec),
    /// Operation: record the far end.
    Record(RecordSpec),
    /// Operation: wait.
    Sleep(Duration),
    /// Operation: bridge this call to a new outgoing call.
    Bridge(DialTarget),
    /// Start recording the whole call (both directions) in the background.
    RecordCall {
        path: PathBuf,
        mode: RecordMode,
    },
    StopRecordCall,
    /// Drop digits received so far.
    FlushDigits,
    SetVar(String, String),
    /// While playing, sleeping or recording, hand each digit to the application as
    /// `AppEvent::Digit` instead of buffering it (FreeSWITCH input callbacks).
    WatchDigits(bool),
    /// End the running operation now with what it has (sent in answer to `AppEvent::Digit`,
    /// it takes effect at once; otherwise it is a no-op).
    StopOp,
    /// Act on the prompt playing now (input-callback verbs); takes effect at once like `StopOp`.
    PlayControl(PlayControl),
    /// A log line from the application (scripts' `log`), shown in the call's events.
    Log {
        level: LogLevel,
        message: String,
    },
    /// A custom event for the CTI stream (`name`, JSON-like fields).
    Emit {
        name: String,
        fields: BTreeMap<String, String>,
    },
}

/// What an input callback can do to the file playing (FreeSWITCH's return verbs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlayControl {
    /// Toggle pause.
    Pause,
    /// From the start of the current item.
    Restart,
    /// Forward (positive) or back, in milliseconds.
    Seek(i32),
    /// Louder (positive) or softer, in steps of 3 dB; 0 resets.
    Volume(i32),
}

/// Severity of an application's log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
}

/// The result of an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpResult {
    Played {
        interrupted: Option<char>,
    },
    Collected {
        digits: String,
        terminator: Option<char>,
        timed_out: bool,
    },
    Recorded {
        path: PathBuf,
        duration: Duration,
    },
    Slept,
    /// The bridged call ended (or never connected) with this cause.
    BridgeEnded {
        cause: Cause,
        connected: bool,
    },
    /// The operation could not run (bad prompt file, no free channel, …).
    Failed(String),
}

/// What an application is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppEvent {
    /// The application was attached to the call.
    Start,
    /// The current operation finished.
    Done(OpResult),
    /// A digit arrived while an operation runs, with `WatchDigits(true)` in force. The
    /// application may answer with `StopOp`; other commands queue behind the operation.
    Digit(char),
    /// The call is gone; the application's last event.
    Hangup(Cause),
}

/// Read-only facts about the call an application runs on.
#[derive(Clone, Debug, Default)]
pub struct CallInfo {
    pub id: u64,
    pub device: String,
    pub caller: Party,
    pub called: String,
    pub answered: bool,
    pub vars: BTreeMap<String, String>,
}

/// An application (built-in, Lua script, …).
pub trait Application: Send {
    fn name(&self) -> &str;
    fn on_event(&mut self, event: AppEvent, call: &CallInfo, out: &mut Vec<AppCmd>);
}
