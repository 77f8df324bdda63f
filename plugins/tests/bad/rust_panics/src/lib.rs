//! A deliberately bad plugin: `route` panics on every call, and so does `event`. The SDK's
//! shims must catch both — `route` returns `trunkd_plugin::ERR_PANIC`, the call falls
//! through, and the plugin host process survives.

use trunkd_plugin::{export_plugin, Call, Decision, Event, Plugin, Settings};

pub struct Panics {
    calls: u64,
}

impl Plugin for Panics {
    const NAME: &'static str = "rust_panics";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn init(_settings: &Settings) -> Result<Self, String> {
        Ok(Panics { calls: 0 })
    }

    fn route(&mut self, call: &Call) -> Decision {
        self.calls += 1;
        panic!("rust_panics: deliberate panic routing call {} to {:?} (#{})", call.id(), call.called(), self.calls);
    }

    fn event(&mut self, ev: &Event) {
        panic!("rust_panics: deliberate panic on event {:?}", ev.kind());
    }
}

export_plugin!(Panics);
