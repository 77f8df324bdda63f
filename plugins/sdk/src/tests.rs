//! Unit tests of the safe layer, including the generated shims of a test plugin.

use std::ffi::{c_char, CStr};
use std::mem::{offset_of, size_of};
use std::ptr;

use crate::abi::{self, TrunkdBuf, TrunkdCall, TrunkdDecision, TrunkdEvent, TrunkdStr, TrunkdVar, BUF_CAP, MAX_ARGS};
use crate::{
    Call, Decision, DecisionError, Direction, Event, Field, Plugin, Presentation, Settings, ERR_INVALID_DECISION,
    ERR_NULL_ARGUMENT, ERR_PANIC,
};

fn s(bytes: &[u8]) -> TrunkdStr {
    TrunkdStr { ptr: bytes.as_ptr().cast::<c_char>(), len: bytes.len() }
}

const NULL_STR: TrunkdStr = TrunkdStr { ptr: ptr::null(), len: 0 };

fn var(name: &'static str, value: &'static str) -> TrunkdVar {
    TrunkdVar { name: s(name.as_bytes()), value: s(value.as_bytes()) }
}

/// 2024-01-01T00:00:00Z, a Monday.
const MONDAY_2024: i64 = 1_704_067_200_000;

fn raw_call(vars: &[TrunkdVar]) -> TrunkdCall {
    TrunkdCall {
        struct_size: size_of::<TrunkdCall>() as u32,
        direction: abi::OUTBOUND,
        call_id: 42,
        group: s(b"pri-1"),
        device: s(b"pri-1/5"),
        channel: 5,
        caller_presentation: abi::PRES_RESTRICTED,
        caller: s(b"0301234567"),
        caller_name: s("Jürgen".as_bytes()),
        called: s(b"4001"),
        redirecting: s(b"4000"),
        classification: s(b"vip"),
        vars: vars.as_ptr(),
        vars_len: vars.len(),
        unix_time_ms: MONDAY_2024 + 9 * 3_600_000,
        utc_offset_min: 60,
    }
}

// ---- Decision <-> trunkd_decision ----

fn buf_str(b: &TrunkdBuf) -> String {
    String::from_utf8(b.buf[..b.len as usize].iter().map(|&c| c as u8).collect()).unwrap()
}

#[test]
fn decisions_round_trip() {
    let cases = [
        Decision::NoOpinion,
        Decision::script("menu.lua", ["en", "night"]),
        Decision::script("x".repeat(BUF_CAP), vec!["a".repeat(BUF_CAP); MAX_ARGS]),
        Decision::script("menu.lua", Vec::<String>::new()),
        Decision::dial("pri-1", "0301234567"),
        Decision::dial("pri-1", ""),
        Decision::queue("agents"),
        Decision::Reject { cause: 21 },
        Decision::Reject { cause: 1 },
        Decision::Reject { cause: 127 },
    ];
    for d in cases {
        let mut raw = TrunkdDecision::EMPTY;
        raw.argc = 7; // garbage from an earlier call must not survive
        d.write_to(&mut raw).unwrap();
        assert_eq!(Decision::read_from(&raw).unwrap(), d);
    }
}

#[test]
fn decision_raw_fields() {
    let mut raw = TrunkdDecision::EMPTY;
    Decision::script("menu.lua", ["en"]).write_to(&mut raw).unwrap();
    assert_eq!((raw.action, raw.argc, raw.cause), (abi::SCRIPT, 1, 0));
    assert_eq!((buf_str(&raw.target), buf_str(&raw.args[0])), ("menu.lua".into(), "en".into()));

    Decision::dial("pri-1", "123").write_to(&mut raw).unwrap();
    assert_eq!((raw.action, raw.argc), (abi::DIAL, 0));
    assert_eq!((buf_str(&raw.target), buf_str(&raw.number)), ("pri-1".into(), "123".into()));

    Decision::Reject { cause: 17 }.write_to(&mut raw).unwrap();
    assert_eq!((raw.action, raw.cause, raw.target.len), (abi::REJECT, 17, 0));
}

