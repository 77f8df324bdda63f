//! The example IVR scripts in `scripts/` run on a simulated call in virtual time
//! (`trunkd::ivr::runner`), with the prompts of `prompts/`, and do what their headers say.

use std::path::{Path, PathBuf};
use std::time::Duration;
use trunkd::core::apps::CallerStep;
use trunkd::ivr::runner::{run, TestCall, Transcript};

const PROMPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/prompts");
const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts");
const EXAMPLES: [&str; 4] = ["menu.lua", "balance.lua", "voicemail.lua", "fs_compat.lua"];
/// Every run ends with the caller waiting this long, so a call that ends earlier was
/// cleared by the script (the simulated caller hangs up when it runs out of steps).
const LAST_WAIT: &str = "wait 100000";

/// One finished test call; the temporary directory holds its recordings.
struct Call {
    tr: Transcript,
    lines: Vec<String>,
    dir: tempfile::TempDir,
}

fn call(script: &str, args: &[&str], steps: &[&str]) -> Call {
    let dir = tempfile::tempdir().unwrap();
    let t = TestCall {
        script: Path::new(SCRIPTS).join(script),
        args: args.iter().map(|a| a.to_string()).collect(),
        caller: "13800138000".into(),
        called: "1000".into(),
        steps: steps.iter().map(|s| CallerStep::parse(s).unwrap()).collect(),
        prompts_dir: PathBuf::from(PROMPTS),
        data_dir: dir.path().to_path_buf(),
        ivr: Default::default(),
        zone: "cn".into(),
        max: Duration::from_secs(200),
    };
    let tr = run(&t).unwrap();
    let lines = tr.lines();
    let c = Call { tr, lines, dir };
    assert!(!c.tr.timed_out, "call did not end:\n{}", c.text());
    assert!(!c.lines.iter().any(|l| l.contains("script error")), "script failed:\n{}", c.text());
    c
}

impl Call {
    fn text(&self) -> String {
        self.lines.join("\n")
    }

    #[track_caller]
    fn expect(&self, e: &str) {
        assert_eq!(self.tr.expect(e), Ok(true), "expected `{e}` in:\n{}", self.text());
    }

    #[track_caller]
    fn expect_not(&self, e: &str) {
        assert_eq!(self.tr.expect(e), Ok(false), "did not expect `{e}` in:\n{}", self.text());
    }

    /// The transcript lines after the timestamp, e.g. `play en/goodbye.wav`.
    fn whats(&self) -> Vec<&str> {
        self.lines.iter().map(|l| l.split_once("s  ").map_or(l.as_str(), |(_, w)| w)).collect()
    }

    /// Every prompt played, in order (one `play` line may list several files).
    fn played(&self) -> Vec<&str> {
        self.whats().into_iter().filter_map(|w| w.strip_prefix("play ")).flat_map(|p| p.split(", ")).collect()
    }

    /// The time (s) of the first line whose text starts with `what`.
    #[track_caller]
    fn at(&self, what: &str) -> f64 {
        let l = self
            .lines
            .iter()
            .find(|l| l.split_once("s  ").is_some_and(|(_, w)| w.starts_with(what)))
            .unwrap_or_else(|| panic!("no `{what}` in:\n{}", self.text()));
        l.split_once("s  ").unwrap().0.trim().parse().unwrap()
    }

    /// The call's one `hangup CAUSE` line, and it is the last event of the call.
    #[track_caller]
    fn hangup(&self) -> &str {
        let ends: Vec<&str> = self.whats().into_iter().filter_map(|w| w.strip_prefix("hangup ")).collect();
        assert_eq!(ends.len(), 1, "{}", self.text());
        ends[0]
    }

