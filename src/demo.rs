//! `trunkd demo`: the embedded defaults — simulated spans and lines, the demo IVR and
//! its prompts — so a newcomer sees every capability working in one run.

use crate::config::Config;
use std::path::Path;

/// Prompts shipped inside the binary, written to the data directory on first run.
const PROMPTS: &[(&str, &[u8])] = &[
    ("en/welcome.wav", include_bytes!("../prompts/en/welcome.wav")),
    ("en/thanks.wav", include_bytes!("../prompts/en/thanks.wav")),
    ("en/goodbye.wav", include_bytes!("../prompts/en/goodbye.wav")),
    ("en/invalid.wav", include_bytes!("../prompts/en/invalid.wav")),
    ("zh/welcome.wav", include_bytes!("../prompts/zh/welcome.wav")),
    ("zh/thanks.wav", include_bytes!("../prompts/zh/thanks.wav")),
    ("zh/goodbye.wav", include_bytes!("../prompts/zh/goodbye.wav")),
    ("zh/invalid.wav", include_bytes!("../prompts/zh/invalid.wav")),
];

/// Writes the embedded prompts under `dir` (existing files are left alone, so an
/// operator's own recordings win).
pub fn install_prompts(dir: &Path) -> std::io::Result<usize> {
    let mut n = 0;
    for (name, bytes) in PROMPTS {
        let p = dir.join(name);
        if p.exists() {
            continue;
        }
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, bytes)?;
        n += 1;
    }
    Ok(n)
}

/// The demo configuration with its data directory (and control socket) moved to `data_dir`.
pub fn config(data_dir: &Path) -> Config {
    // The embedded config is tested to parse; failing here would be a build defect.
    let mut cfg = Config::parse(crate::config::DEMO_CONFIG, "embedded demo config")
        .unwrap_or_else(|e| panic!("embedded demo config is invalid: {e}"));
    cfg.general.data_dir = data_dir.to_path_buf();
    cfg.general.control_socket = data_dir.join("trunkd.ctl");
    cfg.general.prompts_dir = None;
    cfg
}
