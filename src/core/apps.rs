//! Built-in applications: the demo IVR, a plain bridge, and the simulated far end's
//! caller and callee (which run on a second call core in the simulator).

use super::app::{AppCmd, AppEvent, Application, CallInfo, CollectSpec, DialTarget, OpResult, PlayItem, RecordSpec};
use crate::core::media::recorder::RecordMode;
use crate::dsp::tone::ToneKind;
use crate::signalling::Cause;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

/// The demo IVR: answer, record the call, play a welcome prompt, collect an account
/// number, take a short message after the beep, say goodbye, hang up.
/// Prompt paths are relative (`<lang>/welcome.wav`): the call core resolves them against
/// the prompts directory.
pub struct DemoIvr {
    lang: String,
    step: u8,
}

impl DemoIvr {
    /// `lang` names the prompt set: `en` or `zh` are shipped.
    pub fn new(lang: &str) -> Self {
        DemoIvr { lang: lang.to_string(), step: 0 }
    }
    fn prompt(&self, name: &str) -> PlayItem {
        PlayItem::File(format!("{}/{name}", self.lang).into())
    }
}

impl Application for DemoIvr {
    fn name(&self) -> &str {
        "demo"
    }

    fn on_event(&mut self, event: AppEvent, call: &CallInfo, out: &mut Vec<AppCmd>) {
        let done = match event {
            AppEvent::Hangup(_) | AppEvent::Digit(_) => return,
            AppEvent::Start => None,
            AppEvent::Done(r) => Some(r),
        };
        match (self.step, done) {
            (0, None) => {
                out.push(AppCmd::Answer);
                out.push(AppCmd::RecordCall {
                    path: format!(
                        "calls/call-{}.wav",
                        call.vars.get("uid").cloned().unwrap_or_else(|| call.id.to_string())
                    )
                    .into(),
                    mode: RecordMode::Stereo,
                });
                // Far ends confirm an answer only after their debounce (E&M tells a wink from an
                // answer by its length), so a prompt started at once loses its first syllable.
                out.push(AppCmd::Sleep(Duration::from_millis(500)));
                out.push(AppCmd::Play { items: vec![self.prompt("welcome.wav")], interrupt: "0123456789*#".into() });
                out.push(AppCmd::Collect(CollectSpec {
                    max: 12,
                    terminators: "#".into(),
                    first_timeout: Duration::from_secs(8),
                    inter_timeout: Duration::from_secs(4),
                }));
                self.step = 1;
            }
            (1, Some(OpResult::Played { .. } | OpResult::Slept)) => {}
            (1, Some(OpResult::Collected { digits, .. })) => {
                out.push(AppCmd::SetVar("account".into(), digits));
                out.push(AppCmd::Play { items: vec![self.prompt("thanks.wav")], interrupt: String::new() });
                out.push(AppCmd::Record(RecordSpec {
                    path: format!("messages/msg-{}.wav", call.id).into(),
                    limit: Duration::from_secs(10),
                    silence_stop: Some(Duration::from_secs(2)),
                    beep: true,
                    terminators: "#".into(),
                }));
                self.step = 2;
            }
            (2, Some(OpResult::Played { .. })) => {}
            (2, Some(OpResult::Recorded { .. })) => {
                out.push(AppCmd::Play { items: vec![self.prompt("goodbye.wav")], interrupt: String::new() });
                out.push(AppCmd::Hangup(Cause::NormalClearing));
                self.step = 3;
            }
            (_, Some(OpResult::Failed(_))) => {
                out.push(AppCmd::Hangup(Cause::TemporaryFailure));
                self.step = 3;
            }
            _ => {}
        }
    }
}

/// Bridges the call to a dial target, then clears with the far leg's cause.
/// The name of [`CtiApp`]: calls it runs take operations from the CTI.
pub const CTI_APP: &str = "cti";

/// Runs nothing by itself: a call the CTI originated, driven by CTI commands
/// (`Engine::control`) until someone hangs up.
pub struct CtiApp;

impl Application for CtiApp {
    fn name(&self) -> &str {
        CTI_APP
    }

    fn on_event(&mut self, _event: AppEvent, _call: &CallInfo, _out: &mut Vec<AppCmd>) {}
}

pub struct BridgeApp {
    target: Option<DialTarget>,
}

impl BridgeApp {
    pub fn new(target: DialTarget) -> Self {
        BridgeApp { target: Some(target) }
    }
}

impl Application for BridgeApp {
    fn name(&self) -> &str {
        "bridge"
    }

    fn on_event(&mut self, event: AppEvent, _call: &CallInfo, out: &mut Vec<AppCmd>) {
        match event {
            AppEvent::Start => {
                if let Some(t) = self.target.take() {
                    out.push(AppCmd::Bridge(t));
                }
            }
            AppEvent::Done(OpResult::BridgeEnded { cause, .. }) => out.push(AppCmd::Hangup(cause)),
            AppEvent::Done(OpResult::Failed(_)) => out.push(AppCmd::Hangup(Cause::NoCircuitAvailable)),
            _ => {}
        }
    }
}

/// One step of a simulated caller's behaviour once its call is answered.
#[derive(Clone, Debug, PartialEq)]
pub enum CallerStep {
    Wait(Duration),
    Dtmf(String),
    /// A sine tone at `Hz` for a time (stands in for the caller speaking).
    Tone(f32, Duration),
    Play(PathBuf),
    Hangup,
}

