//! Bad scripts are harmless: each is stopped with a clear error naming file and line,
//! the caller hears the fallback announcement, the call is cleared, and the next call
//! (in the same process) runs normally.

use std::path::PathBuf;
use std::time::Duration;
use trunkd::core::apps::CallerStep;
use trunkd::ivr::runner::{run, TestCall, Transcript};

fn run_script(name: &str, source: &str) -> (Transcript, tempfile::TempDir) {
    // A tenth of the default budget: the endless loops hit it sooner.
    run_with(name, source, trunkd::config::IvrConfig { instruction_limit: 2_000_000, ..Default::default() })
}

fn run_with(name: &str, source: &str, ivr: trunkd::config::IvrConfig) -> (Transcript, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join(name);
    std::fs::write(&script, source).unwrap();
    let t = TestCall {
        script,
        args: vec![],
        caller: "13800138000".into(),
        called: "1000".into(),
        steps: vec![CallerStep::parse("wait 60000").unwrap()],
        prompts_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts")),
        data_dir: dir.path().join("data"),
        ivr,
        zone: "cn".into(),
        max: Duration::from_secs(120),
    };
    (run(&t).unwrap(), dir)
}

/// The script failed safely: error logged with `file:line`, fallback played, call cleared
/// with NORMAL_TEMPORARY_FAILURE, well before the runner's time limit.
fn assert_contained(t: &Transcript, file_line: &str, what: &str) {
    let lines = t.lines().join("\n");
    assert!(!t.timed_out, "{lines}");
    assert!(t.expect(&format!("log~{file_line}")).unwrap(), "error names {file_line}: {lines}");
    assert!(t.expect(&format!("log~{what}")).unwrap(), "error says {what}: {lines}");
    assert!(t.expect("played=en/sorry.wav").unwrap(), "fallback announcement: {lines}");
    assert!(t.expect("cause=NORMAL_TEMPORARY_FAILURE").unwrap(), "{lines}");
}

#[test]
fn an_endless_loop_is_stopped() {
    let (t, _d) = run_script("loop.lua", "call:answer()\nlocal n = 0\nwhile true do n = n + 1 end\n");
    assert_contained(&t, "loop.lua:3", "instruction limit");
    assert!(t.expect("log~more than 2000000 instructions").unwrap());
}

#[test]
fn an_endless_loop_inside_pcall_is_stopped_too() {
    let src = "call:answer()\nwhile true do\n  pcall(function() while true do end end)\nend\n";
    let (t, _d) = run_script("pcall.lua", src);
    assert_contained(&t, "pcall.lua:", "instruction limit");
}

#[test]
fn a_memory_bomb_is_stopped() {
    let (t, _d) = run_script("bomb.lua", "call:answer()\nlocal s = 'x'\nwhile true do s = s .. s end\n");
    assert_contained(&t, "bomb.lua:3", "memory");
}

#[test]
fn no_os_no_io_no_require_no_bytecode() {
    let marker = std::env::temp_dir().join(format!("trunkd-sandbox-{}", std::process::id()));
    let src = format!("call:answer()\nos.execute('touch {}')\n", marker.display());
    let (t, _d) = run_script("os.lua", &src);
    assert_contained(&t, "os.lua:2", "os");
    assert!(!marker.exists(), "nothing ran");

    let (t, _d) = run_script("io.lua", "call:answer()\nlocal f = io.open('/etc/passwd')\n");
    assert_contained(&t, "io.lua:2", "io");

    let (t, _d) = run_script("req.lua", "call:answer()\nlocal m = require('os')\n");
    assert_contained(&t, "req.lua:2", "require");

    // Bytecode can't be made (string.dump is gone) nor loaded (load is text-only).
    let src = "call:answer()\nassert(string.dump == nil)\nlocal f, err = load('\\27Lua\\84\\0')\nerror(err)\n";
    let (t, _d) = run_script("bc.lua", src);
    assert_contained(&t, "bc.lua:4", "binary chunk");
}

#[test]
fn deep_recursion_is_stopped() {
    let src = "call:answer()\nlocal function f(n) return 1 + f(n + 1) end\nf(1)\n";
    let (t, _d) = run_script("deep.lua", src);
    let lines = t.lines().join("\n");
    assert!(t.expect("log~deep.lua:2").unwrap(), "{lines}");
    assert!(t.expect("cause=NORMAL_TEMPORARY_FAILURE").unwrap(), "{lines}");
}

#[test]
fn a_syntax_error_is_reported_with_its_line_and_the_caller_hears_the_fallback() {
    let (t, _d) = run_script("syntax.lua", "call:answer()\nif then\n");
    assert_contained(&t, "syntax.lua:2", "near 'then'");
}

#[test]
fn a_runtime_error_after_answer_and_a_bad_cause_are_contained() {
    let (t, _d) = run_script("nil.lua", "call:answer()\ncall:play('en/goodbye.wav')\nlocal x = nil\nprint(x.y)\n");
    assert_contained(&t, "nil.lua:4", "attempt to index");
    assert!(t.expect("played=en/goodbye.wav").unwrap(), "ran until the error");

    let (t, _d) = run_script("cause.lua", "call:answer()\ncall:hangup('NOT_A_CAUSE')\n");
    assert_contained(&t, "cause.lua:2", "unknown hangup cause");
}

#[test]
fn after_a_bad_script_the_next_call_runs_normally() {
    let (bad, _d1) = run_script("loop.lua", "call:answer()\nwhile true do end\n");
    assert!(bad.expect("log~instruction limit").unwrap());
    let (good, _d2) = run_script("ok.lua", "call:answer()\ncall:set('ok', 'yes')\ncall:hangup('USER_BUSY')\n");
    assert!(good.expect("var:ok=yes").unwrap());
    assert!(good.expect("cause=USER_BUSY").unwrap());
    assert!(good.expect("no-errors").unwrap(), "{:?}", good.lines());
}

#[test]
fn even_with_os_allowed_a_script_cannot_exit_the_daemon() {
    let src = "call:answer()\ncall:set('clock', type(os.time()))\nos.exit(1)\n";
    let (t, _d) = run_with("exit.lua", src, trunkd::config::IvrConfig { allow_os: true, ..Default::default() });
    assert!(t.expect("var:clock=number").unwrap(), "os is there: {:?}", t.lines());
    assert_contained(&t, "exit.lua:3", "exit");
}