#[test]
fn decisions_over_the_limits_are_refused_not_truncated() {
    let too_long = "x".repeat(BUF_CAP + 1);
    let cases = [
        (Decision::dial(too_long.as_str(), ""), DecisionError::TooLong { field: Field::Target, len: BUF_CAP + 1 }),
        (Decision::dial("pri-1", too_long.as_str()), DecisionError::TooLong { field: Field::Number, len: BUF_CAP + 1 }),
        (
            Decision::script("m.lua", ["a", too_long.as_str()]),
            DecisionError::TooLong { field: Field::Arg(1), len: 257 },
        ),
        (Decision::script("m.lua", vec!["a"; MAX_ARGS + 1]), DecisionError::TooManyArgs(MAX_ARGS + 1)),
        (Decision::Reject { cause: 0 }, DecisionError::BadCause(0)),
        (Decision::Reject { cause: 128 }, DecisionError::BadCause(128)),
        (Decision::queue(""), DecisionError::EmptyTarget),
        (Decision::dial("", "1"), DecisionError::EmptyTarget),
        (Decision::script("", ["a"]), DecisionError::EmptyTarget),
    ];
    for (d, want) in cases {
        let mut raw = TrunkdDecision::EMPTY;
        Decision::dial("old", "1").write_to(&mut raw).unwrap();
        assert_eq!(d.write_to(&mut raw), Err(want.clone()), "{d:?}");
        assert_eq!(Decision::read_from(&raw), Ok(Decision::NoOpinion), "out reset after {want}");
        assert_eq!((raw.target.len, raw.number.len), (0, 0));
    }
}

#[test]
fn raw_decisions_are_checked_when_read() {
    let mut raw = TrunkdDecision::EMPTY;
    raw.action = abi::DIAL;
    raw.target.len = 100_000;
    assert_eq!(Decision::read_from(&raw), Err(DecisionError::TooLong { field: Field::Target, len: 100_000 }));

    raw.target.len = 2;
    raw.target.buf[0] = 0xffu8 as c_char;
    raw.target.buf[1] = 0xfeu8 as c_char;
    assert_eq!(Decision::read_from(&raw), Err(DecisionError::NotUtf8(Field::Target)));

    raw.action = 9;
    assert_eq!(Decision::read_from(&raw), Err(DecisionError::UnknownAction(9)));

    let mut raw = TrunkdDecision::EMPTY;
    raw.action = abi::SCRIPT;
    raw.target.len = 1;
    raw.target.buf[0] = b'm' as c_char;
    raw.argc = MAX_ARGS as u32 + 1;
    assert_eq!(Decision::read_from(&raw), Err(DecisionError::TooManyArgs(MAX_ARGS + 1)));

    let mut raw = TrunkdDecision::EMPTY;
    raw.action = abi::REJECT;
    raw.cause = 300;
    assert_eq!(Decision::read_from(&raw), Err(DecisionError::BadCause(300)));
}

// ---- Call ----

#[test]
fn call_view_reads_every_field() {
    let vars = [var("lang", "en"), var("did", "4001"), var("lang", "de")];
    let raw = raw_call(&vars);
    // SAFETY: `raw` and everything it points to outlive `call`.
    let call = unsafe { Call::from_raw(&raw) }.unwrap();
    assert_eq!(call.id(), 42);
    assert_eq!(call.direction(), Direction::Outbound);
    assert_eq!((call.group(), call.device(), call.channel()), ("pri-1", "pri-1/5", 5));
    assert_eq!(call.caller_presentation(), Presentation::Restricted);
    assert_eq!((call.caller(), call.caller_name(), call.called()), ("0301234567", "Jürgen", "4001"));
    assert_eq!((call.redirecting(), call.classification()), ("4000", "vip"));
    assert_eq!(call.vars().collect::<Vec<_>>(), [("lang", "en"), ("did", "4001"), ("lang", "de")]);
    assert_eq!(call.vars().len(), 3);
    assert_eq!((call.var("lang"), call.var("did"), call.var("nope")), (Some("en"), Some("4001"), None));
    assert_eq!((call.unix_time_ms(), call.utc_offset_min()), (MONDAY_2024 + 9 * 3_600_000, 60));
    assert_eq!((call.local_weekday(), call.local_minutes_of_day()), (0, 10 * 60));
    assert!(format!("{call:?}").contains("\"lang\": \"en\""));
    // SAFETY: NULL is allowed.
    assert!(unsafe { Call::from_raw(ptr::null()) }.is_none());
}

