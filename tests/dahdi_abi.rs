//! The DAHDI ABI of `trunkd::backend::dahdi::sys` against the real `dahdi/user.h`.
//!
//! Generates a C program from the table below (each ioctl number, constant, struct size
//! and field offset the Rust side defines), compiles it against the header, runs it, and
//! compares its `NAME VALUE` lines with the Rust values. The header comes from
//! `$DAHDI_INCLUDE/dahdi/user.h`, else `/usr/include/dahdi/user.h` (Debian `dahdi-source`),
//! else it is extracted from `/usr/src/dahdi.tar.bz2` (also `dahdi-source`). Without a C
//! compiler or the header the test is skipped with a message, unless `CI` is set.

#![cfg(target_os = "linux")]

use std::collections::HashMap;
use std::mem::{offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

use trunkd::backend::dahdi::sys::*;

/// One checked value: its name in the output, the C expression, the Rust value.
struct Entry {
    key: String,
    c_expr: String,
    rust: i64,
}

fn table() -> Vec<Entry> {
    let mut t = Vec::new();
    macro_rules! ioctl {
        ($($n:ident),* $(,)?) => {$(
            t.push(Entry { key: stringify!($n).into(), c_expr: format!("(unsigned int)({})", stringify!($n)), rust: i64::from($n) });
        )*};
    }
    macro_rules! int {
        ($($n:ident),* $(,)?) => {$(
            t.push(Entry { key: stringify!($n).into(), c_expr: format!("(int)({})", stringify!($n)), rust: i64::from($n) });
        )*};
    }
    macro_rules! size {
        ($c:ident, $r:ty) => {
            t.push(Entry {
                key: format!("sizeof:{}", stringify!($c)),
                c_expr: format!("sizeof(struct {})", stringify!($c)),
                rust: size_of::<$r>() as i64,
            });
        };
    }
    macro_rules! offsets {
        ($c:ident, $r:ty, $($f:ident),* $(,)?) => {$(
            t.push(Entry {
                key: format!("offsetof:{}.{}", stringify!($c), stringify!($f)),
                c_expr: format!("offsetof(struct {}, {})", stringify!($c), stringify!($f)),
                rust: offset_of!($r, $f) as i64,
            });
        )*};
    }

    ioctl!(
        DAHDI_GET_BLOCKSIZE,
        DAHDI_SET_BLOCKSIZE,
        DAHDI_FLUSH,
        DAHDI_GET_PARAMS,
        DAHDI_SET_PARAMS,
        DAHDI_HOOK,
        DAHDI_GETEVENT,
        DAHDI_IOMUX,
        DAHDI_SPANSTAT,
        DAHDI_TIMERCONFIG,
        DAHDI_TIMERACK,
        DAHDI_GET_BUFINFO,
        DAHDI_SET_BUFINFO,
        DAHDI_AUDIOMODE,
        DAHDI_ECHOCANCEL_PARAMS,
        DAHDI_CHANNO,
        DAHDI_HDLCFCSMODE,
        DAHDI_SPECIFY,
        DAHDI_SETLAW,
        DAHDI_SETLINEAR,
        DAHDI_SETCADENCE,
        DAHDI_GETRXBITS,
        DAHDI_SETTXBITS,
        DAHDI_GETVERSION,
        DAHDI_SETPOLARITY,
        DAHDI_STARTUP,
        DAHDI_SHUTDOWN,
    );
    int!(
        DAHDI_SIG_NONE,
        DAHDI_SIG_FXSLS,
        DAHDI_SIG_FXSGS,
        DAHDI_SIG_FXSKS,
        DAHDI_SIG_FXOLS,
        DAHDI_SIG_FXOGS,
        DAHDI_SIG_FXOKS,
        DAHDI_SIG_EM,
        DAHDI_SIG_CLEAR,
        DAHDI_SIG_HDLCRAW,
        DAHDI_SIG_HDLCFCS,
        DAHDI_SIG_HDLCNET,
        DAHDI_SIG_SLAVE,
        DAHDI_SIG_SF,
        DAHDI_SIG_CAS,
        DAHDI_SIG_EM_E1,
        DAHDI_SIG_HARDHDLC,
        DAHDI_SIG_MTP2,
        DAHDI_SIG_BROKEN,
        DAHDI_ABIT,
        DAHDI_BBIT,
        DAHDI_CBIT,
        DAHDI_DBIT,
        DAHDI_POLICY_IMMEDIATE,
        DAHDI_POLICY_WHEN_FULL,
        DAHDI_POLICY_HALF_FULL,
        DAHDI_LAW_DEFAULT,
        DAHDI_LAW_MULAW,
        DAHDI_LAW_ALAW,
        DAHDI_ONHOOK,
        DAHDI_OFFHOOK,
        DAHDI_WINK,
        DAHDI_FLASH,
        DAHDI_START,
        DAHDI_RING,
        DAHDI_RINGOFF,
        DAHDI_FLUSH_READ,
        DAHDI_FLUSH_WRITE,
        DAHDI_FLUSH_BOTH,
        DAHDI_FLUSH_EVENT,
        DAHDI_FLUSH_ALL,
        DAHDI_MAX_CADENCE,
        DAHDI_IOMUX_READ,
        DAHDI_IOMUX_WRITE,
        DAHDI_IOMUX_WRITEEMPTY,
        DAHDI_IOMUX_SIGEVENT,
        DAHDI_IOMUX_NOWAIT,
        DAHDI_ALARM_NONE,
        DAHDI_ALARM_RECOVER,
        DAHDI_ALARM_LOOPBACK,
        DAHDI_ALARM_YELLOW,
        DAHDI_ALARM_RED,
        DAHDI_ALARM_BLUE,
        DAHDI_ALARM_NOTOPEN,
        DAHDI_ALARM_LOS,
        DAHDI_ALARM_LFA,
        DAHDI_ALARM_LMFA,
        DAHDI_EVENT_NONE,
        DAHDI_EVENT_ONHOOK,
        DAHDI_EVENT_RINGOFFHOOK,
        DAHDI_EVENT_WINKFLASH,
        DAHDI_EVENT_ALARM,
        DAHDI_EVENT_NOALARM,
        DAHDI_EVENT_ABORT,
        DAHDI_EVENT_OVERRUN,
        DAHDI_EVENT_BADFCS,
        DAHDI_EVENT_DIALCOMPLETE,
        DAHDI_EVENT_RINGERON,
        DAHDI_EVENT_RINGEROFF,
        DAHDI_EVENT_HOOKCOMPLETE,
        DAHDI_EVENT_BITSCHANGED,
        DAHDI_EVENT_PULSE_START,
        DAHDI_EVENT_TIMER_EXPIRED,
        DAHDI_EVENT_TIMER_PING,
        DAHDI_EVENT_POLARITY,
        DAHDI_EVENT_RINGBEGIN,
        DAHDI_EVENT_EC_DISABLED,
        DAHDI_EVENT_REMOVED,
        DAHDI_EVENT_NEONMWI_ACTIVE,
        DAHDI_EVENT_NEONMWI_INACTIVE,
        DAHDI_EVENT_TX_CED_DETECTED,
        DAHDI_EVENT_RX_CED_DETECTED,
        DAHDI_EVENT_TX_CNG_DETECTED,
        DAHDI_EVENT_RX_CNG_DETECTED,
        DAHDI_EVENT_EC_NLP_DISABLED,
        DAHDI_EVENT_EC_NLP_ENABLED,
        DAHDI_EVENT_READ_OVERRUN,
        DAHDI_EVENT_WRITE_UNDERRUN,
        DAHDI_EVENT_PULSEDIGIT,
        DAHDI_EVENT_DTMFDOWN,
        DAHDI_EVENT_DTMFUP,
    );
    // The typed enums carry the same numbers.
    for (name, rust) in [
        ("DAHDI_ONHOOK", HookOp::OnHook as i64),
        ("DAHDI_OFFHOOK", HookOp::OffHook as i64),
        ("DAHDI_WINK", HookOp::Wink as i64),
        ("DAHDI_FLASH", HookOp::Flash as i64),
        ("DAHDI_START", HookOp::Start as i64),
        ("DAHDI_RING", HookOp::Ring as i64),
        ("DAHDI_RINGOFF", HookOp::RingOff as i64),
        ("DAHDI_LAW_DEFAULT", DahdiLaw::Default as i64),
        ("DAHDI_LAW_MULAW", DahdiLaw::Mulaw as i64),
        ("DAHDI_LAW_ALAW", DahdiLaw::Alaw as i64),
        ("DAHDI_EVENT_BITSCHANGED", i64::from(DahdiEvent::BitsChanged.to_raw())),
        ("DAHDI_EVENT_WRITE_UNDERRUN", i64::from(DahdiEvent::WriteUnderrun.to_raw())),
    ] {
        t.push(Entry { key: format!("enum:{name}"), c_expr: format!("(int)({name})"), rust });
    }

    size!(dahdi_params, DahdiParams);
    size!(dahdi_spaninfo, DahdiSpaninfo);
    size!(dahdi_bufferinfo, DahdiBufferinfo);
    size!(dahdi_versioninfo, DahdiVersioninfo);
    size!(dahdi_echocanparams, DahdiEchocanparams);
    size!(dahdi_ring_cadence, DahdiRingCadence);
    #[rustfmt::skip]
    offsets!(dahdi_params, DahdiParams, channo, spanno, chanpos, sigtype, sigcap, rxisoffhook, rxbits, txbits,
        txhooksig, rxhooksig, curlaw, idlebits, name, prewinktime, preflashtime, winktime, flashtime, starttime,
        rxwinktime, rxflashtime, debouncetime, pulsebreaktime, pulsemaketime, pulseaftertime, chan_alarms);
    #[rustfmt::skip]
    offsets!(dahdi_spaninfo, DahdiSpaninfo, spanno, name, desc, alarms, txlevel, rxlevel, bpvcount, crc4count,
        ebitcount, fascount, fecount, cvcount, becount, prbs, errsec, irqmisses, syncsrc, numchans, totalchans,
        totalspans, lbo, lineconfig, lboname, location, manufacturer, devicetype, irq, linecompat, spantype);
    #[rustfmt::skip]
    offsets!(dahdi_bufferinfo, DahdiBufferinfo, txbufpolicy, rxbufpolicy, numbufs, bufsize, readbufs, writebufs);
    offsets!(dahdi_versioninfo, DahdiVersioninfo, version, echo_canceller);
    offsets!(dahdi_echocanparams, DahdiEchocanparams, tap_length, param_count);
    t
}

/// Skips (returns `None`) with a message, or fails when `CI` is set.
fn skip<T>(why: &str) -> Option<T> {
    assert!(std::env::var_os("CI").is_none(), "dahdi_abi: {why} (required when CI is set)");
    println!("skipping dahdi_abi: {why}");
    None
}

/// The `-I` directory holding `dahdi/user.h` (`Some(None)`: the system include path has it).
fn header_dir(tmp: &Path) -> Option<Option<PathBuf>> {
    if let Some(dir) = std::env::var_os("DAHDI_INCLUDE") {
        let dir = PathBuf::from(dir);
        if dir.join("dahdi/user.h").is_file() {
            return Some(Some(dir));
        }
        return skip(&format!("DAHDI_INCLUDE={} has no dahdi/user.h", dir.display()));
    }
    if Path::new("/usr/include/dahdi/user.h").is_file() {
        return Some(None);
    }
    let tarball = Path::new("/usr/src/dahdi.tar.bz2");
    if tarball.is_file() {
        let out = Command::new("tar")
            .arg("xjf")
            .arg(tarball)
            .arg("-C")
            .arg(tmp)
            .args(["--wildcards", "*/include/dahdi/user.h", "*/include/dahdi/dahdi_config.h"])
            .output();
        match out {
            Ok(o) if o.status.success() => {
                // <top>/modules/dahdi/include/dahdi/user.h in Debian's tarball; search for it.
                if let Some(dir) = find_include_dir(tmp) {
                    return Some(Some(dir));
                }
                return skip("user.h not found in /usr/src/dahdi.tar.bz2");
            }
            Ok(o) => return skip(&format!("tar failed: {}", String::from_utf8_lossy(&o.stderr))),
            Err(e) => return skip(&format!("cannot run tar: {e}")),
        }
    }
    skip("no dahdi/user.h (install Debian's dahdi-source, or set DAHDI_INCLUDE)")
}

fn find_include_dir(dir: &Path) -> Option<PathBuf> {
    if dir.join("dahdi/user.h").is_file() {
        return Some(dir.to_path_buf());
    }
    std::fs::read_dir(dir).ok()?.flatten().filter(|e| e.path().is_dir()).find_map(|e| find_include_dir(&e.path()))
}

fn c_program(t: &[Entry]) -> String {
    let mut c = String::from("#include <stddef.h>\n#include <stdio.h>\n#include <dahdi/user.h>\n\nint main(void)\n{\n");
    for e in t {
        c.push_str(&format!("\tprintf(\"%s %lld\\n\", \"{}\", (long long)({}));\n", e.key, e.c_expr));
    }
    c.push_str("\treturn 0;\n}\n");
    c
}

#[test]
fn rust_definitions_match_dahdi_user_h() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(include) = header_dir(tmp.path()) else { return };
    let t = table();
    let src = tmp.path().join("abi.c");
    let exe = tmp.path().join("abi");
    std::fs::write(&src, c_program(&t)).unwrap();

    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let mut cmd = Command::new(&cc);
    cmd.args(["-Wall", "-Werror", "-o"]).arg(&exe).arg(&src);
    if let Some(dir) = &include {
        cmd.arg("-I").arg(dir);
    }
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => return skip(&format!("cannot run C compiler {cc:?}: {e}")).unwrap_or(()),
    };
    assert!(
        out.status.success(),
        "compiling against {:?} failed:\n{}",
        include.as_deref().unwrap_or(Path::new("/usr/include")),
        String::from_utf8_lossy(&out.stderr)
    );

    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success());
    let stdout = String::from_utf8(run.stdout).unwrap();
    let c: HashMap<&str, i64> = stdout
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').unwrap();
            (k, v.parse().unwrap())
        })
        .collect();
    assert_eq!(c.len(), t.len(), "duplicate keys in the table?");

    let bad: Vec<String> = t
        .iter()
        .filter(|e| c[e.key.as_str()] != e.rust)
        .map(|e| format!("{}: Rust {:#x}, C {:#x}", e.key, e.rust, c[e.key.as_str()]))
        .collect();
    assert!(bad.is_empty(), "ABI mismatches:\n{}", bad.join("\n"));
    println!("dahdi_abi: {} values match dahdi/user.h", t.len());
}
