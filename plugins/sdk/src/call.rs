//! [`Call`]: a safe, borrowed view of a `trunkd_call`.

use std::fmt;
use std::mem::{offset_of, size_of};
use std::ptr;

use crate::abi::{self, TrunkdCall, TrunkdStr, TrunkdVar};
use crate::raw;

const MS_PER_DAY: i128 = 86_400_000;

/// Who placed the call (`enum trunkd_direction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Offered to trunkd by a span, line or modem.
    Inbound,
    /// Placed by trunkd.
    Outbound,
    /// A value this SDK version does not know.
    Other(u32),
}

impl Direction {
    /// The enum from its ABI value.
    pub fn from_raw(v: u32) -> Direction {
        match v {
            abi::INBOUND => Direction::Inbound,
            abi::OUTBOUND => Direction::Outbound,
            other => Direction::Other(other),
        }
    }
}

/// Whether the caller's number may be shown (`enum trunkd_presentation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Presentation {
    /// The number may be displayed.
    Allowed,
    /// The caller asked not to be shown: do not display the number.
    Restricted,
    /// There is no number (interworking).
    Unavailable,
    /// A value this SDK version does not know.
    Other(u32),
}

impl Presentation {
    /// The enum from its ABI value.
    pub fn from_raw(v: u32) -> Presentation {
        match v {
            abi::PRES_ALLOWED => Presentation::Allowed,
            abi::PRES_RESTRICTED => Presentation::Restricted,
            abi::PRES_UNAVAILABLE => Presentation::Unavailable,
            other => Presentation::Other(other),
        }
    }
}

#[derive(Clone, Copy)]
enum VarsRepr<'a> {
    /// Straight from trunkd. Invariant: every string pointer in it is valid for `'a`
    /// (established by the `unsafe` constructor [`Call::from_raw`]).
    Raw(&'a [TrunkdVar]),
    /// Built by [`CallBuilder`].
    Pairs(&'a [(&'a str, &'a str)]),
}

/// The call variables of a [`Call`] as `(name, value)` pairs, in trunkd's order.
#[derive(Clone)]
pub struct Vars<'a> {
    inner: VarsRepr<'a>,
}

impl<'a> Iterator for Vars<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            VarsRepr::Raw(vars) => {
                let (first, rest) = vars.split_first()?;
                *vars = rest;
                // SAFETY: `VarsRepr::Raw`'s invariant: the strings are valid for `'a`.
                Some(unsafe { (raw::text(first.name), raw::text(first.value)) })
            }
            VarsRepr::Pairs(pairs) => {
                let (first, rest) = pairs.split_first()?;
                *pairs = rest;
                Some(*first)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self.inner {
            VarsRepr::Raw(v) => v.len(),
            VarsRepr::Pairs(p) => p.len(),
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for Vars<'_> {}

impl fmt::Debug for Vars<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.clone()).finish()
    }
}

/// An offered call: a borrowed view of the `trunkd_call` trunkd passed to `route`.
///
/// Never fails and never panics: a string that is NULL or not UTF-8 reads as `""`, and
/// fields past the `struct_size` trunkd declared (an older trunkd) read as empty/zero.
/// In tests, build one with [`Call::builder`].
#[derive(Clone)]
pub struct Call<'a> {
    id: u64,
    direction: Direction,
    group: &'a str,
    device: &'a str,
    channel: u32,
    caller_presentation: Presentation,
    caller: &'a str,
    caller_name: &'a str,
    called: &'a str,
    redirecting: &'a str,
    classification: &'a str,
    vars: VarsRepr<'a>,
    unix_time_ms: i64,
    utc_offset_min: i32,
}