impl CallerStep {
    /// Parses one step: `wait 2500`, `dtmf 1234#`, `tone 1000 800`, `play file.wav`, `hangup`.
    pub fn parse(s: &str) -> Result<CallerStep, String> {
        let mut it = s.split_whitespace();
        let verb = it.next().unwrap_or("");
        let args: Vec<&str> = it.collect();
        let ms = |a: Option<&&str>| -> Result<Duration, String> {
            a.and_then(|v| v.parse::<u64>().ok())
                .filter(|v| *v <= 3_600_000)
                .map(Duration::from_millis)
                .ok_or_else(|| format!("`{s}`: expected a duration in milliseconds (0..=3600000)"))
        };
        match (verb, args.len()) {
            ("wait", 1) => Ok(CallerStep::Wait(ms(args.first())?)),
            ("dtmf", 1) if args[0].chars().all(|c| "0123456789*#ABCD".contains(c)) => {
                Ok(CallerStep::Dtmf(args[0].to_string()))
            }
            ("tone", 2) => {
                let hz: f32 = args[0].parse().map_err(|_| format!("`{s}`: bad frequency"))?;
                if !(50.0..=3800.0).contains(&hz) {
                    return Err(format!("`{s}`: frequency must be 50..=3800 Hz"));
                }
                Ok(CallerStep::Tone(hz, ms(args.get(1))?))
            }
            ("play", 1) => Ok(CallerStep::Play(args[0].into())),
            ("hangup", 0) => Ok(CallerStep::Hangup),
            _ => Err(format!(
                "`{s}`: unknown step (expected `wait MS`, `dtmf DIGITS`, `tone HZ MS`, `play FILE` or `hangup`)"
            )),
        }
    }
}

/// The simulated far end's caller: records what it hears (stereo), then runs its steps.
pub struct CallerScript {
    steps: VecDeque<CallerStep>,
    record: Option<PathBuf>,
}

impl CallerScript {
    pub fn new(steps: Vec<CallerStep>, record: Option<PathBuf>) -> Self {
        CallerScript { steps: steps.into(), record }
    }
}

impl Application for CallerScript {
    fn name(&self) -> &str {
        "sim-caller"
    }

    fn on_event(&mut self, event: AppEvent, _call: &CallInfo, out: &mut Vec<AppCmd>) {
        match event {
            AppEvent::Start => {
                if let Some(p) = self.record.take() {
                    out.push(AppCmd::RecordCall { path: p, mode: RecordMode::Stereo });
                }
            }
            AppEvent::Done(_) => {}
            AppEvent::Hangup(_) | AppEvent::Digit(_) => return,
        }
        match self.steps.pop_front() {
            Some(CallerStep::Wait(d)) => out.push(AppCmd::Sleep(d)),
            Some(CallerStep::Dtmf(d)) => {
                out.push(AppCmd::Play { items: vec![PlayItem::Dtmf(d)], interrupt: String::new() })
            }
            Some(CallerStep::Tone(hz, d)) => {
                out.push(AppCmd::Play { items: vec![PlayItem::Sine(hz, d)], interrupt: String::new() })
            }
            Some(CallerStep::Play(p)) => {
                out.push(AppCmd::Play { items: vec![PlayItem::File(p)], interrupt: String::new() })
            }
            Some(CallerStep::Hangup) | None => out.push(AppCmd::Hangup(Cause::NormalClearing)),
        }
    }
}

/// The simulated far end's callee: rings for a while, answers, plays a tone as a
/// stand-in voice, and stays on the line until the other side clears.
pub struct Callee {
    ring_for: Duration,
    started: bool,
}

impl Callee {
    pub fn new(ring_for: Duration) -> Self {
        Callee { ring_for, started: false }
    }
}

impl Application for Callee {
    fn name(&self) -> &str {
        "sim-callee"
    }

    fn on_event(&mut self, event: AppEvent, _call: &CallInfo, out: &mut Vec<AppCmd>) {
        match event {
            AppEvent::Start if !self.started => {
                self.started = true;
                out.push(AppCmd::Ring);
                out.push(AppCmd::Sleep(self.ring_for));
                out.push(AppCmd::Answer);
                // A person picks up, then says hello: a second of silence, then a tone.
                out.push(AppCmd::Sleep(Duration::from_secs(1)));
                out.push(AppCmd::Play {
                    items: vec![PlayItem::Tone(ToneKind::Beep, Duration::from_millis(1000))],
                    interrupt: String::new(),
                });
            }
            AppEvent::Done(OpResult::Played { .. }) => out.push(AppCmd::Sleep(Duration::from_secs(3600))),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_steps_parse_with_clear_errors() {
        assert_eq!(CallerStep::parse("wait 2500"), Ok(CallerStep::Wait(Duration::from_millis(2500))));
        assert_eq!(CallerStep::parse("dtmf 12#"), Ok(CallerStep::Dtmf("12#".into())));
        assert_eq!(CallerStep::parse("tone 1000 800"), Ok(CallerStep::Tone(1000.0, Duration::from_millis(800))));
        assert_eq!(CallerStep::parse("hangup"), Ok(CallerStep::Hangup));
        assert!(CallerStep::parse("dtmf 12x").unwrap_err().contains("unknown step"));
        assert!(CallerStep::parse("wait -1").unwrap_err().contains("milliseconds"));
        assert!(CallerStep::parse("tone 9000 10").unwrap_err().contains("3800"));
        assert!(CallerStep::parse("").is_err());
    }
}