    /// The values of every `event ivr.progress` line, as `node=… input=…`.
    fn progress(&self) -> Vec<String> {
        self.whats()
            .into_iter()
            .filter_map(|w| w.strip_prefix("event ivr.progress "))
            .map(|f| {
                let get = |k: &str| f.split(' ').find_map(|kv| kv.strip_prefix(k)).unwrap_or("").to_string();
                format!("{}:{}", get("node="), get("input="))
            })
            .collect()
    }
}

/// The files `say(amount)` plays for 1024.50 (account 1234).
const EN_1024_50: [&str; 7] = [
    "en/digits/1.wav",
    "en/say/thousand.wav",
    "en/say/20.wav",
    "en/digits/4.wav",
    "en/say/yuan.wav",
    "en/say/50.wav",
    "en/say/fen.wav",
];

/// The files for 36.05 (account 5678) in Mandarin: 三十六元零五分.
const ZH_36_05: [&str; 7] = [
    "zh/digits/3.wav",
    "zh/say/shi.wav",
    "zh/digits/6.wav",
    "zh/say/yuan.wav",
    "zh/digits/0.wav",
    "zh/digits/5.wav",
    "zh/say/fen.wav",
];

#[track_caller]
fn assert_in_order(played: &[&str], want: &[&str]) {
    let found = played.windows(want.len()).any(|w| w == want);
    assert!(found, "expected {want:?} back to back in {played:?}");
}

// ---------------------------------------------------------------- menu.lua

#[test]
fn menu_1_reads_the_balance_then_says_goodbye() {
    let c = call("menu.lua", &[], &["wait 1000", "dtmf 1", "wait 1000", "dtmf 1234#", LAST_WAIT]);
    c.expect("answered");
    c.expect("collected=1");
    c.expect("collected=1234");
    c.expect("var:account=1234");
    c.expect("var:balance=1024.50");
    c.expect("var:ivr_path=menu>balance>balance.read>goodbye");
    c.expect("var:ivr_result=balance-read");
    c.expect("event=ivr.progress");
    assert_eq!(c.progress(), ["menu:", "balance:1", "balance.read:1234", "goodbye:balance-read"]);
    let played = c.played();
    assert_eq!(played.first(), Some(&"en/ivr/menu.wav"), "{played:?}");
    assert_in_order(&played, &["en/ivr/account.wav", "en/ivr/balance-is.wav"]);
    assert_in_order(&played, &[&["en/ivr/balance-is.wav"][..], &EN_1024_50, &["en/goodbye.wav"]].concat());
    assert_eq!(played.last(), Some(&"en/goodbye.wav"));
    assert_eq!(c.hangup(), "NORMAL_CLEARING");
    // Cleared by the script right after the goodbye, not by the waiting caller.
    assert!(c.at("hangup") - c.at("play en/goodbye.wav") < 1.0, "{}", c.text());
    c.expect("no-errors");
}

#[test]
fn menu_in_mandarin_plays_the_mandarin_prompts() {
    let c = call("menu.lua", &["zh"], &["wait 1000", "dtmf 1", "wait 1000", "dtmf 5678#", LAST_WAIT]);
    c.expect("var:lang=zh");
    c.expect("var:balance=36.05");
    let played = c.played();
    assert!(played.iter().all(|p| p.starts_with("zh/")), "{played:?}");
    assert_in_order(&played, &["zh/ivr/account.wav", "zh/ivr/balance-is.wav"]);
    assert_in_order(&played, &[&["zh/ivr/balance-is.wav"][..], &ZH_36_05, &["zh/goodbye.wav"]].concat());
    assert_eq!(played[0], "zh/ivr/menu.wav");
    assert_eq!(c.hangup(), "NORMAL_CLEARING");
}

