//! Exercises the real DAHDI driver through `trunkd::backend::dahdi::sys`, as
//! `tests/dahdi-vm/smoke.c` does in C: GETVERSION, STARTUP and SPANSTAT of spans 1 and 2,
//! CAS bits 3 <-> 27, HDLC frames 24 <-> 48, a G.711 block 1 -> 25 (with the bearer set up
//! as chan_dahdi does, echo canceller on/off), then HDLCFCSMODE and a frame on clear 1 -> 25.
//! Needs `tests/dahdi-vm/system.conf`, i.e. run it inside the VM:
//!
//! ```sh
//! cargo build --example dahdi_probe
//! tests/dahdi-vm/run.sh target/debug/examples/dahdi_probe
//! ```
//!
//! Exit status 0 only if every check passes.

// A probe of a live driver: it waits on the real clock, which the engine never does.
#![allow(clippy::disallowed_methods)]

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    probe::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("dahdi_probe: Linux only");
}

#[cfg(target_os = "linux")]
mod probe {
    use std::fs::File;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use std::process::ExitCode;
    use std::time::{Duration, Instant};

    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use trunkd::backend::dahdi::sys::{self, DahdiBufferinfo, DahdiEvent, DahdiLaw};
    use trunkd::backend::line::Abcd;

    struct Checks {
        failures: usize,
    }

    impl Checks {
        fn check(&mut self, ok: bool, what: impl std::fmt::Display) -> bool {
            println!("{}: {what}", if ok { "PASS" } else { "FAIL" });
            if !ok {
                self.failures += 1;
            }
            ok
        }
    }

    fn open(chan: i32) -> Option<File> {
        match sys::open_channel(chan) {
            Ok(fd) => Some(File::from(fd)),
            Err(e) => {
                println!("  open channel {chan}: {e}");
                None
            }
        }
    }

    fn print_params(f: &File) {
        match sys::get_params(f) {
            Ok(p) => println!(
                "  chan {} span {} pos {} name '{}' sigtype {:#x} law {} rxbits {:#x} txbits {:#x} alarms {}",
                p.channo,
                p.spanno,
                p.chanpos,
                p.name(),
                p.sigtype,
                p.curlaw,
                p.rxbits,
                p.txbits,
                p.alarms().describe()
            ),
            Err(e) => println!("  GET_PARAMS: {e}"),
        }
    }

    /// Reads all pending events; whether `want` was among them.
    fn drain(f: &File, who: &str, want: Option<DahdiEvent>) -> bool {
        let mut seen = false;
        for _ in 0..64 {
            match sys::get_event(f) {
                Ok(Some(ev)) => {
                    println!("  {who}: event {ev:?}");
                    seen |= Some(ev) == want;
                }
                _ => break,
            }
        }
        seen
    }

    fn wait_readable(f: &File, flags: PollFlags, ms: u16) {
        let mut fds = [PollFd::new(f.as_fd(), flags)];
        let _ = poll(&mut fds, PollTimeout::from(ms));
    }

