//! trunkd: a telephony gateway for E1 (PRI, R2), analog FXO/FXS lines and modems.
//!
//! Layout (see ARCHITECTURE.md for the one-page map):
//! - [`backend`]: the backend trait family and its implementations (simulation today).
//! - [`signalling`]: sans-IO signalling stacks (analog loop start, E&M CAS).
//! - [`dsp`]: sans-IO DSP (G.711, DTMF, tones and zones, levels).
//! - [`core`]: the call core: channels, calls, applications, media tick, recording.
//! - [`ivr`]: Lua IVR scripts (sandboxed, one coroutine per call) and `say` phrases.
//! - [`plugin`]: routing plugins (C ABI), each in a `trunkd plugin-host` process.
//! - [`config`], [`gateway`], [`daemon`], [`demo`]: assembling and running it.

#![deny(unsafe_code)]

pub mod analyze;
pub mod backend;
pub mod config;
pub mod core;
pub mod crm;
pub mod cti;
pub mod daemon;
pub mod demo;
pub mod dsp;
pub mod gateway;
pub mod ivr;
pub mod pii;
pub mod plugin;
pub mod signalling;
pub mod time;
