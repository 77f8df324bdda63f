//! Every shipped config loads; bad configs are refused with every problem and its place.

use std::path::PathBuf;
use std::process::Command;
use trunkd::config::Config;
use trunkd::gateway::Gateway;

fn examples() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    assert!(v.len() >= 2, "examples/ holds the demo and the site config");
    v
}

#[test]
fn every_shipped_config_loads_and_builds() {
    for p in examples() {
        // The demo config names scripts that `trunkd demo` installs first.
        if p.ends_with("demo.toml") {
            let dir = tempfile::tempdir().unwrap();
            let cfg = trunkd::demo::config(dir.path()).unwrap();
            Gateway::build(&cfg).unwrap();
            continue;
        }
        let mut cfg = Config::load(&p).unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap();
        cfg.general.data_dir = dir.path().into();
        Gateway::build(&cfg).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    // The embedded demo config is the shipped one.
    assert_eq!(trunkd::config::DEMO_CONFIG, std::fs::read_to_string("examples/demo.toml").unwrap());
}

#[test]
fn an_unknown_key_in_any_table_is_an_error_with_its_line() {
    for p in examples() {
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // After every table header, inject a misspelt key; each must be refused at that line.
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim();
            if !t.starts_with('[') || t.contains('=') {
                continue;
            }
            let mut bad = lines.clone();
            bad.insert(i + 1, "no_such_key = 1");
            let err = Config::parse(&bad.join("\n"), "x").expect_err(t).to_string();
            assert!(err.contains(&format!("line {}", i + 2)), "{t}: {err}");
            assert!(err.contains("no_such_key"), "{err}");
        }
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = r#"
[general]
zone = "mars"
[[span]]
name = "e1 1"
backend = "sim"
signalling = "em"
[[line]]
name = "x"
backend = "sim"
kind = "fxs"
ports = 0
fxs = { flash_max_ms = 50 }
[[route]]
called = "_8Q"
app = "nope"
dial = "zzz"
[[route]]
reject = "NOT_A_CAUSE"
[[sim.caller]]
via = "nowhere"
steps = ["dance"]
"#;
    let errs = match Config::parse(text, "") {
        Err(e) => e.errors,
        Ok(_) => panic!("accepted"),
    };
    let locs: Vec<&str> = errs.iter().map(|e| e.location.as_str()).collect();
    for want in [
        "general.zone",
        "span[0].name",
        "line[0].ports",
        "line[0].fxs",
        "route[0]",
        "route[0].called",
        "route[0].app",
        "route[0].dial",
        "route[1].reject",
        "sim.caller[0].via",
        "sim.caller[0].steps[0]",
    ] {
        assert!(locs.contains(&want), "missing {want} in {errs:?}");
    }
}

#[test]
fn dahdi_spans_and_lines_say_which_hardware_they_are() {
    let text = r#"
[[span]]
name = "pri-1"
backend = "dahdi"
signalling = "pri"
[[span]]
name = "pri-2"
backend = "sim"
signalling = "pri"
dahdi = { span = 2 }
[[span]]
name = "pri-3"
backend = "dahdi"
signalling = "pri"
dahdi = { span = 0 }
[[line]]
name = "fxs-1"
backend = "dahdi"
kind = "fxs"
ports = 3
dahdi = { channels = "1-4" }
[[line]]
name = "fxo-1"
backend = "dahdi"
kind = "fxo"
"#;
    let errs = match Config::parse(text, "") {
        Err(e) => e.errors,
        Ok(_) => panic!("accepted"),
    };
    let locs: Vec<&str> = errs.iter().map(|e| e.location.as_str()).collect();
    for want in ["span[0].dahdi", "span[1].dahdi", "span[2].dahdi.span", "line[0].ports", "line[1].dahdi"] {
        assert!(locs.contains(&want), "{want} missing in {locs:?}");
    }
    // Channel lists as system.conf writes them; each channel once.
    let ok = r#"
[[line]]
name = "fxs-1"
backend = "dahdi"
kind = "fxs"
dahdi = { channels = "1-4, 7,9-10", echo_cancel = 128 }
"#;
    let cfg = Config::parse(ok, "").map_err(|e| e.errors).expect("valid");
    assert_eq!(cfg.lines[0].port_count(), 7);
    for bad in ["4-1", "1,1", "0", "x", "", "1-70000"] {
        let text = ok.replace("1-4, 7,9-10", bad);
        assert!(Config::parse(&text, "").is_err(), "channels = {bad:?} accepted");
    }
}

#[test]
fn a_value_serde_rejects_points_at_its_place() {
    let text = "[[span]]\nname = \"e1\"\nbackend = \"sim\"\nsignalling = \"em\"\nem = { offhook_bits = \"1102\" }\n";
    let e = Config::parse(text, "").expect_err("bad ABCD");
    assert_eq!(e.errors.len(), 1);
    assert_eq!(e.errors[0].location, "line 5, column 23");
    assert!(e.errors[0].message.contains("1102"), "{e}");
}

#[test]
fn check_command_exit_codes() {
    let bin = env!("CARGO_BIN_EXE_trunkd");
    let ok = Command::new(bin).args(["check", "--config", "examples/trunkd.toml"]).output().unwrap();
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("OK"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[general]\nzoen = \"cn\"\n").unwrap();
    let out = Command::new(bin).args(["check", "--config"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(64), "EX_USAGE");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2, column 1") && err.contains("zoen"), "{err}");

    // `run` refuses the same file before starting anything.
    let out = Command::new(bin).args(["run", "--config"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    let missing = Command::new(bin).args(["check", "--config", "/nonexistent/trunkd.toml"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(64));
}

#[test]
fn check_compiles_the_scripts_routes_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.lua"), "call:answer()\nif then\n").unwrap();
    std::fs::write(dir.path().join("good.lua"), "call:answer()\n").unwrap();
    let cfg = |script: &str| format!("[ivr]\nscripts_dir = {:?}\n\n[[route]]\nscript = \"{script}\"\n", dir.path());
    let e = Config::parse(&cfg("bad.lua"), "").expect_err("a syntax error is a config error");
    assert_eq!(e.errors[0].location, "route[0].script");
    assert!(e.errors[0].message.contains("bad.lua:2"), "{e}");
    let e = Config::parse(&cfg("missing.lua"), "").expect_err("a missing script");
    assert!(e.errors[0].message.contains("missing.lua"), "{e}");
    let e = Config::parse(&cfg("../etc/passwd"), "").expect_err("scripts stay in their directory");
    assert!(e.errors[0].message.contains("inside the scripts directory"), "{e}");
    assert!(Config::parse(&cfg("good.lua"), "").is_ok());
}

#[test]
fn the_shipped_crm_config_loads_and_refuses_unknown_keys() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/crm/crm.toml");
    let cfg = trunkd::crm::CrmConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.gateway.len(), 1);
    assert_eq!(cfg.listen.port(), 8780);
    let text = std::fs::read_to_string(&path).unwrap();
    let bad = text.replace("lookup = true", "lookup = true\nlookups = false");
    let err = trunkd::crm::CrmConfig::parse(&bad).unwrap_err();
    assert!(err.contains("lookups"), "{err}");
    let bad = text.replace("ws://127.0.0.1", "http://127.0.0.1");
    assert!(trunkd::crm::CrmConfig::parse(&bad).unwrap_err().contains("ws://"));
    let bad = text.replace("ws://127.0.0.1", "wss://127.0.0.1");
    assert!(trunkd::crm::CrmConfig::parse(&bad).unwrap_err().contains("TLS"));
    let ok = Command::new(env!("CARGO_BIN_EXE_trunkd")).args(["crm", "check", "--config"]).arg(&path).output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
}

#[test]
fn crm_add_user_reads_the_password_from_stdin() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("crm.toml");
    std::fs::write(&cfg, format!("listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n", dir.path())).unwrap();
    let add = |login: &str, role: &str, pw: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_trunkd"))
            .args(["crm", "add-user", "--config"])
            .arg(&cfg)
            .args([login, "--role", role, "--contact", "phones/1"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // A child that refuses before reading closes the pipe: its status and output say why.
        let _ = child.stdin.take().unwrap().write_all(pw.as_bytes());
        let out = child.wait_with_output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
    };
    let (ok, out) = add("lili", "supervisor", "s3cret\n");
    assert!(ok && out.contains("lili (supervisor) created"), "{out}");
    assert!(dir.path().join("crm.sqlite").exists());
    let (ok, out) = add("lili", "agent", "other\n");
    assert!(!ok, "a login exists once: {out}");
    let (ok, out) = add("mei", "boss", "x\n");
    assert!(!ok && out.contains("--role"), "{out}");
    let (ok, out) = add("mei", "agent", "\n");
    assert!(!ok && out.contains("password"), "{out}");
}