    fn wait_event(f: &File, who: &str, want: DahdiEvent, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            wait_readable(f, PollFlags::POLLPRI, 50);
            if drain(f, who, Some(want)) {
                return true;
            }
        }
        false
    }

    fn cas(c: &mut Checks, a: i32, b: i32, bits: Abcd) {
        let (Some(fa), Some(fb)) = (open(a), open(b)) else {
            c.check(false, format_args!("CAS: open channels {a} and {b}"));
            return;
        };
        print_params(&fa);
        print_params(&fb);
        c.check(sys::channo(&fa) == Ok(a), format_args!("CHANNO of {a}"));
        drain(&fa, "cas a", None);
        drain(&fb, "cas b", None);
        c.check(sys::set_tx_bits(&fa, bits).is_ok(), format_args!("CAS: SETTXBITS {bits} on {a}"));
        let got = wait_event(&fb, "cas b", DahdiEvent::BitsChanged, Duration::from_secs(2));
        c.check(got, format_args!("CAS: BITSCHANGED on {b}"));
        let rx = sys::get_rx_bits(&fb);
        c.check(rx == Ok(bits), format_args!("CAS: GETRXBITS on {b} = {rx:?} (want {bits})"));
    }

    fn hdlc(c: &mut Checks, a: i32, b: i32, clear: bool) {
        let (Some(mut fa), Some(mut fb)) = (open(a), open(b)) else {
            c.check(false, format_args!("HDLC: open channels {a} and {b}"));
            return;
        };
        print_params(&fa);
        print_params(&fb);
        let bi = DahdiBufferinfo::immediate(32, 1024);
        let ok = sys::set_bufinfo(&fa, &bi).is_ok() && sys::set_bufinfo(&fb, &bi).is_ok();
        c.check(ok, "HDLC: SET_BUFINFO {0,0,32,1024}");
        if clear {
            // A clear channel becomes an HDLC-with-FCS channel.
            let r = (sys::hdlc_fcs_mode(&fa, true), sys::hdlc_fcs_mode(&fb, true));
            c.check(r == (Ok(()), Ok(())), format_args!("HDLC: HDLCFCSMODE 1 on clear {a} and {b}: {r:?}"));
        } else {
            // A `dchan` is HDLCFCS already; the driver takes HDLCFCSMODE on clear channels only.
            let r = sys::hdlc_fcs_mode(&fa, true);
            c.check(r == Err(nix::errno::Errno::EINVAL), format_args!("HDLC: HDLCFCSMODE on dchan {a}: {r:?}"));
        }
        let got = sys::get_bufinfo(&fa);
        c.check(
            got.map(|g| (g.numbufs, g.bufsize)) == Ok((32, 1024)),
            format_args!("HDLC: GET_BUFINFO on {a} = {got:?}"),
        );
        drain(&fa, "hdlc a", None);
        drain(&fb, "hdlc b", None);

        let mut frame = vec![0x00, 0x01, 0x7f];
        frame.extend_from_slice(b"trunkd-probe-hdlc");
        let n = frame.len();
        frame.extend_from_slice(&[0, 0]); // FCS placeholder, filled by the driver

        let mut ok = false;
        for attempt in 1..=5 {
            if ok {
                break;
            }
            match fa.write(&frame) {
                Err(e) if sys::is_event_pending(&e) => {
                    drain(&fa, "hdlc a", None);
                    continue;
                }
                r => println!("  HDLC attempt {attempt}: write {} bytes -> {r:?}", frame.len()),
            }
            let end = Instant::now() + Duration::from_secs(1);
            while Instant::now() < end && !ok {
                wait_readable(&fb, PollFlags::POLLIN | PollFlags::POLLPRI, 100);
                let mut buf = [0u8; 1024];
                match fb.read(&mut buf) {
                    Ok(r) => {
                        println!("  HDLC read {r} bytes: {:02x?}", &buf[..r.min(32)]);
                        ok = r == n + 2 && buf[..n] == frame[..n];
                    }
                    Err(e) if sys::is_event_pending(&e) => {
                        drain(&fb, "hdlc b", None);
                    }
                    Err(_) => {}
                }
            }
        }
        c.check(ok, format_args!("HDLC: frame of {n} bytes (+2 FCS) {a} -> {b}"));
    }

    fn setup_bearer(f: &File) -> nix::Result<i32> {
        sys::set_blocksize(f, 160)?;
        sys::set_bufinfo(f, &DahdiBufferinfo::immediate(4, 160))?;
        sys::audio_mode(f, true)?;
        sys::set_law(f, DahdiLaw::Mulaw)?;
        sys::get_blocksize(f)
    }

    fn audio(c: &mut Checks, a: i32, b: i32) {
        let (Some(mut fa), Some(mut fb)) = (open(a), open(b)) else {
            c.check(false, format_args!("AUDIO: open channels {a} and {b}"));
            return;
        };
        let (ra, rb) = (setup_bearer(&fa), setup_bearer(&fb));
        c.check(ra == Ok(160) && rb == Ok(160), format_args!("AUDIO: bearer setup {ra:?} {rb:?}"));
        let ec = (sys::echocancel(&fa, 128), sys::echocancel(&fa, 0));
        c.check(ec == (Ok(()), Ok(())), format_args!("AUDIO: ECHOCANCEL_PARAMS 128 then 0 on {a}: {ec:?}"));
        let lin = (sys::set_linear(&fa, true), sys::get_blocksize(&fa), sys::set_linear(&fa, false));
        c.check(lin.0.is_ok() && lin.2.is_ok(), format_args!("AUDIO: SETLINEAR 1 then 0 on {a}: {lin:?}"));
        let fl = (sys::flush(&fa, sys::DAHDI_FLUSH_ALL), sys::flush(&fb, sys::DAHDI_FLUSH_ALL));
        c.check(fl == (Ok(()), Ok(())), "AUDIO: FLUSH ALL");
        drain(&fa, "audio a", None);
        drain(&fb, "audio b", None);

        let blk: Vec<u8> = (0..160).map(|i| 0x10 + (i % 96) as u8).collect();
        let needle = &blk[16..80];
        let mut rx = Vec::new();
        let (mut written, mut found) = (0, false);
        let end = Instant::now() + Duration::from_secs(3);
        while Instant::now() < end && !found {
            if written < 10 {
                match fa.write(&blk) {
                    Ok(160) => written += 1,
                    Err(e) if sys::is_event_pending(&e) => {
                        drain(&fa, "audio a", None);
                    }
                    _ => {}
                }
            }
            wait_readable(&fb, PollFlags::POLLIN | PollFlags::POLLPRI, 20);
            let mut buf = [0u8; 320];
            loop {
                match fb.read(&mut buf) {
                    Ok(r) if r > 0 && rx.len() < 160 * 200 => rx.extend_from_slice(&buf[..r]),
                    Err(e) if sys::is_event_pending(&e) => {
                        drain(&fb, "audio b", None);
                        break;
                    }
                    _ => break,
                }
            }
            found = rx.windows(needle.len()).any(|w| w == needle);
        }
        println!("  AUDIO: wrote {written} blocks on {a}, read {} bytes on {b}", rx.len());
        c.check(written > 0 && found, format_args!("AUDIO: 160-byte block {a} -> {b} received intact"));
    }

    pub fn main() -> ExitCode {
        let mut c = Checks { failures: 0 };
        let ctl = match sys::open_device("/dev/dahdi/ctl") {
            Ok(fd) => File::from(fd),
            Err(e) => {
                c.check(false, format_args!("open /dev/dahdi/ctl: {e}"));
                return ExitCode::FAILURE;
            }
        };
        match sys::get_version(&ctl) {
            Ok(v) => println!("DAHDI version '{}' echocan '{}'", v.version(), v.echo_canceller()),
            Err(e) => {
                c.check(false, format_args!("GETVERSION: {e}"));
            }
        }
        for span in 1..=2 {
            let r = sys::startup(&ctl, span);
            c.check(r.is_ok(), format_args!("STARTUP span {span}: {r:?}"));
        }
        for span in 1..=2 {
            match sys::span_stat(&ctl, span) {
                Ok(si) => {
                    let (numchans, totalchans) = (si.numchans, si.totalchans);
                    println!(
                        "  span {span} name '{}' desc '{}' alarms {} numchans {numchans} totalchans {totalchans} spantype '{}'",
                        si.name(),
                        si.desc(),
                        si.alarms().describe(),
                        si.spantype()
                    );
                    c.check(si.alarms().is_clear() && totalchans == 24, format_args!("SPANSTAT span {span}"));
                }
                Err(e) => {
                    c.check(false, format_args!("SPANSTAT span {span}: {e}"));
                }
            }
        }
        let bad = sys::span_stat(&ctl, 99).err();
        c.check(bad.is_some(), format_args!("SPANSTAT of a missing span fails: {bad:?}"));
        std::thread::sleep(Duration::from_millis(200)); // let the loc spans exchange frames

        cas(&mut c, 3, 27, Abcd::new(0xA));
        cas(&mut c, 27, 3, Abcd::new(0x5));
        hdlc(&mut c, 24, 48, false);
        hdlc(&mut c, 48, 24, false);
        audio(&mut c, 1, 25);
        hdlc(&mut c, 1, 25, true);

        println!("PROBE {}: {} failure(s)", if c.failures == 0 { "OK" } else { "FAILED" }, c.failures);
        if c.failures == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}
