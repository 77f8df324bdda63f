//! # trunkd-plugin: routing plugins for trunkd in safe Rust
//!
//! A trunkd routing plugin is a shared library exporting `trunkd_plugin_entry`, the stable
//! C ABI of `plugins/trunkd_plugin.h`. This crate is that header as Rust ([`abi`], raw and
//! `#[repr(C)]`) plus a safe layer: implement [`Plugin`] and invoke [`export_plugin!`].
//!
//! ```
//! use trunkd_plugin::{export_plugin, Call, Decision, Plugin, Settings};
//!
//! pub struct Emergency {
//!     group: String,
//! }
//!
//! impl Plugin for Emergency {
//!     const NAME: &'static str = "emergency";
//!     const VERSION: &'static str = env!("CARGO_PKG_VERSION");
//!
//!     fn init(settings: &Settings) -> Result<Self, String> {
//!         Ok(Emergency { group: settings.get("group").unwrap_or("pri-1").to_owned() })
//!     }
//!
//!     fn route(&mut self, call: &Call) -> Decision {
//!         match call.called() {
//!             "112" | "110" => Decision::dial(&self.group, ""),
//!             _ => Decision::NoOpinion,
//!         }
//!     }
//! }
//!
//! export_plugin!(Emergency);
//! ```
//!
//! with, in `Cargo.toml`, `[lib] crate-type = ["cdylib"]`.
//!
//! What the SDK guarantees on the C side:
//! * every pointer trunkd passes is NULL-checked; strings that are NULL or not UTF-8 read
//!   as `""`, fields past a struct's declared `struct_size` as empty/zero;
//! * a panic in `init`, `route`, `event` or `Drop` never unwinds into trunkd: `init`
//!   returns NULL with the panic message as its error, `route` returns [`ERR_PANIC`] (the
//!   call falls through), `event` and shutdown ignore it. The instance stays in use after a
//!   panic in `route`, so keep its state consistent at panic points (or don't panic).
//!   This relies on unwinding: do not build plugins with `panic = "abort"`;
//! * a [`Decision`] is never truncated: if it does not fit the ABI's buffers
//!   ([`Decision::validate`]), `route` writes "no opinion" and returns
//!   [`ERR_INVALID_DECISION`], so trunkd falls through and logs it.
//!
//! trunkd calls one instance from one thread, one function at a time, so `&mut self` needs
//! no locking; the instance does not need to be `Send` or `Sync`.

pub mod abi;
mod call;
mod decision;
mod event;
#[doc(hidden)]
pub mod export;
mod raw;
mod settings;

pub use call::{Call, CallBuilder, Direction, Presentation, Vars};
pub use decision::{Decision, DecisionError, Field};
pub use event::Event;
pub use settings::Settings;

/// `route`'s return value when trunkd passed a NULL instance, call or decision.
pub const ERR_NULL_ARGUMENT: i32 = 1;
/// `route`'s return value when the [`Decision`] does not fit the ABI (too long a string,
/// too many arguments, ...): the decision is not written, the call falls through.
pub const ERR_INVALID_DECISION: i32 = 2;
/// `route`'s return value when [`Plugin::route`] panicked: the call falls through.
pub const ERR_PANIC: i32 = 3;

/// A routing plugin. One instance is created per `[[plugin]]` entry of trunkd's config.
pub trait Plugin: Sized + 'static {
    /// The plugin's name, for logs and `trunkd ctl` ("lcr"). Not empty, no NUL.
    const NAME: &'static str;
    /// The plugin's version ("1.2.0"), typically `env!("CARGO_PKG_VERSION")`.
    const VERSION: &'static str;

    /// Creates the instance from its settings. An `Err` (or a panic) fails the plugin's
    /// load with that message, which trunkd logs and `trunkd plugin check` prints.
    fn init(settings: &Settings) -> Result<Self, String>;

    /// Decides where an offered call goes. Must return promptly: trunkd gives the whole
    /// plugin chain `plugin_timeout_ms` (default 200 ms) per call.
    fn route(&mut self, call: &Call) -> Decision;

    /// A call lifecycle event ("answered", "ended"); by default ignored.
    fn event(&mut self, _ev: &Event) {}
}

/// Exports a [`Plugin`] type as the plugin of this shared library: generates
/// `#[no_mangle] extern "C" fn trunkd_plugin_entry()` returning a static vtable with the
/// type's `NAME` and `VERSION` (NUL-terminated at compile time) and panic-catching shims.
/// Use it once per library (crate-type `cdylib`).
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        /// The one symbol trunkd looks up in a plugin library.
        #[no_mangle]
        pub extern "C" fn trunkd_plugin_entry() -> *const $crate::abi::TrunkdPluginV1 {
            const NAME_LEN: usize = <$plugin as $crate::Plugin>::NAME.len() + 1;
            const VERSION_LEN: usize = <$plugin as $crate::Plugin>::VERSION.len() + 1;
            static NAME: [u8; NAME_LEN] = $crate::export::nul_terminated(<$plugin as $crate::Plugin>::NAME);
            static VERSION: [u8; VERSION_LEN] = $crate::export::nul_terminated(<$plugin as $crate::Plugin>::VERSION);
            static VTABLE: $crate::export::VTable = $crate::export::VTable::new::<$plugin>(
                &NAME as *const [u8; NAME_LEN] as *const ::std::ffi::c_char,
                &VERSION as *const [u8; VERSION_LEN] as *const ::std::ffi::c_char,
            );
            VTABLE.as_ptr()
        }
    };
}

#[cfg(test)]
mod tests;
