//! Routing decisions per second: the C example plugin called in-process (no isolation),
//! through one `trunkd plugin-host` process (the isolation the daemon uses), and through
//! the chain the call core talks to (thread hand-off + host), with the overhead of each.
//! `cargo bench --bench plugins`. Needs `cc` and a built `trunkd` (cargo builds it).

#![allow(clippy::disallowed_methods)] // bench: wall time

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use trunkd::core::router::{RouteAdvisor, RouteQuery};
use trunkd::plugin::chain::PluginChain;
use trunkd::plugin::loader::Loaded;
use trunkd::plugin::{HostProc, PluginConfig};

fn build_c_router() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target/plugin-tests/libc_router_bench.so");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let st = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-I"])
        .arg(root.join("plugins"))
        .arg("-o")
        .arg(&out)
        .arg(root.join("plugins/examples/c_router/router.c"))
        .status()
        .expect("cc");
    assert!(st.success());
    out
}

fn query(id: u64) -> RouteQuery {
    RouteQuery::inbound(id, "pri-1/1", "95551234", "13800138000")
}

fn main() {
    let n: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(20_000);
    let so = build_c_router();
    let settings = vec![("prefix".to_string(), "9".to_string()), ("group".to_string(), "e1-1".to_string())];
    let cfg = PluginConfig {
        name: "c".into(),
        path: so.clone(),
        settings: settings.iter().map(|(k, v)| (k.clone(), toml::Value::String(v.clone()))).collect(),
    };
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_trunkd"));

    let mut direct = Loaded::load(&so, &settings).expect("load in-process");
    let t = Instant::now();
    for i in 0..n {
        direct.route(&query(i), 0, 0).unwrap();
    }
    let d_direct = t.elapsed();

    let mut host = HostProc::spawn(&exe, &cfg, Duration::from_secs(5)).expect("plugin host (build trunkd first)");
    let t = Instant::now();
    for i in 0..n {
        host.route(&query(i), 0, 0, Duration::from_secs(1)).unwrap();
    }
    let d_host = t.elapsed();

    let mut chain = PluginChain::start(exe, vec![cfg], Duration::from_secs(1), true);
    let t = Instant::now();
    let mut got = 0;
    for i in 0..n {
        chain.ask(query(i));
        loop {
            if chain.poll().is_some() {
                got += 1;
                break;
            }
            std::hint::spin_loop();
        }
    }
    let d_chain = t.elapsed();
    assert_eq!(got, n);

    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    println!("plugins: {n} routing decisions by the C example plugin");
    println!("  in-process call (no isolation): {:>10.0} decisions/s  {:>7.2} µs each", rate(d_direct), per(d_direct));
    println!(
        "  plugin-host process (pipe):     {:>10.0} decisions/s  {:>7.2} µs each  (isolation costs {:.1} µs)",
        rate(d_host),
        per(d_host),
        per(d_host) - per(d_direct)
    );
    println!("  chain as the call core sees it: {:>10.0} decisions/s  {:>7.2} µs each", rate(d_chain), per(d_chain));
}