#[test]
fn call_view_tolerates_null_and_bad_strings() {
    let bad = [0xffu8, 0xfe, b'1'];
    let mut raw = raw_call(&[]);
    raw.group = NULL_STR;
    raw.device = TrunkdStr { ptr: ptr::null(), len: 5 }; // against the rules, still ""
    raw.caller = s(&bad);
    raw.called = s(&bad[2..]);
    raw.caller_name = s(b"");
    raw.vars = ptr::null();
    raw.vars_len = 3;
    raw.direction = 7;
    raw.caller_presentation = 9;
    // SAFETY: every non-NULL pointer in `raw` is valid for its length.
    let call = unsafe { Call::from_raw(&raw) }.unwrap();
    assert_eq!((call.group(), call.device(), call.caller(), call.caller_name()), ("", "", "", ""));
    assert_eq!(call.called(), "1");
    assert_eq!(call.vars().count(), 0);
    assert_eq!((call.direction(), call.caller_presentation()), (Direction::Other(7), Presentation::Other(9)));

    let vars = [TrunkdVar { name: s(b"ok"), value: s(&bad) }, TrunkdVar { name: NULL_STR, value: s(b"v") }];
    raw.vars = vars.as_ptr();
    raw.vars_len = vars.len();
    // SAFETY: as above.
    let call = unsafe { Call::from_raw(&raw) }.unwrap();
    assert_eq!(call.vars().collect::<Vec<_>>(), [("ok", ""), ("", "v")]);
}

/// Copies the first `size` bytes of `raw` into a buffer of just that size (rounded up to
/// whole u64s, for alignment), as an older trunkd would pass it.
fn truncated<T>(raw: &T, size: usize) -> Vec<u64> {
    let mut words = vec![0u64; size.div_ceil(8)];
    // SAFETY: `raw` is readable for size_of::<T>() >= size bytes, `words` writable for at
    // least `size` bytes, and the two do not overlap.
    unsafe { ptr::copy_nonoverlapping((raw as *const T).cast::<u8>(), words.as_mut_ptr().cast::<u8>(), size) };
    words
}

#[test]
fn call_view_respects_struct_size() {
    let vars = [var("lang", "en")];
    let mut raw = raw_call(&vars);
    // An older trunkd whose trunkd_call ended after `called`.
    let size = offset_of!(TrunkdCall, called) + size_of::<TrunkdStr>();
    raw.struct_size = size as u32;
    let words = truncated(&raw, size);
    // SAFETY: `words` holds `size` bytes of a trunkd_call; its string pointers are valid.
    let call = unsafe { Call::from_raw(words.as_ptr().cast::<TrunkdCall>()) }.unwrap();
    assert_eq!((call.id(), call.caller(), call.called()), (42, "0301234567", "4001"));
    assert_eq!((call.redirecting(), call.classification()), ("", ""));
    assert_eq!(call.vars().count(), 0);
    assert_eq!((call.unix_time_ms(), call.utc_offset_min()), (0, 0));

    // A field cut in half is absent too.
    let size = offset_of!(TrunkdCall, caller) + 8;
    raw.struct_size = size as u32;
    let words = truncated(&raw, size);
    // SAFETY: as above.
    let call = unsafe { Call::from_raw(words.as_ptr().cast::<TrunkdCall>()) }.unwrap();
    assert_eq!((call.channel(), call.caller(), call.called()), (5, "", ""));

    // Nothing but struct_size.
    raw.struct_size = 4;
    let words = truncated(&raw, 4);
    // SAFETY: as above.
    let call = unsafe { Call::from_raw(words.as_ptr().cast::<TrunkdCall>()) }.unwrap();
    assert_eq!((call.id(), call.direction(), call.group()), (0, Direction::Inbound, ""));

    // A newer trunkd with a bigger struct: our fields read normally.
    raw.struct_size = 4096;
    // SAFETY: only our size_of::<TrunkdCall>() bytes are read.
    let call = unsafe { Call::from_raw(&raw) }.unwrap();
    assert_eq!((call.utc_offset_min(), call.var("lang")), (60, Some("en")));
}