#[test]
fn menu_0_tries_an_agent_and_announces_none_is_available() {
    // The runner's only line group is `test`, so a bridge to `agents` fails.
    let c = call("menu.lua", &[], &["wait 1000", "dtmf 0", LAST_WAIT]);
    c.expect("collected=0");
    assert!(c.whats().contains(&"problem: no span or line named `agents`"), "{}", c.text());
    c.expect("var:bridge_cause=NO_ROUTE_DESTINATION");
    c.expect("var:ivr_result=no-agent");
    c.expect("var:ivr_path=menu>agent>agent.unavailable");
    assert_eq!(c.progress(), ["menu:", "agent:0", "agent.unavailable:NO_ROUTE_DESTINATION"]);
    assert_eq!(c.played(), ["en/ivr/menu.wav", "en/ivr/agent.wav", "en/ivr/no-agent.wav"]);
    // The bridge is attempted after "connecting you to an agent" and before "no agent".
    let tried = c.at("problem:");
    assert!(c.at("play en/ivr/agent.wav") < tried && tried <= c.at("play en/ivr/no-agent.wav"), "{}", c.text());
    assert_eq!(c.hangup(), "NORMAL_CIRCUIT_CONGESTION");
    c.expect("cause=34");
}

#[test]
fn menu_0_in_mandarin_with_another_agent_group() {
    let c = call("menu.lua", &["zh", "helpdesk", "8001"], &["wait 1000", "dtmf 0", LAST_WAIT]);
    assert!(c.whats().contains(&"problem: no span or line named `helpdesk`"), "{}", c.text());
    assert_eq!(c.played(), ["zh/ivr/menu.wav", "zh/ivr/agent.wav", "zh/ivr/no-agent.wav"]);
    assert_eq!(c.hangup(), "NORMAL_CIRCUIT_CONGESTION");
}

#[test]
fn menu_three_wrong_keys_end_with_goodbye() {
    let c = call("menu.lua", &[], &["wait 1000", "dtmf 7", "wait 2500", "dtmf 9", "wait 2500", "dtmf #", LAST_WAIT]);
    c.expect("collected=7");
    c.expect("collected=9");
    c.expect("collected=#");
    c.expect_not("var:ivr_path=menu>balance");
    c.expect("var:ivr_path=menu>goodbye");
    c.expect("var:ivr_result=menu-max-tries");
    c.expect("var:menu_invalid_keys=3");
    c.expect("var:menu_timeouts=0");
    assert_eq!(c.progress(), ["menu:", "menu.invalid:7", "menu.invalid:9", "menu.invalid:#", "goodbye:menu-max-tries"]);
    let sorry = "en/ivr/not-understood.wav";
    let menu = "en/ivr/menu.wav";
    assert_eq!(c.played(), [menu, sorry, menu, sorry, menu, sorry, "en/goodbye.wav"]);
    assert_eq!(c.hangup(), "NORMAL_CLEARING");
    assert!(c.at("hangup") - c.at("play en/goodbye.wav") < 1.0, "{}", c.text());
}

#[test]
fn menu_without_input_times_out_three_times() {
    let c = call("menu.lua", &[], &[LAST_WAIT]);
    let timeouts = c.whats().iter().filter(|w| **w == "collected \"\" (timeout)").count();
    assert_eq!(timeouts, 3, "{}", c.text());
    c.expect("var:menu_timeouts=3");
    c.expect("var:menu_invalid_keys=0");
    c.expect("var:ivr_result=menu-max-tries");
    assert_eq!(c.played().iter().filter(|p| **p == "en/ivr/menu.wav").count(), 3);
    assert_eq!(c.played().last(), Some(&"en/goodbye.wav"));
    assert_eq!(c.hangup(), "NORMAL_CLEARING");
    // Each try waits 5 s after the menu prompt (4.3 s) before "sorry" (1.7 s).
    let secs = c.at("hangup") - c.at("answered");
    assert!((30.0..40.0).contains(&secs), "{secs} s: {}", c.text());
}

// ---------------------------------------------------------------- balance.lua

