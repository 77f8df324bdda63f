//! Finds scripts for the routing table, compiles one per call, and picks up changed
//! files for new calls (checked by modification time on every new call, and dropped on
//! reload), while calls in progress keep the version they started with.

use super::lua::{Limits, LuaApp};
use crate::config::{IvrConfig, RouteConfig};
use crate::core::app::{AppCmd, AppEvent, Application, CallInfo, LogLevel, PlayItem};
use crate::core::{AppMaker, BuiltinApps};
use crate::signalling::Cause;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// The routing table's application maker: Lua scripts and the built-ins.
pub struct ScriptHost {
    dir: PathBuf,
    limits: Limits,
    cache: HashMap<PathBuf, (SystemTime, Arc<str>)>,
}

impl ScriptHost {
    pub fn new(cfg: &IvrConfig) -> ScriptHost {
        ScriptHost { dir: cfg.scripts_dir.clone(), limits: limits(cfg), cache: HashMap::new() }
    }

    /// The script's source, re-read when the file changed since it was cached.
    fn source(&mut self, name: &str) -> Result<Arc<str>, String> {
        let path = resolve(&self.dir, name)?;
        let mtime =
            std::fs::metadata(&path).and_then(|m| m.modified()).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some((t, src)) = self.cache.get(&path) {
            if *t == mtime {
                return Ok(src.clone());
            }
        }
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let src: Arc<str> = text.into();
        self.cache.insert(path, (mtime, src.clone()));
        Ok(src)
    }

    /// A script application for `name` with `args`, or the reason it cannot run.
    pub fn script(&mut self, name: &str, args: &[String]) -> Result<LuaApp, String> {
        let src = self.source(name)?;
        LuaApp::new(name, &src, args, self.limits.clone()).map_err(|e| first_line(&e.to_string()))
    }
}

impl AppMaker for ScriptHost {
    fn make(&mut self, route: &RouteConfig, call: &CallInfo) -> Box<dyn Application> {
        let Some(name) = &route.script else { return BuiltinApps.make(route, call) };
        match self.script(name, &route.args) {
            Ok(app) => Box::new(app),
            Err(e) => {
                tracing::error!(script = %name, "cannot start script: {e}");
                Box::new(Fallback { prompt: self.limits.fallback.clone(), why: e })
            }
        }
    }

    fn make_checked(&mut self, route: &RouteConfig, call: &CallInfo) -> Result<Box<dyn Application>, String> {
        let Some(name) = &route.script else { return Ok(BuiltinApps.make(route, call)) };
        self.script(name, &route.args).map(|app| Box::new(app) as Box<dyn Application>)
    }
}

/// What a caller gets when the script cannot even start: the announcement, then clear.
struct Fallback {
    prompt: Option<PathBuf>,
    why: String,
}

impl Application for Fallback {
    fn name(&self) -> &str {
        "fallback"
    }
    fn on_event(&mut self, event: AppEvent, _call: &CallInfo, out: &mut Vec<AppCmd>) {
        if event == AppEvent::Start {
            out.push(AppCmd::Log { level: LogLevel::Error, message: format!("script error: {}", self.why) });
            if let Some(p) = &self.prompt {
                out.push(AppCmd::Answer);
                out.push(AppCmd::Play { items: vec![PlayItem::File(p.clone())], interrupt: String::new() });
            }
            out.push(AppCmd::Hangup(Cause::TemporaryFailure));
        }
    }
}

fn limits(cfg: &IvrConfig) -> Limits {
    Limits {
        memory_bytes: cfg.memory_limit_kb.saturating_mul(1024),
        instructions: cfg.instruction_limit,
        allow_os: cfg.allow_os,
        allow_io: cfg.allow_io,
        fallback: cfg.fallback_prompt.clone(),
    }
}

/// Scripts live under the scripts directory; names may not climb out of it.
fn resolve(dir: &Path, name: &str) -> Result<PathBuf, String> {
    if name.is_empty() || Path::new(name).is_absolute() || name.split('/').any(|c| c == "..") {
        return Err(format!("`{name}`: a script name is a path inside the scripts directory"));
    }
    Ok(dir.join(name))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim_start_matches("syntax error: ").to_string()
}

/// For `trunkd check`: the script exists and compiles.
pub fn check_script(cfg: &IvrConfig, name: &str) -> Result<(), String> {
    let mut host = ScriptHost::new(cfg);
    host.script(name, &[]).map(|_| ())
}
