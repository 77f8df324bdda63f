//! The DAHDI backend: E1 and analog cards (and `dahdi_dynamic` spans) through the DAHDI
//! kernel driver's character devices.
//!
//! Today this holds [`sys`], the userspace interface (ioctl numbers, structs, safe
//! wrappers; the only `unsafe` of the backend). The [`Backend`](super::Backend)
//! implementation on top of it (per-channel fds, SPANSTAT alarms, HDLC/CAS/hook paths)
//! comes next.

pub mod sys;
