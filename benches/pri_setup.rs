//! Complete PRI calls per second through Q.921 + Q.931 (SETUP … CONNECT … RELEASE
//! COMPLETE), our user side against our network side, next to libpri CPE against libpri
//! NT measured in the same run.
//!
//! libpri can only run on file descriptors, so it pays a socketpair send/recv per frame;
//! ours is measured both in memory (what the daemon does between the stack and the
//! backend) and over a socketpair (the same cost as libpri's harness), and the ratio is
//! printed for each. `cargo bench --bench pri_setup [-- N]`.

#![allow(clippy::disallowed_methods)] // bench: wall time

#[path = "../tests/peers/libpri.rs"]
mod libpri;

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant as WallInstant};

use trunkd::backend::line::{LineCmd, LineEvent};
use trunkd::signalling::pri::profile::PriProfile;
use trunkd::signalling::pri::{PriSpan, Side, DCHANNEL};
use trunkd::signalling::{CallCommand, CallEvent, Cause, Party, SigInput, SigOutput, SignallingCore};
use trunkd::time::Instant;

/// How frames travel between the two stacks.
enum Pipe {
    Memory(Vec<(bool, Vec<u8>)>),
    Socket(OwnedFd, OwnedFd),
}

struct Pair {
    te: PriSpan,
    nt: PriSpan,
    pipe: Pipe,
    now: Instant,
    te_ev: Vec<(u16, CallEvent)>,
    nt_ev: Vec<(u16, CallEvent)>,
}

impl Pair {
    fn new(socket: bool) -> Pair {
        let mut p = PriProfile::builtin("etsi").expect("etsi");
        p.restart_on_start = false;
        let pipe = if socket {
            let (a, b) = libpri::socketpair();
            Pipe::Socket(a, b)
        } else {
            Pipe::Memory(Vec::new())
        };
        let mut pair = Pair {
            te: PriSpan::new(Side::Te, p.clone(), true),
            nt: PriSpan::new(Side::Nt, p, true),
            pipe,
            now: Instant::ZERO,
            te_ev: Vec::new(),
            nt_ev: Vec::new(),
        };
        pair.te.handle_timeout(pair.now);
        pair.nt.handle_timeout(pair.now);
        pair.settle();
        assert_eq!(pair.te.channel_state(DCHANNEL), "up");
        pair
    }

    fn settle(&mut self) {
        let mut buf = [0u8; 512];
        loop {
            let mut moved = false;
            for te in [true, false] {
                let span = if te { &mut self.te } else { &mut self.nt };
                while let Some(o) = span.poll_output() {
                    match o {
                        SigOutput::Transmit { cmd: LineCmd::Hdlc(f), .. } => {
                            moved = true;
                            match &mut self.pipe {
                                Pipe::Memory(q) => q.push((te, f)),
                                Pipe::Socket(a, b) => {
                                    let fd = if te { a.as_raw_fd() } else { b.as_raw_fd() };
                                    // SAFETY: send from a live Vec on an fd we own.
                                    unsafe { libc::send(fd, f.as_ptr().cast(), f.len(), 0) };
                                }
                            }
                        }
                        SigOutput::Event { chan, event } => {
                            if te {
                                self.te_ev.push((chan, event))
                            } else {
                                self.nt_ev.push((chan, event))
                            }
                        }
                        _ => {}
                    }
                }
            }
            let now = self.now;
            match &mut self.pipe {
                Pipe::Memory(q) => {
                    for (from_te, f) in std::mem::take(q) {
                        moved = true;
                        let input = SigInput::Line { chan: DCHANNEL, event: LineEvent::Hdlc(f) };
                        if from_te {
                            self.nt.handle_input(now, input)
                        } else {
                            self.te.handle_input(now, input)
                        }
                    }
                }
                Pipe::Socket(a, b) => {
                    for (fd, to_te) in [(a.as_raw_fd(), true), (b.as_raw_fd(), false)] {
                        loop {
                            // SAFETY: recv into a live stack buffer on an fd we own.
                            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
                            if n <= 0 {
                                break;
                            }
                            moved = true;
                            let input =
                                SigInput::Line { chan: DCHANNEL, event: LineEvent::Hdlc(buf[..n as usize].to_vec()) };
                            if to_te {
                                self.te.handle_input(now, input)
                            } else {
                                self.nt.handle_input(now, input)
                            }
                        }
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }

    /// One complete call on channel 1, as libpri's benchmark does it.
    fn call(&mut self) -> bool {
        let input = |cmd| SigInput::Command { chan: 1, cmd };
        self.now += Duration::from_millis(1);
        let now = self.now;
        self.te.handle_input(
            now,
            input(CallCommand::Originate { called: "5551234".into(), calling: Party::number("0401234") }),
        );
        self.settle();
        self.nt.handle_input(now, input(CallCommand::Alerting));
        self.nt.handle_input(now, input(CallCommand::Answer));
        self.settle();
        self.te.handle_input(now, input(CallCommand::Hangup { cause: Cause::NormalClearing }));
        self.settle();
        self.nt.handle_input(now, input(CallCommand::Hangup { cause: Cause::NormalClearing }));
        self.settle();
        let ok = self.te_ev.contains(&(1, CallEvent::Answered)) && self.te.is_idle(1) && self.nt.is_idle(1);
        self.te_ev.clear();
        self.nt_ev.clear();
        ok
    }
}

fn ours(n: usize, socket: bool) -> (usize, Duration) {
    let mut pair = Pair::new(socket);
    let start = WallInstant::now();
    let done = (0..n).filter(|_| pair.call()).count();
    (done, start.elapsed())
}

fn main() {
    let n = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    libpri::set_time_us(1_000_000);
    let rate = |(done, wall): (usize, Duration)| done as f64 / wall.as_secs_f64();
    // Warm up, then measure each three times and keep the best (least disturbed) run.
    let best = |f: &dyn Fn() -> (usize, Duration)| {
        let _ = f();
        (0..3).map(|_| f()).map(|r| (r.0, rate(r))).fold((0, 0.0f64), |a, b| if b.1 > a.1 { b } else { a })
    };
    let (lp_done, lp) = best(&|| libpri::libpri_call_setups(n));
    let (mem_done, mem) = best(&|| ours(n, false));
    let (sock_done, sock) = best(&|| ours(n, true));
    println!("pri_setup: {n} complete calls each (SETUP through RELEASE COMPLETE), best of 3");
    println!("  libpri CPE <-> libpri NT (socketpair): {lp:>9.0} calls/s  ({lp_done} completed)");
    println!(
        "  trunkd TE <-> trunkd NT (socketpair):  {sock:>9.0} calls/s  ({sock_done} completed)  ratio {:.2}x",
        sock / lp
    );
    println!(
        "  trunkd TE <-> trunkd NT (in memory):   {mem:>9.0} calls/s  ({mem_done} completed)  ratio {:.2}x",
        mem / lp
    );
    assert!(lp_done == n && mem_done == n && sock_done == n, "every call must complete");
}
