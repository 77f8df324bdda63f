//! Routing plugins end to end: the example plugins (C and Rust) built from plugins/,
//! loaded in `trunkd plugin-host` processes, routing simulated calls; deliberately bad
//! plugins (crash, hang, garbage, wrong ABI, NULLs, failing init, a Rust panic) costing
//! only their opinion; `trunkd plugin check`; path permission checks; reload.
//!
//! Real time: plugins run in other processes, so these tests wait on the wall clock.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use trunkd::config::Config;
use trunkd::core::event::EventKind;
use trunkd::core::router::{Advice, RouteAdvisor, RouteQuery};
use trunkd::gateway::Gateway;
use trunkd::plugin::chain::PluginChain;
use trunkd::plugin::PluginConfig;
use trunkd::time::Instant;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn host_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_trunkd"))
}

/// Where test builds of plugins go (one directory for the whole test binary).
fn out_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = root().join("target/plugin-tests");
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

/// Compiles a C plugin with the system compiler, once per test binary: tests run in
/// parallel and a library must never be rewritten while another test's host loads it.
fn build_c(src: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap();
    if let Some((_, p)) = built.iter().find(|(s, _)| s == src) {
        return p.clone();
    }
    let path = root().join(src);
    let name = path.file_stem().unwrap().to_string_lossy().to_string();
    let out = out_dir().join(format!("lib{name}.so"));
    let tmp = out_dir().join(format!(".lib{name}.{}.so", std::process::id()));
    let st = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root().join("plugins"))
        .arg("-o")
        .arg(&tmp)
        .arg(&path)
        .status()
        .expect("cc");
    assert!(st.success(), "compiling {}", path.display());
    std::fs::rename(&tmp, &out).unwrap();
    built.push((src.to_string(), out.clone()));
    out
}

