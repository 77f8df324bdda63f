//! Pins the layout of every struct in `abi` against the C header: a small C program,
//! compiled with `cc` (or `$CC`), prints `sizeof`, alignment, and each field's offset, size
//! and (for integers) signedness, plus the header's constants; they must all equal Rust's.
//! Skipped, with a message, when no C compiler is installed.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::fmt::Write as _;
use std::mem::{align_of, offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

use trunkd_plugin::abi::*;

trait Int {
    const SIGNED: bool;
}
macro_rules! int {
    ($($t:ty: $s:expr),*) => { $(impl Int for $t { const SIGNED: bool = $s; })* };
}
int!(u32: false, i32: true, u64: false, i64: true, usize: false);

fn field_size<S, F>(_: fn(&S) -> &F) -> usize {
    size_of::<F>()
}
fn field_signed<S, F: Int>(_: fn(&S) -> &F) -> bool {
    F::SIGNED
}

/// Collects, for each entry, the C expression printed and the value Rust expects.
#[derive(Default)]
struct Layout {
    c: String,
    rust: BTreeMap<String, String>,
}

impl Layout {
    fn expect(&mut self, key: String, c_expr: String, fmt: &str, rust: impl ToString) {
        writeln!(self.c, "    printf(\"{key} {fmt}\\n\", {c_expr});").unwrap();
        self.rust.insert(key, rust.to_string());
    }
}

macro_rules! layout {
    ($l:ident; $($cty:literal = $rty:ty { ints: [$($i:ident),*] other: [$($o:ident),*] })*) => {$(
        $l.expect(format!("{}.sizeof", $cty), format!("sizeof({})", $cty), "%zu", size_of::<$rty>());
        $l.expect(format!("{}.alignof", $cty), format!("_Alignof({})", $cty), "%zu", align_of::<$rty>());
        $(
            $l.expect(format!("{}.{}.offset", $cty, stringify!($i)), format!("offsetof({}, {})", $cty, stringify!($i)), "%zu", offset_of!($rty, $i));
            $l.expect(format!("{}.{}.size", $cty, stringify!($i)), format!("sizeof((({}*)0)->{})", $cty, stringify!($i)), "%zu", field_size(|s: &$rty| &s.$i));
            $l.expect(
                format!("{}.{}.signed", $cty, stringify!($i)),
                format!("(int)!((__typeof__((({0}*)0)->{1}))-1 > (__typeof__((({0}*)0)->{1}))0)", $cty, stringify!($i)),
                "%d",
                i32::from(field_signed(|s: &$rty| &s.$i)),
            );
        )*
        $(
            $l.expect(format!("{}.{}.offset", $cty, stringify!($o)), format!("offsetof({}, {})", $cty, stringify!($o)), "%zu", offset_of!($rty, $o));
            $l.expect(format!("{}.{}.size", $cty, stringify!($o)), format!("sizeof((({}*)0)->{})", $cty, stringify!($o)), "%zu", field_size(|s: &$rty| &s.$o));
        )*
    )*};
}

fn expected() -> Layout {
    let mut l = Layout::default();
    layout! { l;
        "trunkd_str" = TrunkdStr { ints: [len] other: [ptr] }
        "trunkd_var" = TrunkdVar { ints: [] other: [name, value] }
        "trunkd_buf" = TrunkdBuf { ints: [len] other: [buf] }
        "trunkd_call" = TrunkdCall {
            ints: [struct_size, direction, call_id, channel, caller_presentation, vars_len, unix_time_ms, utc_offset_min]
            other: [group, device, caller, caller_name, called, redirecting, classification, vars]
        }
        "trunkd_decision" = TrunkdDecision { ints: [action, cause, argc] other: [target, number, args] }
        "trunkd_event" = TrunkdEvent { ints: [struct_size, cause, call_id, talk_ms] other: [kind] }
        "trunkd_plugin_v1" = TrunkdPluginV1 {
            ints: [abi_version, struct_size]
            other: [name, version, init, route, event, shutdown]
        }
    }
    let consts: [(&str, u64); 13] = [
        ("TRUNKD_PLUGIN_ABI_VERSION", ABI_VERSION.into()),
        ("TRUNKD_BUF_CAP", BUF_CAP as u64),
        ("TRUNKD_MAX_ARGS", MAX_ARGS as u64),
        ("TRUNKD_INBOUND", INBOUND.into()),
        ("TRUNKD_OUTBOUND", OUTBOUND.into()),
        ("TRUNKD_PRES_ALLOWED", PRES_ALLOWED.into()),
        ("TRUNKD_PRES_RESTRICTED", PRES_RESTRICTED.into()),
        ("TRUNKD_PRES_UNAVAILABLE", PRES_UNAVAILABLE.into()),
        ("TRUNKD_NO_OPINION", NO_OPINION.into()),
        ("TRUNKD_SCRIPT", SCRIPT.into()),
        ("TRUNKD_DIAL", DIAL.into()),
        ("TRUNKD_QUEUE", QUEUE.into()),
        ("TRUNKD_REJECT", REJECT.into()),
    ];
    for (name, value) in consts {
        l.expect(name.to_owned(), format!("(unsigned long long)({name})"), "%llu", value);
    }
    // `char` (the bytes of trunkd_buf) is `c_char` with the same signedness.
    l.expect("char.size".into(), "sizeof(char)".into(), "%zu", size_of::<std::ffi::c_char>());
    let signed = i32::from(std::ffi::c_char::MIN != 0);
    l.expect("char.signed".into(), "(int)!((char)-1 > (char)0)".into(), "%d", signed);
    let entry = CStr::from_bytes_with_nul(ENTRY_SYMBOL).unwrap().to_str().unwrap();
    l.expect("TRUNKD_PLUGIN_ENTRY".into(), "TRUNKD_PLUGIN_ENTRY".into(), "%s", entry);
    l
}

fn header_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Runs the C compiler; `None` if there is none.
fn cc(args: &[&str]) -> Option<std::process::Output> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    match Command::new(&cc).args(args).output() {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("SKIPPED: no C compiler `{cc}` to check the ABI layout against trunkd_plugin.h");
            None
        }
        Err(e) => panic!("running {cc}: {e}"),
    }
}