#[test]
fn balance_reads_a_known_account() {
    let c = call("balance.lua", &[], &["wait 1000", "dtmf 1234#", LAST_WAIT]);
    c.expect("collected=1234");
    c.expect("var:balance_result=found");
    c.expect("var:balance=1024.50");
    assert_eq!(
        c.played(),
        [&["en/ivr/account.wav", "en/ivr/balance-is.wav"][..], &EN_1024_50, &["en/goodbye.wav"]].concat()
    );
    assert_eq!(c.hangup(), "NORMAL_CLEARING");
    c.expect("no-errors");
}

#[test]
fn balance_reads_a_negative_balance_in_mandarin() {
    // Eight digits: the most an account number may have.
    let c = call("balance.lua", &["zh"], &["wait 1000", "dtmf 20261123#", LAST_WAIT]);
    c.expect("collected=20261123");
    c.expect("var:balance=-12.30");
    // 负十二元三角
    let want = ["zh/say/fu.wav", "zh/say/shi.wav", "zh/digits/2.wav", "zh/say/yuan.wav", "zh/digits/3.wav"];
    assert_in_order(&c.played(), &[&want[..], &["zh/say/jiao.wav", "zh/goodbye.wav"]].concat());
}

#[test]
fn balance_rejects_malformed_account_numbers_and_reports_unknown_ones() {
    // 3 digits (too short), a star (not a digit), then a well-formed but unknown number.
    let c = call(
        "balance.lua",
        &[],
        &["wait 1000", "dtmf 123#", "wait 6000", "dtmf 12*4#", "wait 6000", "dtmf 4321#", LAST_WAIT],
    );
    c.expect("collected=123");
    c.expect("collected=12*4");
    c.expect("collected=4321");
    c.expect("var:account=4321");
    c.expect("var:balance_result=unknown-account");
    c.expect_not("var:account=123");
    c.expect_not("var:balance=1024.50");
    let p = c.played();
    assert_eq!(p.iter().filter(|f| **f == "en/invalid.wav").count(), 2, "{p:?}");
    assert_in_order(&p, &["en/ivr/no-account.wav", "en/goodbye.wav"]);
    assert!(!p.contains(&"en/ivr/balance-is.wav"), "{p:?}");
    assert_eq!(c.hangup(), "NORMAL_CLEARING");
}

#[test]
fn balance_gives_up_after_three_invalid_tries() {
    let c = call(
        "balance.lua",
        &[],
        &["wait 1000", "dtmf 1#", "wait 6000", "dtmf 22#", "wait 6000", "dtmf 333#", LAST_WAIT],
    );
    c.expect("var:balance_result=no-input");
    c.expect_not("var:account=333");
    let p = c.played();
    assert_eq!(p.iter().filter(|f| **f == "en/invalid.wav").count(), 3, "{p:?}");
    assert_eq!(p.last(), Some(&"en/goodbye.wav"));
    assert_eq!(c.hangup(), "NORMAL_CLEARING");
}

// ---------------------------------------------------------------- voicemail.lua

/// Goertzel power of `f` Hz in `x` (8 kHz), normalized so that a pure tone at `f`
/// gives about the signal's energy: the share of the energy at `f` is `power / energy`.
fn goertzel(x: &[f64], f: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * f / 8000.0;
    let k = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s = v + k * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - k * s1 * s2) * 2.0 / x.len() as f64
}

/// Seconds (in 100 ms blocks) where most of the energy is at `f`, and the share of
/// the whole recording's energy that is at `f`.
fn tone_content(samples: &[i16], f: f64) -> (f64, f64) {
    let (mut secs, mut at_f, mut total) = (0.0, 0.0, 0.0);
    for block in samples.chunks_exact(800) {
        let x: Vec<f64> = block.iter().map(|&s| f64::from(s)).collect();
        let energy: f64 = x.iter().map(|v| v * v).sum();
        let p = goertzel(&x, f).min(energy);
        total += energy;
        at_f += p;
        if energy > 800.0 * 100.0 * 100.0 && p > 0.8 * energy {
            secs += 0.1;
        }
    }
    (secs, if total > 0.0 { at_f / total } else { 0.0 })
}

