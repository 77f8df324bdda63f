//! Every API call through `trunkd ivr test`'s runner, in virtual time, asserting the
//! transcript: the native `call` API (tests/ivr/api.lua) and the FreeSWITCH mapping
//! beyond the example script (tests/ivr/fs_api.lua).

use std::path::PathBuf;
use std::time::Duration;
use trunkd::core::apps::CallerStep;
use trunkd::ivr::runner::{run, TestCall, Transcript};

fn run_test(script: &str, args: &[&str], steps: &[&str]) -> (Transcript, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let t = TestCall {
        script: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ivr")).join(script),
        args: args.iter().map(|s| s.to_string()).collect(),
        caller: "13800138000".into(),
        called: "1000".into(),
        steps: steps.iter().map(|s| CallerStep::parse(s).unwrap()).collect(),
        prompts_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts")),
        data_dir: dir.path().into(),
        ivr: Default::default(),
        zone: "cn".into(),
        max: Duration::from_secs(300),
    };
    (run(&t).unwrap(), dir)
}

fn expect_all(t: &Transcript, exps: &[&str]) {
    let text = t.lines().join("\n");
    for e in exps {
        assert!(t.expect(e).unwrap(), "expected {e}\n{text}");
    }
}

#[test]
fn the_native_api() {
    let steps = [
        "wait 1500",
        "dtmf 5",
        "wait 300",
        "dtmf 12#",
        "wait 1000",
        "dtmf 00#",
        "wait 2500",
        "dtmf 77#",
        "wait 20000",
        "tone 500 1000",
        "wait 30000",
        "hangup",
    ];
    let (t, _d) = run_test("api.lua", &[], &steps);
    expect_all(
        &t,
        &[
            "var:who=13800138000/1000/allowed/test/0",
            "played=Beep tone 200ms, silence 100ms, 440 Hz tone 200ms, DTMF 12",
            "var:interrupted=5",
            // The interrupting 5 stays for the collection, which stops at max=3.
            "var:collected=512|nil|false",
            "var:asked=77",
            "played=en/digits/1.wav, en/say/thousand.wav, en/say/20.wav, en/digits/4.wav",
            "played=zh/digits/1.wav, zh/digits/2.wav, zh/say/jinghao.wav",
            "played=zh/say/shi.wav, zh/digits/2.wav, zh/say/yuan.wav, zh/digits/5.wav, zh/say/jiao.wav",
            "played=en/say/month/november.wav",
            "played=en/digits/2.wav, en/say/oh.wav, en/digits/5.wav, en/say/pm.wav",
            "var:rec=yes",
            "recorded",
            "var:lookup=nil|no caller lookup was made for this call",
            "event=api.done",
            "log~all done",
            "no-errors",
        ],
    );
    let text = t.lines().join("\n");
    // "00" was refused by the validator and the invalid prompt played, then 77 accepted.
    assert!(text.contains("collected \"00\""), "{text}");
    // The bridge rang a phone on the `phones` group, which answered: both legs bridged.
    assert!(text.contains("[call ") && text.contains("bridged with call"), "{text}");
    // The caller hung up during the bridge: the script's cleanup still ran (set, log, emit).
    assert!(t.expect("var:bridge=false|NORMAL_CLEARING").unwrap(), "{text}");
}

#[test]
fn the_freeswitch_mapping() {
    let steps =
        ["wait 1500", "dtmf 42", "wait 1500", "dtmf 7#", "wait 1500", "dtmf 9", "wait 300", "dtmf 1", "wait 30000"];
    let (t, _d) = run_test("fs_api.lua", &["first"], &steps);
    expect_all(
        &t,
        &[
            "var:state=CS_EXECUTE",
            "var:via_execute=yes",
            "played=silence 200ms",
            "played=440+480 Hz tone 200ms, silence 100ms",
            "var:getdigits=42",
            "var:read=7",
            "var:uuid_ok=yes",
            "var:caller=13800138000",
            "var:dest=1000",
            "var:argv1=first",
            "var:api=trunkd 0.1.0",
            "var:phrase=refused",
            "var:conference=refused",
            "var:originate=refused",
            // 9 turned the volume up and playback went on; 1 broke out of it.
            "var:cb=dtmf:1:A",
            "log~end of script",
            "no-errors",
        ],
    );
    // The callback ran at each digit (not when the prompt ended): 9 first, during playback.
    let text0 = t.lines().join("\n");
    let nine = text0.lines().position(|l| l.contains("set cb = dtmf:9:A")).expect("callback for 9");
    let one = text0.lines().position(|l| l.contains("caller pressed 1")).unwrap();
    assert!(nine < one, "{text0}");
    // setAutoHangup(false): the script ended, the call stays up until the caller leaves.
    let text = t.lines().join("\n");
    let end = text.lines().position(|l| l.contains("end of script")).unwrap();
    let hangup = text.lines().position(|l| l.contains("hangup")).unwrap();
    assert!(hangup > end, "{text}");
    assert!(t.expect("cause=NORMAL_CLEARING").unwrap());
}
