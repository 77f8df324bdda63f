//! Media files: prompts played to callers and recordings of calls.
//!
//! Both live here because they are the only parts of the media path that
//! touch the file system, and both are arranged so the 20 ms media tick
//! never does file I/O:
//!
//! * [`prompt`] decodes WAV prompts to 8 kHz linear PCM once, ahead of
//!   playback, and caches them ([`prompt::PromptCache`]) so a tick only
//!   copies samples out of memory.
//! * [`recorder`] hands recorded frames to one background writer thread
//!   ([`recorder::RecorderPool`]); the tick only sends a message.

pub mod prompt;
pub mod recorder;