#[test]
fn rust_layout_matches_the_c_header() {
    let layout = expected();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("layout");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("layout.c");
    let exe = dir.join("layout");
    let program =
        format!("#include <stdio.h>\n#include \"trunkd_plugin.h\"\nint main(void) {{\n{}    return 0;\n}}\n", layout.c);
    std::fs::write(&src, program).unwrap();
    let include = format!("-I{}", header_dir().display());
    let Some(out) =
        cc(&["-std=c11", "-Wall", "-Wextra", "-Werror", &include, "-o", exe.to_str().unwrap(), src.to_str().unwrap()])
    else {
        return;
    };
    assert!(out.status.success(), "cc failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success());
    let c: BTreeMap<String, String> = String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let mismatches: Vec<String> = layout
        .rust
        .iter()
        .filter(|(k, v)| c.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: Rust {v}, C {}", c.get(k).map_or("(missing)", String::as_str)))
        .collect();
    assert!(mismatches.is_empty(), "abi.rs differs from trunkd_plugin.h:\n{}", mismatches.join("\n"));
    assert_eq!(c.len(), layout.rust.len());
}

/// The header compiles warning-free as strict C99 and as C++.
#[test]
fn header_is_clean_c99_and_cxx() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("layout");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("include.c");
    std::fs::write(&src, "#include \"trunkd_plugin.h\"\nint trunkd_dummy(void) { return 0; }\n").unwrap();
    let include = format!("-I{}", header_dir().display());
    let obj = dir.join("include.o");
    let (src, obj) = (src.to_str().unwrap(), obj.to_str().unwrap());
    let flags = ["-Wall", "-Wextra", "-Werror", "-pedantic", &include, "-c", "-o", obj];
    let Some(out) = cc(&[&["-std=c99"][..], &flags, &[src]].concat()) else { return };
    assert!(out.status.success(), "C99:\n{}", String::from_utf8_lossy(&out.stderr));
    let Some(out) = cc(&[&["-x", "c++", "-std=c++11"][..], &flags, &[src]].concat()) else { return };
    if String::from_utf8_lossy(&out.stderr).contains("not found")
        || String::from_utf8_lossy(&out.stderr).contains("cc1plus")
    {
        eprintln!("SKIPPED: no C++ compiler");
        return;
    }
    assert!(out.status.success(), "C++:\n{}", String::from_utf8_lossy(&out.stderr));
}