#[test]
fn goertzel_helper_tells_tones_apart() {
    let tone = |f: f64| -> Vec<i16> {
        (0..16000).map(|i| (8000.0 * (2.0 * std::f64::consts::PI * f * i as f64 / 8000.0).sin()) as i16).collect()
    };
    let (secs, share) = tone_content(&tone(440.0), 440.0);
    assert!((secs - 2.0).abs() < 0.05 && share > 0.95, "{secs} {share}");
    let (secs, share) = tone_content(&tone(1000.0), 440.0);
    assert!(secs == 0.0 && share < 0.01, "{secs} {share}");
    assert_eq!(tone_content(&[0; 8000], 440.0), (0.0, 0.0));
}

fn recording(c: &Call) -> (PathBuf, Vec<i16>) {
    let what = c.whats().into_iter().find_map(|w| w.strip_prefix("recorded ")).map(str::to_string);
    let what = what.unwrap_or_else(|| panic!("nothing recorded:\n{}", c.text()));
    let (_, path) = what.split_once(' ').unwrap();
    let path = PathBuf::from(path);
    assert!(path.starts_with(c.dir.path().join("recordings")), "{}", path.display());
    let mut r = hound::WavReader::open(&path).unwrap();
    let spec = r.spec();
    assert_eq!((spec.sample_rate, spec.channels, spec.bits_per_sample), (8000, 1, 16), "{}", path.display());
    let samples = r.samples::<i16>().collect::<Result<Vec<_>, _>>().unwrap();
    (path, samples)
}

#[test]
fn voicemail_records_the_caller_until_hash() {
    let c = call("voicemail.lua", &[], &["wait 5000", "tone 440 2000", "dtmf #", LAST_WAIT]);
    c.expect("recorded");
    c.expect("event=voicemail.new");
    let progress = c.progress();
    assert!(progress.len() == 2 && progress[0] == "voicemail:", "{progress:?}");
    assert!(progress[1].starts_with("voicemail.saved:"), "{progress:?}");
    // The beep before recording is not a prompt file; the confirmation follows the recording.
    assert_eq!(c.played(), ["en/ivr/leave-message.wav", "en/ivr/message-saved.wav", "en/goodbye.wav"]);
    let (path, samples) = recording(&c);
    assert!(path.ends_with("voicemail/1000/13800138000-1.wav"), "{}", path.display());
    c.expect(&format!("var:voicemail_file={}", path.display()));
    let secs = samples.len() as f64 / 8000.0;
    // The 2 s tone plus the pause between the beep and the caller starting; # ends it
    // at once (3 s of silence would have taken longer).
    assert!((2.0..3.8).contains(&secs), "{secs} s");
    c.expect(&format!("var:voicemail_seconds={secs:.1}"));
    let (tone_secs, share) = tone_content(&samples, 440.0);
    assert!((1.7..=2.2).contains(&tone_secs), "440 Hz for {tone_secs} s");
    assert!(share > 0.8, "440 Hz has {share:.2} of the energy");
    for other in [350.0, 1000.0, 941.0, 1477.0] {
        let (_, s) = tone_content(&samples, other);
        assert!(s < 0.1, "{other} Hz has {s:.2} of the energy");
    }
    // # stopped the recording: the confirmation starts when the caller presses it.
    assert!((c.at("play en/ivr/message-saved.wav") - c.at("caller pressed #")).abs() < 0.1, "{}", c.text());
    assert_eq!(c.hangup(), "NORMAL_CLEARING");
}