impl<'a> Call<'a> {
    /// A view of a raw call; `None` if `ptr` is NULL.
    ///
    /// # Safety
    /// `ptr` must be NULL or point to a `trunkd_call` of which at least `struct_size` bytes
    /// (and at least the 4 bytes of `struct_size` itself) are readable, whose non-NULL
    /// string and `vars` pointers are valid for their lengths, all unchanged for `'a` — which
    /// is what trunkd guarantees during a `route` call.
    pub unsafe fn from_raw(ptr: *const TrunkdCall) -> Option<Call<'a>> {
        if ptr.is_null() {
            return None;
        }
        let base = ptr.cast::<u8>();
        // SAFETY: `ptr` points to a trunkd_call, which starts with its u32 struct_size.
        let size = unsafe { raw::struct_size(base, size_of::<TrunkdCall>()) };
        macro_rules! get {
            ($f:ident) => {
                // SAFETY: `size` bytes at `base` are readable (the contract of `from_raw`);
                // `field` reads only a field lying entirely within them.
                unsafe { raw::field(base, size, offset_of!(TrunkdCall, $f), |c: &TrunkdCall| &c.$f) }
            };
        }
        let text = |s: Option<TrunkdStr>| match s {
            // SAFETY: the string pointers of the call are valid for `'a` (contract).
            Some(s) => unsafe { raw::text::<'a>(s) },
            None => "",
        };
        let vars_ptr: *const TrunkdVar = get!(vars).unwrap_or(ptr::null());
        let vars_len: usize = get!(vars_len).unwrap_or(0);
        // SAFETY: `vars` is valid for `vars_len` elements for `'a` when not NULL (contract);
        // `slice` returns an empty slice for NULL or misaligned pointers.
        let vars = unsafe { raw::slice::<'a, TrunkdVar>(vars_ptr, vars_len) };
        Some(Call {
            id: get!(call_id).unwrap_or(0),
            direction: Direction::from_raw(get!(direction).unwrap_or(abi::INBOUND)),
            group: text(get!(group)),
            device: text(get!(device)),
            channel: get!(channel).unwrap_or(0),
            caller_presentation: Presentation::from_raw(get!(caller_presentation).unwrap_or(abi::PRES_ALLOWED)),
            caller: text(get!(caller)),
            caller_name: text(get!(caller_name)),
            called: text(get!(called)),
            redirecting: text(get!(redirecting)),
            classification: text(get!(classification)),
            vars: VarsRepr::Raw(vars),
            unix_time_ms: get!(unix_time_ms).unwrap_or(0),
            utc_offset_min: get!(utc_offset_min).unwrap_or(0),
        })
    }

    /// A builder for calls in tests: everything empty/zero until set.
    pub fn builder() -> CallBuilder<'a> {
        CallBuilder {
            call: Call {
                id: 0,
                direction: Direction::Inbound,
                group: "",
                device: "",
                channel: 0,
                caller_presentation: Presentation::Allowed,
                caller: "",
                caller_name: "",
                called: "",
                redirecting: "",
                classification: "",
                vars: VarsRepr::Pairs(&[]),
                unix_time_ms: 0,
                utc_offset_min: 0,
            },
        }
    }

    /// Unique within one daemon run.
    pub fn id(&self) -> u64 {
        self.id
    }
    /// Inbound (offered by a span, line or modem) or outbound.
    pub fn direction(&self) -> Direction {
        self.direction
    }
    /// The span or line group the call came in on ("pri-1", "pstn").
    pub fn group(&self) -> &'a str {
        self.group
    }
    /// group/channel ("pri-1/5").
    pub fn device(&self) -> &'a str {
        self.device
    }
    /// The channel number within the group.
    pub fn channel(&self) -> u32 {
        self.channel
    }
    /// The calling number, digits (may be empty).
    pub fn caller(&self) -> &'a str {
        self.caller
    }
    /// The caller's display name (may be empty).
    pub fn caller_name(&self) -> &'a str {
        self.caller_name
    }
    /// Whether the calling number may be displayed.
    pub fn caller_presentation(&self) -> Presentation {
        self.caller_presentation
    }
    /// The called number, digits.
    pub fn called(&self) -> &'a str {
        self.called
    }
    /// The number the call was diverted from (may be empty).
    pub fn redirecting(&self) -> &'a str {
        self.redirecting
    }
    /// The CRM's class of the caller when known: "", "normal", "vip", "svip", "blacklist".
    pub fn classification(&self) -> &'a str {
        self.classification
    }
    /// The call variables, `(name, value)`.
    pub fn vars(&self) -> Vars<'a> {
        Vars { inner: self.vars }
    }
    /// The value of the first call variable called `name`.
    pub fn var(&self, name: &str) -> Option<&'a str> {
        self.vars().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
    /// Wall-clock time of the offer, milliseconds since the Unix epoch (UTC).
    pub fn unix_time_ms(&self) -> i64 {
        self.unix_time_ms
    }
    /// The daemon's local time zone offset from UTC, in minutes (CET: 60).
    pub fn utc_offset_min(&self) -> i32 {
        self.utc_offset_min
    }

    fn local_ms(&self) -> i128 {
        i128::from(self.unix_time_ms) + i128::from(self.utc_offset_min) * 60_000
    }

    /// Local time of the offer as minutes since local midnight, `0..1440` (09:30 → 570).
    pub fn local_minutes_of_day(&self) -> u32 {
        (self.local_ms().rem_euclid(MS_PER_DAY) / 60_000) as u32
    }

    /// Local day of the week of the offer, `0..7` with 0 = Monday … 6 = Sunday.
    pub fn local_weekday(&self) -> u32 {
        // 1970-01-01, day 0, was a Thursday (3).
        (self.local_ms().div_euclid(MS_PER_DAY) + 3).rem_euclid(7) as u32
    }
}