#[test]
fn time_of_day_helpers() {
    let at = |ms: i64, off: i32| {
        let call = Call::builder().time(ms, off).build();
        (call.local_weekday(), call.local_minutes_of_day())
    };
    assert_eq!(at(0, 0), (3, 0)); // 1970-01-01 was a Thursday
    assert_eq!(at(MONDAY_2024, 0), (0, 0));
    assert_eq!(at(MONDAY_2024 + 9 * 3_600_000 + 30 * 60_000 + 59_999, 0), (0, 9 * 60 + 30));
    assert_eq!(at(MONDAY_2024 - 30 * 60_000, 0), (6, 23 * 60 + 30)); // Sunday 23:30 UTC
    assert_eq!(at(MONDAY_2024 - 30 * 60_000, 60), (0, 30)); // ... Monday 00:30 in CET
    assert_eq!(at(MONDAY_2024 + 60_000, -300), (6, 19 * 60 + 1)); // Sunday evening in New York
    assert_eq!(at(MONDAY_2024 + 6 * 86_400_000, 0), (6, 0));
    assert_eq!(at(-60_000, 0), (2, 23 * 60 + 59)); // 1969-12-31 23:59, a Wednesday
    assert_eq!(at(MONDAY_2024, 14 * 60), (0, 14 * 60));
    for (ms, off) in [(i64::MAX, i32::MAX), (i64::MIN, i32::MIN), (i64::MIN, 0), (i64::MAX, -1)] {
        let (day, min) = at(ms, off);
        assert!(day < 7 && min < 1440);
    }
}

#[test]
fn call_builder() {
    let vars = [("a", "1")];
    let call = Call::builder().called("95123").classification("blacklist").vars(&vars).var("b", "2").build();
    assert_eq!((call.called(), call.classification(), call.caller()), ("95123", "blacklist", ""));
    assert_eq!(call.vars().collect::<Vec<_>>(), [("a", "1"), ("b", "2")]);
}

// ---- Settings, Event ----

#[test]
fn settings_view() {
    let raw = [var("rules", "95=dial:pri-1"), var("empty", ""), TrunkdVar { name: s(b"bad"), value: s(&[0xc3]) }];
    // SAFETY: `raw` outlives `settings`.
    let settings = unsafe { Settings::from_raw(raw.as_ptr(), raw.len()) };
    assert_eq!(settings.get("rules"), Some("95=dial:pri-1"));
    assert_eq!((settings.get("empty"), settings.get("bad"), settings.get("none")), (Some(""), Some(""), None));
    assert_eq!(settings.len(), 3);
    assert_eq!(settings.iter().map(|(n, _)| n).collect::<Vec<_>>(), ["rules", "empty", "bad"]);
    assert_eq!(settings.require("nope"), Err("missing setting `nope`".to_owned()));
    // SAFETY: NULL is allowed.
    assert!(unsafe { Settings::from_raw(ptr::null(), 5) }.is_empty());
    assert_eq!(Settings::from_pairs(&[("a", "b")]).get("a"), Some("b"));
}

#[test]
fn event_view() {
    let raw = TrunkdEvent {
        struct_size: size_of::<TrunkdEvent>() as u32,
        cause: 16,
        call_id: 7,
        kind: s(b"ended"),
        talk_ms: 61_000,
    };
    // SAFETY: `raw` outlives the view.
    let ev = unsafe { Event::from_raw(&raw) }.unwrap();
    assert_eq!(ev, Event::new(7, "ended", 16, 61_000));
    assert!(ev.is_ended() && !ev.is_answered());

    let size = offset_of!(TrunkdEvent, kind) + size_of::<TrunkdStr>();
    let words = truncated(&TrunkdEvent { struct_size: size as u32, ..raw }, size);
    // SAFETY: `words` holds `size` bytes of a trunkd_event.
    let ev = unsafe { Event::from_raw(words.as_ptr().cast::<TrunkdEvent>()) }.unwrap();
    assert_eq!(ev, Event::new(7, "ended", 16, 0));
}