#[test]
fn voicemail_stops_on_silence_in_mandarin() {
    let c = call("voicemail.lua", &["zh"], &["wait 5000", "tone 440 1500", LAST_WAIT]);
    c.expect("recorded");
    assert_eq!(c.played(), ["zh/ivr/leave-message.wav", "zh/ivr/message-saved.wav", "zh/goodbye.wav"]);
    let (_, samples) = recording(&c);
    let (tone_secs, _) = tone_content(&samples, 440.0);
    assert!((1.2..=1.7).contains(&tone_secs), "440 Hz for {tone_secs} s");
    // Ends 3 s after the caller fell silent, so it holds about 3 s of silence after the tone.
    let tail = samples.len() as f64 / 8000.0;
    assert!(tail > 1.5 + 2.8 && tail < 1.5 + 5.0, "{tail} s");
    assert_eq!(c.hangup(), "NORMAL_CLEARING");
}

#[test]
fn voicemail_with_nothing_said_is_not_kept_as_a_message() {
    // # right after the beep: a recording of well under a second.
    let c = call("voicemail.lua", &[], &["wait 4100", "dtmf #", LAST_WAIT]);
    c.expect_not("event=voicemail.new");
    assert!(c.progress().iter().any(|p| p.starts_with("voicemail.empty:")), "{:?}", c.progress());
    assert_eq!(c.played(), ["en/ivr/leave-message.wav", "en/ivr/not-understood.wav", "en/goodbye.wav"]);
}

// ---------------------------------------------------------------- fs_compat.lua

const FS_STEPS: [&str; 7] = ["wait 1000", "dtmf #", "wait 500", "dtmf 42#", "wait 4000", "tone 440 1000", LAST_WAIT];

#[test]
fn fs_compat_input_callback_breaks_playback_on_hash() {
    let c = call("fs_compat.lua", &[], &FS_STEPS);
    c.expect("log~on_input: digit # (welcome)");
    // welcome.wav is 4.7 s long: # ended it, and the menu started at once.
    let welcome = c.at("play en/welcome.wav");
    let hash = c.at("caller pressed #");
    let menu = c.at("play en/ivr/menu.wav");
    assert!(hash - welcome < 2.0 && (menu - hash).abs() < 0.1, "{}", c.text());
    // The # went to the callback, not into the digits playAndGetDigits collects.
    c.expect("collected=42");
}

#[test]
fn fs_compat_play_and_get_digits_records_and_hangs_up_busy() {
    let c = call("fs_compat.lua", &[], &FS_STEPS);
    c.expect("answered");
    c.expect("var:fs_demo_lang=en");
    c.expect("var:fs_digits=42");
    c.expect("log~playAndGetDigits: \"42\", fs_digits=42");
    c.expect("recorded");
    let (_, samples) = recording(&c);
    let (tone_secs, _) = tone_content(&samples, 440.0);
    assert!((0.7..=1.2).contains(&tone_secs), "440 Hz for {tone_secs} s");
    c.expect("event=demo::done");
    let ev = c.whats().into_iter().find(|w| w.starts_with("event demo::done ")).unwrap().to_string();
    assert!(ev.contains("caller=13800138000") && ev.contains("digits=42"), "{ev}");
    assert!(ev.contains("recording=fs_compat/"), "{ev}");
    assert_eq!(c.played().last(), Some(&"en/goodbye.wav"));
    assert_eq!(c.hangup(), "USER_BUSY");
    c.expect("cause=17");
}

#[test]
fn fs_compat_play_and_get_digits_retries_on_a_regex_mismatch() {
    let c =
        call("fs_compat.lua", &[], &["wait 1000", "dtmf #", "wait 500", "dtmf *#", "wait 3000", "dtmf 7#", LAST_WAIT]);
    c.expect("collected=*");
    c.expect("collected=7");
    c.expect("var:fs_digits=7");
    c.expect_not("var:fs_digits=*");
    assert_in_order(&c.played(), &["en/ivr/menu.wav", "en/invalid.wav", "en/ivr/menu.wav"]);
    assert_eq!(c.hangup(), "USER_BUSY");
}