impl fmt::Debug for Call<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("id", &self.id)
            .field("direction", &self.direction)
            .field("group", &self.group)
            .field("device", &self.device)
            .field("channel", &self.channel)
            .field("caller_presentation", &self.caller_presentation)
            .field("caller", &self.caller)
            .field("caller_name", &self.caller_name)
            .field("called", &self.called)
            .field("redirecting", &self.redirecting)
            .field("classification", &self.classification)
            .field("vars", &self.vars())
            .field("unix_time_ms", &self.unix_time_ms)
            .field("utc_offset_min", &self.utc_offset_min)
            .finish()
    }
}

/// Builds a [`Call`] from Rust values, for unit tests of a plugin's `route`.
///
/// ```
/// use trunkd_plugin::Call;
/// let call = Call::builder().called("4001").classification("vip").var("lang", "en").build();
/// assert_eq!(call.var("lang"), Some("en"));
/// ```
#[derive(Clone, Debug)]
pub struct CallBuilder<'a> {
    call: Call<'a>,
}

macro_rules! setters {
    ($($(#[$m:meta])* $name:ident: $ty:ty),* $(,)?) => {
        $(
            $(#[$m])*
            pub fn $name(mut self, $name: $ty) -> Self {
                self.call.$name = $name;
                self
            }
        )*
    };
}

impl<'a> CallBuilder<'a> {
    setters! {
        /// Sets the call id.
        id: u64,
        /// Sets the direction.
        direction: Direction,
        /// Sets the group.
        group: &'a str,
        /// Sets the device.
        device: &'a str,
        /// Sets the channel.
        channel: u32,
        /// Sets the caller's presentation.
        caller_presentation: Presentation,
        /// Sets the calling number.
        caller: &'a str,
        /// Sets the caller's display name.
        caller_name: &'a str,
        /// Sets the called number.
        called: &'a str,
        /// Sets the redirecting number.
        redirecting: &'a str,
        /// Sets the CRM classification.
        classification: &'a str,
    }

    /// Sets all call variables at once.
    pub fn vars(mut self, vars: &'a [(&'a str, &'a str)]) -> Self {
        self.call.vars = VarsRepr::Pairs(vars);
        self
    }

    /// Adds one call variable (the pair is leaked: meant for tests only).
    pub fn var(mut self, name: &'a str, value: &'a str) -> Self {
        let mut all: Vec<(&'a str, &'a str)> = self.call.vars().collect();
        all.push((name, value));
        self.call.vars = VarsRepr::Pairs(Vec::leak(all));
        self
    }

    /// Sets the time of the offer (UTC milliseconds) and the local offset from UTC.
    pub fn time(mut self, unix_time_ms: i64, utc_offset_min: i32) -> Self {
        self.call.unix_time_ms = unix_time_ms;
        self.call.utc_offset_min = utc_offset_min;
        self
    }

    /// The call.
    pub fn build(self) -> Call<'a> {
        self.call
    }
}