/// Builds a Rust plugin crate with cargo (once per test binary per crate).
fn build_rust(dir: &str, lib: &str) -> PathBuf {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap();
    let target = out_dir().join("cargo");
    let out = target.join("debug").join(format!("lib{lib}.so"));
    let st = Command::new(env!("CARGO"))
        .args(["build", "-q", "--manifest-path"])
        .arg(root().join(dir).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .status()
        .expect("cargo");
    assert!(st.success(), "building {dir}");
    assert!(out.exists(), "{}", out.display());
    out
}

fn plugin(name: &str, path: &Path, settings: &[(&str, &str)]) -> PluginConfig {
    PluginConfig {
        name: name.into(),
        path: path.to_path_buf(),
        settings: settings.iter().map(|(k, v)| (k.to_string(), toml::Value::String(v.to_string()))).collect(),
    }
}

fn query(id: u64, called: &str, classification: &str) -> RouteQuery {
    RouteQuery { classification: classification.into(), ..RouteQuery::inbound(id, "pri-1/1", called, "13800138000") }
}

/// Waits until every plugin host of the chain has started (they start in the background).
fn wait_up(chain: &PluginChain) {
    for _ in 0..1000 {
        if chain.status().iter().all(|s| s.state == "up") {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("plugin hosts did not start: {:?}", chain.status());
}

/// Asks the chain and waits (real time) for its answer.
fn ask(chain: &mut PluginChain, q: RouteQuery) -> Advice {
    let id = q.call_id;
    chain.ask(q);
    for _ in 0..2000 {
        if let Some((got, advice)) = chain.poll() {
            assert_eq!(got, id);
            return advice;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("no answer from the chain for call {id}");
}

#[test]
fn the_c_example_routes_by_prefix_and_refuses_the_blacklist() {
    let so = build_c("plugins/examples/c_router/router.c");
    let mut chain = PluginChain::start(
        host_exe(),
        vec![plugin("c", &so, &[("prefix", "9"), ("group", "e1-1")])],
        Duration::from_secs(10),
        true,
    );
    assert_eq!(
        ask(&mut chain, query(1, "95551234", "")),
        Advice::Dial { group: "e1-1".into(), number: "5551234".into() }
    );
    assert_eq!(ask(&mut chain, query(2, "8001", "")), Advice::NoOpinion);
    assert_eq!(ask(&mut chain, query(3, "95551234", "blacklist")), Advice::Reject { cause: 21 });
    let st = chain.status();
    assert_eq!((st[0].decisions, st[0].no_opinion, st[0].crashes), (2, 1, 0), "{st:?}");
}

#[test]
fn the_rust_example_routes_by_longest_prefix_class_and_office_hours() {
    let so = build_rust("plugins/examples/prefix_router", "prefix_router");
    let rules = "95=dial:pri-1;400=script:menu.lua,en;1900=reject:21";
    let mut chain = PluginChain::start(
        host_exe(),
        vec![plugin(
            "lcr",
            &so,
            &[("rules", rules), ("office_hours", "00:00-23:59"), ("office_days", "1-7"), ("vip_queue", "agents")],
        )],
        Duration::from_secs(10),
        true,
    );
    // An empty number means "the called number" (the core dials 95551234 on pri-1).
    assert_eq!(
        ask(&mut chain, query(1, "95551234", "")),
        Advice::Dial { group: "pri-1".into(), number: String::new() }
    );
    assert_eq!(
        ask(&mut chain, query(2, "4008001234", "")),
        Advice::Script { name: "menu.lua".into(), args: vec!["en".into()] }
    );
    assert_eq!(ask(&mut chain, query(3, "19001234", "")), Advice::Reject { cause: 21 });
    assert_eq!(ask(&mut chain, query(4, "8001", "")), Advice::NoOpinion);
    assert_eq!(ask(&mut chain, query(5, "8001", "vip")), Advice::Queue { name: "agents".into() });
    assert_eq!(ask(&mut chain, query(6, "8001", "blacklist")), Advice::Reject { cause: 21 });
}

#[test]
fn bad_plugins_cost_only_their_opinion() {
    let good = build_c("plugins/examples/c_router/router.c");
    let mut bad: Vec<PluginConfig> =
        ["crash", "oversized", "bad_utf8", "wrong_abi", "null_entry", "null_fields", "init_fails"]
            .iter()
            .map(|n| plugin(n, &build_c(&format!("plugins/tests/bad/{n}.c")), &[]))
            .collect();
    bad.push(plugin("rust_panics", &build_rust("plugins/tests/bad/rust_panics", "rust_panics"), &[]));
    bad.push(plugin("good", &good, &[("prefix", "9"), ("group", "e1-1")]));
    let mut chain = PluginChain::start(host_exe(), bad, Duration::from_secs(10), true);
    for id in 1..=3 {
        assert_eq!(
            ask(&mut chain, query(id, "95551234", "")),
            Advice::Dial { group: "e1-1".into(), number: "5551234".into() },
            "call {id} still routed by the good plugin at the end of the chain"
        );
    }
    let st = chain.status();
    let by = |n: &str| st.iter().find(|s| s.name == n).unwrap().clone();
    // Crashed twice (restarted at once after the first), then backing off: the third call
    // did not wait for it at all.
    assert_eq!(by("crash").crashes, 2, "{:?}", by("crash"));
    assert!(by("crash").state.starts_with("back-off"), "{:?}", by("crash"));
    assert!(by("crash").last_error.as_deref().unwrap_or("").contains("SIGSEGV"), "{:?}", by("crash"));
    assert!(by("oversized").errors >= 3 && by("oversized").crashes == 0, "{:?}", by("oversized"));
    assert!(by("bad_utf8").errors >= 3);
    assert!(
        by("rust_panics").errors >= 3 && by("rust_panics").crashes == 0,
        "the SDK catches panics: {:?}",
        by("rust_panics")
    );
    for n in ["wrong_abi", "null_entry", "null_fields", "init_fails"] {
        assert_eq!(by(n).decisions, 0);
        assert!(by(n).last_error.is_some(), "{n}: {:?}", by(n));
    }
    assert!(by("wrong_abi").last_error.unwrap().contains("ABI version 99"));
    assert!(by("init_fails").last_error.unwrap().contains("no database"));
    assert_eq!(by("good").decisions, 3);
}

#[test]
fn a_hanging_plugin_is_killed_and_the_call_falls_through_in_its_budget() {
    let hang = build_c("plugins/tests/bad/hang.c");
    let good = build_c("plugins/examples/c_router/router.c");
    let mut chain = PluginChain::start(
        host_exe(),
        vec![plugin("hang", &hang, &[]), plugin("good", &good, &[("prefix", "9"), ("group", "e1-1")])],
        Duration::from_millis(300),
        true,
    );
    wait_up(&chain);
    let t = std::time::Instant::now();
    assert_eq!(ask(&mut chain, query(1, "95551234", "")), Advice::NoOpinion, "the budget went to the hung plugin");
    assert!(t.elapsed() < Duration::from_secs(2), "answered within its budget, not stuck: {:?}", t.elapsed());
    let st = chain.status();
    assert_eq!(st[0].timeouts, 1, "{st:?}");
    // The hung host was killed; it is restarted once, hangs again, then backs off and
    // the good plugin decides alone.
    ask(&mut chain, query(2, "95551234", ""));
    assert_eq!(
        ask(&mut chain, query(3, "95551234", "")),
        Advice::Dial { group: "e1-1".into(), number: "5551234".into() }
    );
    assert!(chain.status()[0].state.starts_with("back-off"), "{:?}", chain.status()[0]);
}

#[test]
fn calls_on_the_gateway_follow_the_plugin_and_fall_back_to_the_static_routes() {
    std::env::set_var("TRUNKD_PLUGIN_HOST", host_exe());
    let so = build_c("plugins/examples/c_router/router.c");
    let lcr = build_rust("plugins/examples/prefix_router", "prefix_router");
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
[general]
data_dir = {dir:?}
plugin_timeout_ms = 10000

[[span]]
name = "pri-1"
backend = "sim"
signalling = "pri"

[[span]]
name = "e1-1"
backend = "sim"
signalling = "em"

[[route]]
called = "_8XXX"
app = "demo"

[[route]]
reject = "UNALLOCATED_NUMBER"

[[plugin]]
name = "lcr"
path = {lcr:?}
[plugin.settings]
rules = "1900=reject:21"

[[plugin]]
name = "c"
path = {so:?}
[plugin.settings]
prefix = "9"
group = "e1-1"

[[sim.caller]]
via = "pri-1"
at_ms = 1000
called = "95551234"
caller = "13800138000"
steps = ["wait 3000", "hangup"]

[[sim.caller]]
via = "pri-1"
at_ms = 1200
called = "19001234"
caller = "13800138002"
steps = ["wait 3000", "hangup"]

[[sim.caller]]
via = "pri-1"
at_ms = 1500
called = "8001"
caller = "13800138001"
steps = ["wait 3000", "hangup"]
"#,
        dir = dir.path(),
        so = so,
        lcr = lcr
    );
    let cfg = Config::parse(&text, "").unwrap_or_else(|e| panic!("{e}"));
    trunkd::demo::install_prompts(&cfg.general.prompts_dir()).unwrap();
    let mut gw = Gateway::build(&cfg).unwrap();
    let mut now = Instant::ZERO;
    let mut near = Vec::new();
    let mut far = Vec::new();
    for _ in 0..600 {
        now += Duration::from_millis(20);
        gw.step(now);
        near.extend(gw.engine.drain_events());
        far.extend(gw.far.as_mut().unwrap().drain_events());
        // Plugins answer in real time: let the host process run.
        std::thread::sleep(Duration::from_millis(1));
    }
    let routed: Vec<String> = near
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Routed { route } => Some(route.clone()),
            _ => None,
        })
        .collect();
    assert!(routed.iter().any(|r| r == "plugin: dial e1-1"), "{routed:?}");
    assert!(routed.iter().any(|r| r.starts_with("route[0] app demo")), "no opinion → static routes: {routed:?}");
    // The Rust plugin, first in the chain, refused the premium-rate number with cause 21.
    assert!(routed.iter().any(|r| r == "plugin: reject CALL_REJECTED (21)"), "{routed:?}");
    assert!(far.iter().any(|e| e.device.starts_with("pri-1/")
        && matches!(e.kind, EventKind::Ended { cause: trunkd::signalling::Cause::CallRejected, .. })));
    // The plugin's number, without its prefix, arrived on the E&M trunk.
    assert!(far.iter().any(|e| e.device.starts_with("e1-1/")
        && matches!(&e.kind, EventKind::Offered { called, .. } if called == "5551234")));
    gw.engine.finish();
}

#[test]
fn plugin_check_reports_identity_decisions_and_failures() {
    let so = build_c("plugins/examples/c_router/router.c");
    let out = Command::new(host_exe())
        .args(["plugin", "check"])
        .arg(&so)
        .args(["-s", "prefix=9", "-s", "group=e1-1", "--called", "95551234", "--called", "8001"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text} {}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("(ABI v1)"), "{text}");
    assert!(text.contains(r#""action":"dial","group":"e1-1","number":"5551234""#), "{text}");
    assert!(text.contains(r#""action":"no-opinion""#), "{text}");

    let bad = build_c("plugins/tests/bad/wrong_abi.c");
    let out = Command::new(host_exe()).args(["plugin", "check"]).arg(&bad).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ABI version 99"), "{:?}", out);

    let crash = build_c("plugins/tests/bad/crash.c");
    let out = Command::new(host_exe()).args(["plugin", "check", "--called", "1"]).arg(&crash).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("SIGSEGV"), "{:?}", out);
}

#[test]
fn plugins_anyone_could_replace_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let so = build_c("plugins/examples/c_router/router.c");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("libopen.so");
    std::fs::copy(&so, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o666)).unwrap();
    let err = trunkd::plugin::check_path(&copy).unwrap_err();
    assert!(err.contains("writable by group or others"), "{err}");
    let text = format!("[[plugin]]\nname = \"x\"\npath = {copy:?}\n");
    let cfg_err = Config::parse(&text, "t.toml").unwrap_err().to_string();
    assert!(cfg_err.contains("plugin[0].path"), "{cfg_err}");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = trunkd::plugin::check_path(&copy).unwrap_err();
    assert!(err.contains("others can write to"), "{err}");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    trunkd::plugin::check_path(&copy).unwrap();
}

#[test]
fn after_a_reload_new_calls_use_the_new_chain() {
    let so = build_c("plugins/examples/c_router/router.c");
    let mut old = PluginChain::start(
        host_exe(),
        vec![plugin("c", &so, &[("prefix", "9"), ("group", "old")])],
        Duration::from_secs(10),
        true,
    );
    assert_eq!(ask(&mut old, query(1, "91", "")), Advice::Dial { group: "old".into(), number: "1".into() });
    let mut new = PluginChain::start(
        host_exe(),
        vec![plugin("c", &so, &[("prefix", "9"), ("group", "new")])],
        Duration::from_secs(10),
        true,
    );
    drop(old);
    assert_eq!(ask(&mut new, query(2, "91", "")), Advice::Dial { group: "new".into(), number: "1".into() });
}
