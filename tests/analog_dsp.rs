//! The analog DSP on the real loop-start stacks, end to end in virtual time: a simulated
//! central office (the FXS stack) sends caller ID as audio on the line, our FXO ports
//! decode it and offer the call with the number; our FXS ports send caller ID to the
//! simulated telephones (the FXO stack), which decode it; busy tone after the far end
//! hangs up clears the call; a fax machine's calling tone is reported on the call.

use std::time::Duration;
use trunkd::config::Config;
use trunkd::core::event::{CoreEvent, EventKind};
use trunkd::gateway::Gateway;
use trunkd::signalling::{Cause, Presentation};
use trunkd::time::Instant;

/// `co_fxs`: the simulated central office's caller ID (inline TOML for `fxs`).
/// `phones_fxs`: our phones' caller ID. `extra`: more TOML (callers, routes).
fn config(co_fxs: &str, phones_fxs: &str, pstn_fxo: &str, extra: &str) -> Config {
    let text = format!(
        r#"
[general]
zone = "cn"

[[line]]
name = "pstn"
backend = "sim"
kind = "fxo"
ports = 1
fxo = {{ {pstn_fxo} }}
fxs = {{ {co_fxs} }}

[[line]]
name = "phones"
backend = "sim"
kind = "fxs"
ports = 1
fxs = {{ {phones_fxs} }}

{extra}

[sim]
answer_after_ms = 3000
"#
    );
    let mut cfg: Config = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let dir = tempfile::tempdir().unwrap().keep();
    cfg.general.data_dir = dir.clone();
    cfg.general.control_socket = dir.join("ctl");
    let errors = cfg.validate();
    assert!(errors.is_empty(), "{errors:?}");
    cfg
}

fn co_call(caller: &str, steps: &str) -> String {
    format!("[[sim.caller]]\nvia = \"pstn\"\nat_ms = 500\ncaller = \"{caller}\"\nsteps = [{steps}]\n")
}

struct Run {
    near: Vec<CoreEvent>,
    far: Vec<CoreEvent>,
}

fn run(cfg: &Config, seconds: u64) -> Run {
    let mut gw = Gateway::build(cfg).unwrap();
    // 2026-11-23 09:05 UTC at t=0: the date and time caller ID carries.
    gw.set_wall_clock(Instant::ZERO, 1_795_424_700, 0);
    let (mut near, mut far) = (Vec::new(), Vec::new());
    let mut now = Instant::ZERO;
    for _ in 0..seconds * 50 {
        now += Duration::from_millis(20);
        gw.step(now);
        near.extend(gw.engine.drain_events());
        far.extend(gw.far.as_mut().unwrap().drain_events());
    }
    Run { near, far }
}

fn offered(evs: &[CoreEvent], device: &str) -> Vec<(u64, trunkd::signalling::Party)> {
    evs.iter()
        .filter(|e| e.device == device)
        .filter_map(|e| match &e.kind {
            EventKind::Offered { caller, .. } => Some((e.at.as_millis(), caller.clone())),
            _ => None,
        })
        .collect()
}

fn cid_formats(evs: &[CoreEvent], device: &str) -> Vec<String> {
    evs.iter()
        .filter(|e| e.device == device)
        .filter_map(|e| match &e.kind {
            EventKind::CallerId { format } => Some(format.clone()),
            _ => None,
        })
        .collect()
}

const ROUTE_IVR: &str = "[[route]]\nfrom = \"pstn\"\napp = \"demo\"\n";

#[test]
fn every_caller_id_format_from_the_co_reaches_the_offer() {
    for (format, when) in [
        ("etsi", "after-first-ring"),
        ("etsi", "polarity"),
        ("etsi-bell202", "after-first-ring"),
        ("bell202-sdmf", "after-first-ring"),
        ("bell202-mdmf", "after-first-ring"),
        ("dtmf", "before-ring"),
        ("dtmf", "after-first-ring"),
    ] {
        let co = format!("caller_id = {{ format = \"{format}\" }}, caller_id_when = \"{when}\"");
        let extra = format!("{ROUTE_IVR}{}", co_call("13912345678", "\"wait 2000\", \"hangup\""));
        let r = run(&config(&co, "", "", &extra), 20);
        let offers = offered(&r.near, "pstn/0");
        assert_eq!(offers.len(), 1, "{format} {when}: {offers:?}");
        assert_eq!(offers[0].1.number.reveal(), "13912345678", "{format} {when}");
        // ETSI messages on Bell 202 are MDMF on Bell 202: `auto` cannot tell them apart.
        let heard = if format == "etsi-bell202" { "bell202-mdmf" } else { format };
        assert_eq!(cid_formats(&r.near, "pstn/0"), vec![heard.to_string()], "{format} {when}");
        // Cadence cn: 1 s ring, 4 s pause. Before-ring caller ID is in at the end of the
        // first ring; FSK in the pause after it ends well before the second ring at 5.5 s.
        assert!(offers[0].0 < 5_000, "{format} {when}: offered at {} ms", offers[0].0);
    }
}

