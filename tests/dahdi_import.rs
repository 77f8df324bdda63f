//! `trunkd dahdi import` on system.conf files like the ones Asterisk sites have: what it
//! prints must be a configuration trunkd accepts, with the spans, lines and channels the
//! card really has; what it cannot carry over is warned about with the line.
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Command;

use trunkd::config::{Config, LineKind, SpanSignalling};
use trunkd::signalling::pri::Side;

struct Import {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(file: &Path) -> Import {
    let out = Command::new(env!("CARGO_BIN_EXE_trunkd")).args(["dahdi", "import"]).arg(file).output().unwrap();
    Import {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dahdi").join(name)
}

/// Imports a sample; the output must parse and validate.
fn import(name: &str) -> (Config, Import) {
    let r = run(&sample(name));
    assert!(r.ok, "{name}: {}", r.stderr);
    let cfg: Config = toml::from_str(&r.stdout).unwrap_or_else(|e| panic!("{name}: {e}\n{}", r.stdout));
    let errors = cfg.validate();
    assert!(errors.is_empty(), "{name}: {errors:?}\n{}", r.stdout);
    (cfg, r)
}

/// (name, DAHDI span, echo taps) of each span.
fn spans(cfg: &Config) -> Vec<(String, u32, Option<u32>)> {
    cfg.spans
        .iter()
        .map(|s| {
            let d = s.dahdi.as_ref().expect("a DAHDI span");
            (s.name.clone(), d.span, d.echo_cancel)
        })
        .collect()
}

/// (name, kind, channels, echo taps) of each line.
fn lines(cfg: &Config) -> Vec<(String, LineKind, Vec<u32>, Option<u32>)> {
    cfg.lines
        .iter()
        .map(|l| {
            let d = l.dahdi.as_ref().expect("a DAHDI line");
            (l.name.clone(), l.kind, d.channels.0.clone(), d.echo_cancel)
        })
        .collect()
}

#[test]
fn a_two_span_pri_card_with_analog_ports() {
    let (cfg, r) = import("pri-analog.conf");
    assert_eq!(r.stderr, "", "no warnings expected");
    assert!(r.stdout.starts_with("# Imported from "), "{}", r.stdout);
    assert_eq!(cfg.general.zone, "cn");
    assert_eq!(spans(&cfg), vec![("pri-1".into(), 1, Some(128)), ("pri-2".into(), 2, Some(128))]);
    for s in &cfg.spans {
        assert_eq!(s.signalling, SpanSignalling::Pri);
        assert_eq!(s.pri.side, Side::Te);
        assert_eq!(s.pri.switch, "china");
    }
    assert_eq!(
        lines(&cfg),
        vec![
            ("fxs-1".into(), LineKind::Fxs, vec![63, 64, 65, 66], Some(128)),
            ("fxo-1".into(), LineKind::Fxo, vec![67, 68, 69, 70], Some(128)),
        ]
    );
    // The guess about the PRI side is flagged where it is made.
    assert_eq!(r.stdout.matches("check: te faces a carrier, nt faces a PBX").count(), 2, "{}", r.stdout);
}

#[test]
fn a_cas_card_becomes_em_and_r2_is_not_faked() {
    let (cfg, r) = import("cas.conf");
    assert_eq!(cfg.general.zone, "uk");
    // Span 3 runs MFC/R2: no span is made for it rather than a wrong E&M one.
    assert_eq!(spans(&cfg), vec![("e1-1".into(), 1, Some(128)), ("e1-2".into(), 2, None)]);
    assert!(cfg.spans.iter().all(|s| s.signalling == SpanSignalling::Em));
    assert_eq!(cfg.spans[0].em.onhook_bits.to_string(), "0001");
    assert_eq!(cfg.spans[1].em.onhook_bits.to_string(), "0101");
    assert!(cfg.lines.is_empty());
    let file = sample("cas.conf").display().to_string();
    assert!(r.stderr.contains(&format!("{file}:8: warning: span 2: idle bits 1101 are MFC/R2's")), "{}", r.stderr);
    assert!(r.stderr.contains(&format!("{file}:11: warning: span 3 runs MFC/R2")), "{}", r.stderr);
    assert!(r.stdout.contains("# WARNING line 11: span 3 runs MFC/R2"), "{}", r.stdout);
    assert!(!r.stdout.contains("name = \"e1-3\""));
}

#[test]
fn a_t1_span_and_unknown_keys_are_warned_about() {
    let (cfg, r) = import("t1-unknown.conf");
    // The T1 takes channels 1-24, so the E1 starts at 25 and the analog ports at 56.
    assert_eq!(spans(&cfg), vec![("pri-2".into(), 2, None)]);
    assert_eq!(
        lines(&cfg),
        vec![
            ("fxs-1".into(), LineKind::Fxs, vec![56, 57, 58, 59], None),
            ("fxo-1".into(), LineKind::Fxo, vec![60], None)
        ]
    );
    assert_eq!(cfg.general.zone, "cn", "fr is not built in: the default stays");
    let file = sample("t1-unknown.conf").display().to_string();
    for (line, what) in [
        (3, "span 1 is a T1"),
        (12, "ground start"),
        (14, "`txgain=`"),
        (15, "unknown keyword `frobnicate`"),
        (17, "tone zone `fr` is not built into trunkd"),
        (18, "dahdi_dynamic span"),
    ] {
        let want = format!("{file}:{line}: warning: ");
        assert!(r.stderr.lines().any(|l| l.starts_with(&want) && l.contains(what)), "{line} {what}:\n{}", r.stderr);
        assert!(r.stdout.contains(&format!("# WARNING line {line}: ")), "{line}:\n{}", r.stdout);
    }
}

#[test]
fn a_parse_error_exits_1_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("system.conf");
    std::fs::write(&bad, "span=1,1,0,ccs,hdb3\nbchan=1-15,17-31\n# comment\nfxoks=31\n").unwrap();
    let r = run(&bad);
    assert_eq!(r.code, Some(1));
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr.trim(),
        format!("{}:4: channel 31 is already configured as bchan at line 2", bad.display()),
        "{}",
        r.stderr
    );
    let r = run(&dir.path().join("missing.conf"));
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("missing.conf"), "{}", r.stderr);
}