/// The caller hangs up during the welcome prompt: nothing more is played or recorded,
/// while the script runs to its end as in FreeSWITCH (its event still reaches CTI).
#[test]
fn fs_compat_caller_hangs_up_early() {
    let c = call("fs_compat.lua", &[], &["wait 1000", "hangup"]);
    assert_eq!(c.played(), ["en/welcome.wav"]);
    assert_eq!(c.hangup(), "NORMAL_CLEARING");
    c.expect("event=demo::done");
    c.expect_not("recorded");
    assert!(c.at("hangup") - c.at("play en/welcome.wav") < 2.5, "{}", c.text());
}

/// FreeSWITCH runs the hangup hook whoever hangs up; its log line should be seen.
#[test]
fn fs_compat_hangup_hook_runs_when_the_caller_hangs_up() {
    let c = call("fs_compat.lua", &[], &["wait 1000", "hangup"]);
    c.expect("log~hook ran");
}

// ---------------------------------------------------------------- prompts

/// Prompt paths a script names: `P("x")` is `LANG/ivr/x.wav`, `lang .. "/x.wav"` is
/// `LANG/x.wav`, for both languages.
fn referenced_prompts(source: &str) -> Vec<String> {
    let p = regex::Regex::new(r#"\bP\("([\w-]+)"\)"#).unwrap();
    let lang = regex::Regex::new(r#"\blang \.\. "/([\w/-]+\.wav)""#).unwrap();
    let mut out = Vec::new();
    for l in ["en", "zh"] {
        out.extend(p.captures_iter(source).map(|c| format!("{l}/ivr/{}.wav", &c[1])));
        out.extend(lang.captures_iter(source).map(|c| format!("{l}/{}", &c[1])));
    }
    out
}

/// Sample rate, channels and format tag of a WAV file (hound does not read A-law).
fn wav_format(path: &Path) -> (u32, u16, u16) {
    let b = std::fs::read(path).unwrap();
    assert!(b.len() > 44 && &b[0..4] == b"RIFF" && &b[8..12] == b"WAVE" && &b[12..16] == b"fmt ", "{}", path.display());
    let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    (u32::from_le_bytes([b[24], b[25], b[26], b[27]]), u16_at(22), u16_at(20))
}

#[test]
fn every_prompt_the_examples_name_exists() {
    let mut all = Vec::new();
    for script in EXAMPLES {
        let source = std::fs::read_to_string(Path::new(SCRIPTS).join(script)).unwrap();
        let names = referenced_prompts(&source);
        assert!(names.len() >= 4, "{script}: found only {names:?}");
        all.extend(names);
    }
    for must in ["en/ivr/menu.wav", "zh/ivr/no-agent.wav", "en/ivr/leave-message.wav", "zh/goodbye.wav"] {
        assert!(all.iter().any(|n| n == must), "{must} not found by the scanner");
    }
    for name in &all {
        let path = Path::new(PROMPTS).join(name);
        assert!(path.is_file(), "{name} is referenced but missing");
        let (rate, channels, tag) = wav_format(&path);
        assert_eq!((rate, channels), (8000, 1), "{name}");
        assert!(tag == 1 || tag == 6, "{name}: format tag {tag} (want PCM or A-law)");
    }
}

#[test]
fn ivr_prompts_come_in_both_languages_and_stay_small() {
    let mut total = 0;
    for lang in ["en", "zh"] {
        let dir = Path::new(PROMPTS).join(lang).join("ivr");
        let mut names: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        let other = Path::new(PROMPTS).join(if lang == "en" { "zh" } else { "en" }).join("ivr");
        for n in &names {
            assert!(other.join(n).is_file(), "{lang}/ivr/{n} has no counterpart");
            total += std::fs::metadata(dir.join(n)).unwrap().len();
        }
        assert!(names.len() >= 8, "{names:?}");
    }
    assert!(total < 600_000, "the IVR prompts take {total} bytes");
}