// ---- the generated vtable and shims ----

/// A plugin with a bug for every occasion: settings `fail` / `panic` break init; called
/// number "panic" panics route, "long" returns a decision too long for the ABI.
struct Tester {
    group: String,
    events: u32,
}

impl Plugin for Tester {
    const NAME: &'static str = "sdk_test";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn init(settings: &Settings) -> Result<Self, String> {
        if let Some(msg) = settings.get("fail") {
            return Err(msg.to_owned());
        }
        if settings.contains("panic") {
            panic!("boom in init");
        }
        Ok(Tester { group: settings.require("group")?.to_owned(), events: 0 })
    }

    fn route(&mut self, call: &Call) -> Decision {
        match call.called() {
            "panic" => panic!("boom in route for call {}", call.id()),
            "long" => Decision::dial("g".repeat(BUF_CAP + 1), ""),
            "events" => Decision::Reject { cause: (self.events as u8).max(1) },
            "" => Decision::NoOpinion,
            n => Decision::dial(&self.group, n),
        }
    }

    fn event(&mut self, ev: &Event) {
        if ev.kind() == "panic" {
            panic!("boom in event");
        }
        self.events += 1;
    }
}

export_plugin!(Tester);

fn vtable() -> abi::TrunkdPluginV1 {
    let entry: abi::EntryFn = trunkd_plugin_entry;
    // SAFETY: the entry point returns a pointer to a static vtable.
    unsafe { *entry() }
}

fn init(settings: &[TrunkdVar]) -> (*mut std::ffi::c_void, String) {
    let mut err = TrunkdBuf::EMPTY;
    // SAFETY: valid settings and error buffer.
    let inst = unsafe { vtable().init.unwrap()(settings.as_ptr(), settings.len(), &mut err) };
    (inst, buf_str(&err))
}

fn route(inst: *mut std::ffi::c_void, called: &str) -> (i32, Result<Decision, DecisionError>) {
    let mut raw = raw_call(&[]);
    raw.called = s(called.as_bytes());
    let mut out = TrunkdDecision::EMPTY;
    // SAFETY: `inst` is a live instance, `raw` and `out` are valid.
    let rc = unsafe { vtable().route.unwrap()(inst, &raw, &mut out) };
    (rc, Decision::read_from(&out))
}

#[test]
fn vtable_is_complete() {
    let vt = vtable();
    assert_eq!((vt.abi_version, vt.struct_size as usize), (abi::ABI_VERSION, size_of::<abi::TrunkdPluginV1>()));
    // SAFETY: name and version are static NUL-terminated strings.
    let (name, version) = unsafe { (CStr::from_ptr(vt.name), CStr::from_ptr(vt.version)) };
    assert_eq!((name.to_str().unwrap(), version.to_str().unwrap()), ("sdk_test", env!("CARGO_PKG_VERSION")));
    assert!(vt.init.is_some() && vt.route.is_some() && vt.event.is_some() && vt.shutdown.is_some());
    assert_eq!(trunkd_plugin_entry(), trunkd_plugin_entry(), "one static vtable");
}

