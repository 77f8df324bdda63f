//! `trunkd demo`: the embedded defaults — simulated spans and lines, the demo IVR and
//! its prompts — so a newcomer sees every capability working in one run.

use crate::config::Config;
use include_dir::{include_dir, Dir, DirEntry};
use std::path::Path;

/// The stock prompts (prompts/) and example scripts (scripts/), shipped inside the binary.
static PROMPTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/prompts");
static SCRIPTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/scripts");

/// Writes the embedded prompts (WAV files) under `dir`; existing files are left alone, so
/// an operator's own recordings win. Returns how many were written.
pub fn install_prompts(dir: &Path) -> std::io::Result<usize> {
    install(&PROMPTS, dir, "wav")
}

/// Writes the embedded example scripts under `dir` (existing files are left alone).
pub fn install_scripts(dir: &Path) -> std::io::Result<usize> {
    install(&SCRIPTS, dir, "lua")
}

fn install(src: &Dir<'_>, dir: &Path, ext: &str) -> std::io::Result<usize> {
    let mut n = 0;
    for e in src.entries() {
        match e {
            DirEntry::Dir(d) => n += install(d, dir, ext)?,
            DirEntry::File(f) => {
                let p = dir.join(f.path());
                if p.extension().is_none_or(|x| x != ext) || p.exists() {
                    continue;
                }
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&p, f.contents())?;
                n += 1;
            }
        }
    }
    Ok(n)
}

/// The demo configuration with everything under `data_dir` (control socket, prompts,
/// scripts, recordings), with the embedded prompts and scripts installed there, validated.
/// The C example routing plugin (plugins/examples/c_router), built by build.rs; empty when
/// the build machine had no C compiler.
const DEMO_PLUGIN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libdemo_router.so"));

/// Installs the demo's routing plugin under the data directory: calls dialled with a
/// leading 7 go out on the E&M span without it (the plugin decides; no static route does).
fn install_plugin(data_dir: &Path) -> std::io::Result<Option<crate::plugin::PluginConfig>> {
    use std::os::unix::fs::PermissionsExt;
    if DEMO_PLUGIN.is_empty() {
        return Ok(None);
    }
    let dir = data_dir.join("plugins");
    std::fs::create_dir_all(&dir)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
    let path = dir.join("libdemo_router.so");
    if std::fs::read(&path).ok().as_deref() != Some(DEMO_PLUGIN) {
        let tmp = dir.join(".libdemo_router.so.tmp");
        std::fs::write(&tmp, DEMO_PLUGIN)?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
        std::fs::rename(&tmp, &path)?;
    }
    let settings = [("prefix", "7"), ("group", "e1-1")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), toml::Value::String(v.to_string())))
        .collect();
    Ok(Some(crate::plugin::PluginConfig { name: "demo-router".into(), path, settings }))
}

pub fn config(data_dir: &Path) -> Result<Config, String> {
    // Parsed without validation first: the scripts it names exist only once installed.
    let mut cfg: Config =
        toml::from_str(crate::config::DEMO_CONFIG).map_err(|e| format!("embedded demo config: {e}"))?;
    cfg.general.data_dir = data_dir.to_path_buf();
    cfg.general.control_socket = data_dir.join("trunkd.ctl");
    cfg.general.prompts_dir = None;
    cfg.ivr.scripts_dir = data_dir.join("scripts");
    install_prompts(&cfg.general.prompts_dir())
        .and_then(|_| install_scripts(&cfg.ivr.scripts_dir))
        .map_err(|e| format!("cannot write prompts and scripts under {}: {e}", data_dir.display()))?;
    if let Some(p) = install_plugin(data_dir).map_err(|e| format!("cannot install the demo plugin: {e}"))? {
        cfg.plugins.push(p);
    }
    // A second demo (or anything else) on the CTI port: take a free one; the demo prints it.
    if let Some(c) = &mut cfg.cti {
        if std::net::TcpListener::bind(c.listen).is_err() {
            c.listen.set_port(0);
        }
    }
    let errors = cfg.validate();
    if !errors.is_empty() {
        let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        return Err(format!("embedded demo config: {}", list.join("; ")));
    }
    Ok(cfg)
}
