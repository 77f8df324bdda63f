//! Builds the C example routing plugin (plugins/examples/c_router) so that `trunkd demo`
//! can ship it and route calls through it with no setup. Without a C compiler the demo
//! simply runs without a plugin (a warning here says so).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = "plugins/examples/c_router/router.c";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-changed=plugins/trunkd_plugin.h");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("libdemo_router.so");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let ok = Command::new(&cc)
        .args(["-shared", "-fPIC", "-O2", "-Iplugins", "-o"])
        .arg(&out)
        .arg(src)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        println!("cargo:warning=no C compiler ({cc}): `trunkd demo` runs without its example routing plugin");
        std::fs::write(&out, b"").expect("write placeholder");
    }
}
