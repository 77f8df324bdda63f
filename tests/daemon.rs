//! The daemon as a sysadmin meets it: a real process, the control socket, SIGHUP
//! reload, and a graceful SIGINT with calls in progress. Runs in real time (a few
//! seconds), on the simulated backend.

// A real process in real time: waiting on it needs the clock.
#![allow(clippy::disallowed_methods)]
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_trunkd")
}

fn ctl(sock: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(bin()).arg("ctl").arg("-s").arg(sock).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill").arg(format!("-{sig}")).arg(child.id().to_string()).status().unwrap();
    assert!(ok.success());
}

#[test]
fn demo_serves_ctl_and_drains_on_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("trunkd.ctl");
    let mut child = Command::new(bin())
        .args(["demo", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("control socket", || sock.exists() && ctl(&sock, &["status"]).0);

    let (ok, spans) = ctl(&sock, &["spans"]);
    assert!(ok, "{spans}");
    for name in ["pri-1", "e1-1", "pstn", "phones"] {
        assert!(spans.contains(name), "{spans}");
    }
    // The PRI's D-channel comes up with the simulated carrier within a second or so.
    wait_for("PRI D-channel up", || ctl(&sock, &["spans"]).1.contains("pri te china: D-channel up"));
    let (_, chans) = ctl(&sock, &["channels"]);
    assert!(chans.contains("pri-1/16") && chans.contains("pri-1/1 "), "{chans}");
    // A sysadmin resets a B-channel; the simulated carrier acknowledges and it is idle again.
    let (ok, msg) = ctl(&sock, &["restart", "pri-1/30"]);
    assert!(ok && msg.contains("RESTART sent"), "{msg}");
    wait_for("channel restarted", || {
        ctl(&sock, &["channels"]).1.lines().any(|l| l.starts_with("pri-1/30 ") && l.contains("idle"))
    });
    let (ok, msg) = ctl(&sock, &["restart", "e1-1/1"]);
    assert!(!ok && msg.contains("no channel restart"), "{msg}");
    let (ok, chans) = ctl(&sock, &["channels"]);
    assert!(ok && chans.contains("e1-1/31") && chans.contains("phones/1"), "{chans}");
    assert!(!chans.contains("e1-1/16 "), "TS16 carries signalling, not a channel: {chans}");

    // Wait until the simulated carrier call is in the IVR, then look at it.
    wait_for("a call in progress", || ctl(&sock, &["calls"]).1.contains("e1-1/"));
    let (_, calls) = ctl(&sock, &["--json", "calls"]);
    assert!(calls.contains("\"direction\": \"inbound\""), "{calls}");
    assert!(!calls.contains("13800138000"), "caller numbers are masked: {calls}");
    let (ok, err) = ctl(&sock, &["hangup", "99999"]);
    assert!(!ok && err.contains("no call 99999"), "{err}");
    // A call whose script cannot start is refused, not placed to hear the fallback.
    let (ok, err) = ctl(&sock, &["originate", "pri-1", "100", "--script", "no-such.lua"]);
    assert!(!ok && err.contains("script cannot start") && err.contains("no-such.lua"), "{err}");

    // A recording is being written (the IVR answered) before we interrupt.
    let calls_dir = dir.path().join("recordings/calls");
    wait_for("a recording in progress", || std::fs::read_dir(&calls_dir).is_ok_and(|mut d| d.next().is_some()));

    // Ctrl-C: calls are cleared with a cause, recordings closed, the socket removed.
    signal(&child, "INT");
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "demo did not exit after SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert!(out.contains("cleared: NORMAL_TEMPORARY_FAILURE (41)"), "{out}");
    assert!(!sock.exists(), "socket removed");
    let mut n = 0;
    for e in std::fs::read_dir(&calls_dir).unwrap() {
        let p = e.unwrap().path();
        let r = hound::WavReader::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(r.duration() > 0, "{} has audio and a finalized header", p.display());
        n += 1;
    }
    assert!(n >= 1);
}

#[test]
fn run_reloads_routes_on_sighup_and_keeps_a_bad_config_out() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("t.ctl");
    let cfg_path = dir.path().join("trunkd.toml");
    let base = format!(
        "[general]\ndata_dir = {:?}\ncontrol_socket = {:?}\n\n[[line]]\nname = \"pstn\"\nbackend = \"sim\"\nkind = \"fxo\"\n",
        dir.path(),
        sock
    );
    std::fs::write(&cfg_path, format!("{base}\n[[route]]\nreject = \"USER_BUSY\"\n")).unwrap();
    // Play systemd: a notify socket and a watchdog.
    let notify_path = dir.path().join("notify");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    notify.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // systemd sets WATCHDOG_PID to the service's pid: a shell that execs trunkd keeps its pid.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("WATCHDOG_PID=$$ exec \"$0\" run --config \"$1\"")
        .arg(bin())
        .arg(&cfg_path)
        .env("NOTIFY_SOCKET", &notify_path)
        .env("WATCHDOG_USEC", "200000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("control socket", || sock.exists() && ctl(&sock, &["status"]).0);
    let mut seen = String::new();
    let mut buf = [0u8; 512];
    while !(seen.contains("READY=1") && seen.contains("WATCHDOG=1")) {
        let n = notify.recv(&mut buf).expect("READY and WATCHDOG within 10 s");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        seen.push('\n');
    }
    assert!(seen.contains("STATUS=spans up, 0 calls"), "{seen}");

    // A broken file is refused and the daemon keeps running on the old one.
    std::fs::write(&cfg_path, format!("{base}\n[[route]]\nrejekt = 1\n")).unwrap();
    let (ok, text) = ctl(&sock, &["reload"]);
    assert!(!ok && text.contains("rejekt"), "{text}");
    assert!(ctl(&sock, &["status"]).0);

    // A good one is taken, by ctl and by SIGHUP alike.
    std::fs::write(&cfg_path, format!("{base}\n[[route]]\napp = \"demo\"\n")).unwrap();
    let (ok, text) = ctl(&sock, &["reload"]);
    assert!(ok, "{text}");
    signal(&child, "HUP");
    std::thread::sleep(Duration::from_millis(200));
    assert!(ctl(&sock, &["status"]).0, "still running after SIGHUP");

    let (ok, _) = ctl(&sock, &["shutdown"]);
    assert!(ok);
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(t.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(child.wait().unwrap().success());
    notify.set_nonblocking(true).unwrap();
    while let Ok(n) = notify.recv(&mut buf) {
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(seen.contains("RELOADING=1") && seen.contains("STOPPING=1"), "{seen}");
}