#[test]
fn a_withheld_number_is_offered_as_restricted_and_a_line_without_caller_id_still_rings_in() {
    let co = "caller_id = { format = \"etsi\" }";
    let extra = format!("{ROUTE_IVR}{}", co_call("13912345678", "\"wait 2000\", \"hangup\""));
    let mut cfg = config(co, "", "", &extra);
    // The CO withholds the number: the far end's call is presented as restricted.
    cfg.sim.callers[0].caller = String::new();
    let r = run(&cfg, 20);
    let offers = offered(&r.near, "pstn/0");
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].1.presentation, Presentation::Unavailable);
    assert_eq!(offers[0].1.number.reveal(), "");

    // No caller ID from the CO: the offer waits for the second ring (5 s), no longer.
    let r = run(&config("", "", "", &extra), 20);
    let offers = offered(&r.near, "pstn/0");
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].1.number.reveal(), "");
    assert!((5_400..6_000).contains(&offers[0].0), "offered at {} ms", offers[0].0);
}

#[test]
fn caller_id_crosses_the_gateway_co_to_fxo_to_fxs_to_the_phone() {
    // The CO sends V.23 FSK to our FXO; the call goes to our phone, which gets DTMF caller
    // ID before its first ring; the simulated telephone decodes it.
    let extra = format!(
        "[[route]]\nfrom = \"pstn\"\ndial = \"phones\"\n{}",
        co_call("13912345678", "\"wait 3000\", \"hangup\"")
    );
    let cfg = config("caller_id = { format = \"etsi\" }", "caller_id = { format = \"dtmf\" }", "", &extra);
    let r = run(&cfg, 30);
    assert_eq!(offered(&r.near, "pstn/0").first().map(|o| o.1.number.reveal().clone()).as_deref(), Some("13912345678"));
    let phone = offered(&r.far, "phones/0");
    assert_eq!(phone.len(), 1, "the phone rang once: {phone:?}");
    assert_eq!(phone[0].1.number.reveal(), "13912345678");
    assert_eq!(cid_formats(&r.far, "phones/0"), vec!["dtmf".to_string()]);
}

#[test]
fn busy_tone_after_the_far_end_hangs_up_clears_the_fxo_call() {
    // The CO neither drops battery nor reverses polarity: only the busy tone tells.
    let co = "disconnect = \"none\", clear_tone = \"busy\"";
    let extra = format!("{ROUTE_IVR}{}", co_call("5551234", "\"wait 3000\", \"hangup\""));
    let r = run(&config(co, "", "", &extra), 40);
    let far_hangup = r
        .far
        .iter()
        .find(|e| matches!(e.kind, EventKind::Ended { .. }))
        .map(|e| e.at.as_millis())
        .expect("the CO's caller hung up");
    let (at, cause) = r
        .near
        .iter()
        .find_map(|e| match e.kind {
            EventKind::Ended { cause, .. } if e.device == "pstn/0" => Some((e.at.as_millis(), cause)),
            _ => None,
        })
        .expect("our call ended");
    assert_eq!(cause, Cause::NormalClearing);
    // cn busy: 350 ms on / 350 ms off; a couple of cycles to be sure.
    assert!(at > far_hangup && at < far_hangup + 3_500, "cleared {} ms after the far end", at - far_hangup);

    // Without call-progress supervision the call stays up (the IVR is still talking).
    let r = run(&config(co, "", "call_progress = false", &extra), 12);
    assert!(!r.near.iter().any(|e| matches!(e.kind, EventKind::Ended { .. }) && e.device == "pstn/0"));
}

#[test]
fn a_fax_machines_calling_tone_is_reported_on_the_call() {
    let steps = "\"wait 1000\", \"tone 1100 500\", \"wait 3000\", \"tone 1100 500\", \"wait 2000\", \"hangup\"";
    let extra = format!("{ROUTE_IVR}{}", co_call("5551234", steps));
    let r = run(&config("", "", "", &extra), 25);
    let tones: Vec<&str> = r
        .near
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ToneDetected { tone } => Some(tone.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(tones, vec!["cng"]);
}
