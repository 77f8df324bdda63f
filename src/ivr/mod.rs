//! The IVR: Lua scripts as call applications, the `say` phrases, and the script host that
//! finds, caches and hot-reloads scripts for the routing table.

pub mod host;
pub mod lua;
pub mod runner;
pub mod say;
