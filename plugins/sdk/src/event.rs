//! [`Event`]: a safe, borrowed view of a `trunkd_event`.

use std::mem::{offset_of, size_of};

use crate::abi::TrunkdEvent;
use crate::raw;

/// A call lifecycle event (`trunkd_event`): fire and forget.
///
/// Like [`Call`](crate::Call), never fails: fields past the declared `struct_size` read as
/// zero/empty, a `kind` that is NULL or not UTF-8 as `""`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event<'a> {
    call_id: u64,
    kind: &'a str,
    cause: u32,
    talk_ms: u64,
}

impl<'a> Event<'a> {
    /// [`Event::kind`] when the call was answered.
    pub const ANSWERED: &'static str = "answered";
    /// [`Event::kind`] when the call ended.
    pub const ENDED: &'static str = "ended";

    /// A view of a raw event; `None` if `ptr` is NULL.
    ///
    /// # Safety
    /// `ptr` must be NULL or point to a `trunkd_event` of which at least `struct_size` bytes
    /// (and at least the 4 bytes of `struct_size`) are readable, whose `kind` is valid for
    /// its length if not NULL, all unchanged for `'a`.
    pub unsafe fn from_raw(ptr: *const TrunkdEvent) -> Option<Event<'a>> {
        if ptr.is_null() {
            return None;
        }
        let base = ptr.cast::<u8>();
        // SAFETY: `ptr` points to a trunkd_event, which starts with its u32 struct_size.
        let size = unsafe { raw::struct_size(base, size_of::<TrunkdEvent>()) };
        macro_rules! get {
            ($f:ident) => {
                // SAFETY: `size` bytes at `base` are readable (the contract of `from_raw`);
                // `field` reads only a field lying entirely within them.
                unsafe { raw::field(base, size, offset_of!(TrunkdEvent, $f), |e: &TrunkdEvent| &e.$f) }
            };
        }
        let kind = match get!(kind) {
            // SAFETY: `kind` is valid for `'a` when not NULL (contract).
            Some(s) => unsafe { raw::text::<'a>(s) },
            None => "",
        };
        Some(Event {
            call_id: get!(call_id).unwrap_or(0),
            kind,
            cause: get!(cause).unwrap_or(0),
            talk_ms: get!(talk_ms).unwrap_or(0),
        })
    }

    /// An event from Rust values (for tests).
    pub fn new(call_id: u64, kind: &'a str, cause: u32, talk_ms: u64) -> Event<'a> {
        Event { call_id, kind, cause, talk_ms }
    }

    /// The call ([`Call::id`](crate::Call::id)) the event is about.
    pub fn call_id(&self) -> u64 {
        self.call_id
    }
    /// [`Event::ANSWERED`], [`Event::ENDED`], or a kind added by a later trunkd.
    pub fn kind(&self) -> &'a str {
        self.kind
    }
    /// For "ended": the Q.850 clearing cause.
    pub fn cause(&self) -> u32 {
        self.cause
    }
    /// For "ended": the answered (talk) time in milliseconds, 0 if never answered.
    pub fn talk_ms(&self) -> u64 {
        self.talk_ms
    }
    /// Whether this is the "answered" event.
    pub fn is_answered(&self) -> bool {
        self.kind == Self::ANSWERED
    }
    /// Whether this is the "ended" event.
    pub fn is_ended(&self) -> bool {
        self.kind == Self::ENDED
    }
}