#[test]
fn shims_route_and_survive_panics() {
    let (inst, err) = init(&[var("group", "pri-2")]);
    assert!(!inst.is_null(), "{err}");
    assert_eq!(route(inst, "0301234"), (0, Ok(Decision::dial("pri-2", "0301234"))));
    assert_eq!(route(inst, ""), (0, Ok(Decision::NoOpinion)));
    assert_eq!(route(inst, "panic"), (ERR_PANIC, Ok(Decision::NoOpinion)));
    assert_eq!(route(inst, "long"), (ERR_INVALID_DECISION, Ok(Decision::NoOpinion)));
    assert_eq!(route(inst, "123"), (0, Ok(Decision::dial("pri-2", "123"))), "usable after a panic");

    let vt = vtable();
    let (route_fn, event_fn, shutdown_fn) = (vt.route.unwrap(), vt.event.unwrap(), vt.shutdown.unwrap());
    let raw = raw_call(&[]);
    let mut out = TrunkdDecision::EMPTY;
    let ev = |kind: &'static str| TrunkdEvent {
        struct_size: size_of::<TrunkdEvent>() as u32,
        cause: 16,
        call_id: 42,
        kind: s(kind.as_bytes()),
        talk_ms: 0,
    };
    // SAFETY: NULL arguments are what is being tested; the rest is valid.
    unsafe {
        assert_eq!(route_fn(ptr::null_mut(), &raw, &mut out), ERR_NULL_ARGUMENT);
        assert_eq!(route_fn(inst, ptr::null(), &mut out), ERR_NULL_ARGUMENT);
        assert_eq!(route_fn(inst, &raw, ptr::null_mut()), ERR_NULL_ARGUMENT);
        event_fn(inst, &ev("answered"));
        event_fn(inst, &ev("panic"));
        event_fn(inst, ptr::null());
        event_fn(ptr::null_mut(), &ev("ended"));
        event_fn(inst, &ev("ended"));
    }
    assert_eq!(route(inst, "events"), (0, Ok(Decision::Reject { cause: 2 })));
    // SAFETY: `inst` is live and not used afterwards; NULL is allowed.
    unsafe {
        shutdown_fn(inst);
        shutdown_fn(ptr::null_mut());
    }
}

#[test]
fn shims_report_init_failures() {
    assert_eq!(init(&[var("fail", "no database")]), (ptr::null_mut(), "no database".to_owned()));
    assert_eq!(init(&[]), (ptr::null_mut(), "missing setting `group`".to_owned()));
    assert_eq!(init(&[var("fail", "")]), (ptr::null_mut(), "init failed (no message)".to_owned()));
    assert_eq!(init(&[var("panic", "1")]), (ptr::null_mut(), "init panicked: boom in init".to_owned()));
    let long = Box::leak("é".repeat(200).into_boxed_str());
    let (inst, err) = init(&[var("fail", long)]);
    assert!(inst.is_null());
    assert_eq!(err, "é".repeat(BUF_CAP / 2), "truncated at a character boundary");

    let init_fn = vtable().init.unwrap();
    let mut err = TrunkdBuf::EMPTY;
    // SAFETY: NULL arguments are what is being tested.
    unsafe {
        assert!(init_fn(ptr::null(), 3, &mut err).is_null());
        assert_eq!(buf_str(&err), "settings is NULL but settings_len is 3");
        assert!(init_fn([var("panic", "")].as_ptr(), 1, ptr::null_mut()).is_null());
        let inst = init_fn([var("group", "g")].as_ptr(), 1, ptr::null_mut());
        assert!(!inst.is_null());
        vtable().shutdown.unwrap()(inst);
    }
}

/// A stateless plugin: its instance is a zero-sized box, still a non-NULL pointer.
#[test]
fn zero_sized_instances_are_not_null() {
    struct Nothing;
    impl Plugin for Nothing {
        const NAME: &'static str = "nothing";
        const VERSION: &'static str = "0";
        fn init(_: &Settings) -> Result<Self, String> {
            Ok(Nothing)
        }
        fn route(&mut self, _: &Call) -> Decision {
            Decision::NoOpinion
        }
    }
    let mut err = TrunkdBuf::EMPTY;
    // SAFETY: valid (empty) settings and error buffer; the instance is shut down once.
    unsafe {
        let inst = crate::export::init::<Nothing>(ptr::null(), 0, &mut err);
        assert!(!inst.is_null());
        let mut out = TrunkdDecision::EMPTY;
        assert_eq!(crate::export::route::<Nothing>(inst, &raw_call(&[]), &mut out), 0);
        crate::export::shutdown::<Nothing>(inst);
    }
}

#[test]
fn names_are_nul_terminated_at_compile_time() {
    const N: [u8; 4] = crate::export::nul_terminated("lcr");
    assert_eq!(&N, b"lcr\0");
}
