//! Q.921 tests: a TE and an NT joined by an in-memory wire in virtual time.

use std::collections::VecDeque;

use proptest::prelude::*;

use super::*;

/// One-way delivery delay of the wire (constant, so each direction stays FIFO).
const WIRE_DELAY: Duration = Duration::from_millis(5);
/// Guard against a harness loop that never reaches its end time.
const MAX_STEPS: usize = 2_000_000;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    ToNt,
    ToTe,
}

/// Every frame put on the wire, lost or not.
#[derive(Clone, Debug)]
struct Traced {
    at: Instant,
    dir: Dir,
    frame: Vec<u8>,
    lost: bool,
}

struct Harness {
    now: Instant,
    te: Q921,
    nt: Q921,
    te_events: Vec<DlEvent>,
    nt_events: Vec<DlEvent>,
    to_nt: VecDeque<(Instant, Vec<u8>)>,
    to_te: VecDeque<(Instant, Vec<u8>)>,
    trace: Vec<Traced>,
    /// Lose the next n frames in that direction.
    lose_to_nt: usize,
    lose_to_te: usize,
    /// While `now < loss_until`, frame i (both directions counted together) is lost if
    /// `loss_pattern[i % len]`.
    loss_pattern: Vec<bool>,
    loss_index: usize,
    loss_until: Instant,
    /// The NT neither receives nor transmits nor runs its timers.
    nt_dead: bool,
    max_outstanding_te: usize,
    max_outstanding_nt: usize,
}

impl Harness {
    fn new(config: Q921Config) -> Harness {
        Harness::with(config.clone(), config)
    }

    fn with(te: Q921Config, nt: Q921Config) -> Harness {
        Harness {
            now: Instant::ZERO,
            te: Q921::new(Role::Te, te),
            nt: Q921::new(Role::Nt, nt),
            te_events: Vec::new(),
            nt_events: Vec::new(),
            to_nt: VecDeque::new(),
            to_te: VecDeque::new(),
            trace: Vec::new(),
            lose_to_nt: 0,
            lose_to_te: 0,
            loss_pattern: Vec::new(),
            loss_index: 0,
            loss_until: Instant::ZERO,
            nt_dead: false,
            max_outstanding_te: 0,
            max_outstanding_nt: 0,
        }
    }

    /// Both sides establish at the same instant; the link must be up a second later.
    fn bring_up(&mut self) {
        self.te.establish(self.now);
        self.nt.establish(self.now);
        self.run_for(secs(1));
        assert_eq!(self.te.state(), LinkState::MultipleFrameEstablished);
        assert_eq!(self.nt.state(), LinkState::MultipleFrameEstablished);
        assert_eq!(self.te_events, [DlEvent::Established { ours: true }]);
        assert_eq!(self.nt_events, [DlEvent::Established { ours: true }]);
        self.te_events.clear();
        self.nt_events.clear();
    }

    fn put(&mut self, dir: Dir, frame: Vec<u8>) {
        let forced = match dir {
            Dir::ToNt => self.nt_dead || take_one(&mut self.lose_to_nt),
            Dir::ToTe => take_one(&mut self.lose_to_te),
        };
        let lost = forced || self.pattern_loss();
        self.trace.push(Traced { at: self.now, dir, frame: frame.clone(), lost });
        if !lost {
            let queue = match dir {
                Dir::ToNt => &mut self.to_nt,
                Dir::ToTe => &mut self.to_te,
            };
            queue.push_back((self.now + WIRE_DELAY, frame));
        }
    }

    fn pattern_loss(&mut self) -> bool {
        if self.now >= self.loss_until || self.loss_pattern.is_empty() {
            return false;
        }
        let lost = self.loss_pattern[self.loss_index % self.loss_pattern.len()];
        self.loss_index += 1;
        lost
    }

    /// Moves transmitted frames onto the wire and events into the logs; checks invariants.
    fn pump(&mut self) {
        while let Some(frame) = self.te.poll_transmit() {
            self.put(Dir::ToNt, frame);
        }
        while let Some(frame) = self.nt.poll_transmit() {
            if !self.nt_dead {
                self.put(Dir::ToTe, frame);
            }
        }
        while let Some(event) = self.te.poll_event() {
            self.te_events.push(event);
        }
        while let Some(event) = self.nt.poll_event() {
            self.nt_events.push(event);
        }
        for q in [&self.te, &self.nt] {
            assert!(q.outstanding() <= usize::from(q.config().k), "window exceeded");
            assert!(q.outstanding() <= q.queued() || !q.state().is_up(), "outstanding frames not in the I queue");
        }
        self.max_outstanding_te = self.max_outstanding_te.max(self.te.outstanding());
        self.max_outstanding_nt = self.max_outstanding_nt.max(self.nt.outstanding());
    }

    fn run_until(&mut self, end: Instant) {
        for _ in 0..MAX_STEPS {
            self.pump();
            let nt_timeout = if self.nt_dead { None } else { self.nt.poll_timeout() };
            let next =
                [self.te.poll_timeout(), nt_timeout, self.to_nt.front().map(|f| f.0), self.to_te.front().map(|f| f.0)]
                    .into_iter()
                    .flatten()
                    .min();
            let Some(next) = next.filter(|t| *t <= end) else {
                self.now = self.now.max(end);
                return;
            };
            self.now = self.now.max(next);
            let now = self.now;
            while self.to_nt.front().is_some_and(|f| f.0 <= now) {
                if let Some((_, frame)) = self.to_nt.pop_front() {
                    if !self.nt_dead {
                        self.nt.handle_frame(now, &frame);
                    }
                }
                self.pump();
            }
            while self.to_te.front().is_some_and(|f| f.0 <= now) {
                if let Some((_, frame)) = self.to_te.pop_front() {
                    self.te.handle_frame(now, &frame);
                }
                self.pump();
            }
            if self.te.poll_timeout().is_some_and(|t| t <= now) {
                self.te.handle_timeout(now);
            }
            if !self.nt_dead && self.nt.poll_timeout().is_some_and(|t| t <= now) {
                self.nt.handle_timeout(now);
            }
        }
        panic!("harness made no progress");
    }

    fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    fn side(&mut self, dir: Dir) -> &mut Q921 {
        match dir {
            Dir::ToNt => &mut self.nt,
            Dir::ToTe => &mut self.te,
        }
    }

    /// Feeds a frame straight to one side, as if it came off the wire now.
    fn inject(&mut self, dir: Dir, frame: &[u8]) {
        let now = self.now;
        self.side(dir).handle_frame(now, frame);
        self.pump();
    }

    /// Frames that went on the wire in one direction, lost ones included.
    fn frames(&self, dir: Dir) -> Vec<Vec<u8>> {
        self.trace.iter().filter(|t| t.dir == dir).map(|t| t.frame.clone()).collect()
    }

    fn frames_since(&self, dir: Dir, since: usize) -> Vec<Vec<u8>> {
        self.trace[since..].iter().filter(|t| t.dir == dir).map(|t| t.frame.clone()).collect()
    }
}

fn take_one(n: &mut usize) -> bool {
    if *n > 0 {
        *n -= 1;
        true
    } else {
        false
    }
}

fn data(events: &[DlEvent]) -> Vec<Vec<u8>> {
    events
        .iter()
        .filter_map(|e| match e {
            DlEvent::Data(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

fn count(events: &[DlEvent], wanted: &DlEvent) -> usize {
    events.iter().filter(|e| *e == wanted).count()
}

fn mdl_errors(events: &[DlEvent]) -> Vec<MdlError> {
    events
        .iter()
        .filter_map(|e| match e {
            DlEvent::MdlError(m) => Some(*m),
            _ => None,
        })
        .collect()
}

/// A test message: tag, id, some filler, and a checksum so corruption shows.
fn msg(tag: u8, id: u32) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend((0..(id % 13)).map(|i| (i as u8).wrapping_mul(31) ^ tag));
    let sum = m.iter().fold(0u8, |a, b| a.wrapping_add(*b));
    m.push(sum);
    m
}

/// (tag, id) of a well-formed test message.
fn parse_msg(m: &[u8]) -> Option<(u8, u32)> {
    let (&sum, body) = m.split_last()?;
    if body.len() < 5 || body.iter().fold(0u8, |a, b| a.wrapping_add(*b)) != sum {
        return None;
    }
    let id = u32::from_be_bytes([body[1], body[2], body[3], body[4]]);
    (msg(body[0], id) == m).then_some((body[0], id))
}

fn ids_with_tag(events: &[DlEvent], tag: u8) -> Vec<u32> {
    data(events).iter().filter_map(|d| parse_msg(d)).filter(|(t, _)| *t == tag).map(|(_, id)| id).collect()
}

fn non_persistent() -> Q921Config {
    Q921Config { persistent: false, ..Q921Config::default() }
}

// ---- golden byte traces ----

#[test]
fn golden_trace_te_establishes_and_one_message_each_way() {
    let mut h = Harness::new(Q921Config::default());
    h.te.establish(h.now);
    h.run_for(ms(100));
    let m1 = vec![0x08, 0x01, 0x01, 0x05];
    let m2 = vec![0x08, 0x01, 0x81, 0x02];
    h.te.send(h.now, m1.clone());
    h.run_for(ms(100));
    h.nt.send(h.now, m2.clone());
    h.run_for(ms(100));

    assert_eq!(
        h.frames(Dir::ToNt),
        [
            vec![0x00, 0x01, 0x7f],                               // SABME P=1, user command C/R=0
            vec![0x00, 0x01, 0x00, 0x00, 0x08, 0x01, 0x01, 0x05], // I N(S)=0 N(R)=0
            vec![0x02, 0x01, 0x01, 0x02],                         // RR response N(R)=1, user response C/R=1
        ]
    );
    assert_eq!(
        h.frames(Dir::ToTe),
        [
            vec![0x00, 0x01, 0x73],                               // UA F=1, network response C/R=0
            vec![0x00, 0x01, 0x01, 0x02],                         // RR response N(R)=1
            vec![0x02, 0x01, 0x00, 0x02, 0x08, 0x01, 0x81, 0x02], // I N(S)=0 N(R)=1, network command C/R=1
        ]
    );
    assert_eq!(h.te_events, [DlEvent::Established { ours: true }, DlEvent::Data(m2)]);
    assert_eq!(h.nt_events, [DlEvent::Established { ours: false }, DlEvent::Data(m1)]);
}

#[test]
fn golden_trace_nt_establishes_and_one_message_each_way() {
    let mut h = Harness::new(Q921Config::default());
    h.nt.establish(h.now);
    h.run_for(ms(100));
    h.nt.send(h.now, vec![0xaa]);
    h.run_for(ms(100));
    h.te.send(h.now, vec![0xbb]);
    h.run_for(ms(100));

    assert_eq!(
        h.frames(Dir::ToTe),
        [
            vec![0x02, 0x01, 0x7f],             // SABME P=1, network command C/R=1
            vec![0x02, 0x01, 0x00, 0x00, 0xaa], // I N(S)=0 N(R)=0
            vec![0x00, 0x01, 0x01, 0x02],       // RR response N(R)=1, network response C/R=0
        ]
    );
    assert_eq!(
        h.frames(Dir::ToNt),
        [
            vec![0x02, 0x01, 0x73],             // UA F=1, user response C/R=1
            vec![0x02, 0x01, 0x01, 0x02],       // RR response N(R)=1
            vec![0x00, 0x01, 0x00, 0x02, 0xbb], // I N(S)=0 N(R)=1, user command C/R=0
        ]
    );
    assert_eq!(h.nt_events, [DlEvent::Established { ours: true }, DlEvent::Data(vec![0xbb])]);
    assert_eq!(h.te_events, [DlEvent::Established { ours: false }, DlEvent::Data(vec![0xaa])]);
}

// ---- establishment ----

#[test]
fn simultaneous_establishment_comes_up_once() {
    let mut h = Harness::new(Q921Config::default());
    h.bring_up();
    h.run_for(secs(30));
    assert!(h.te_events.is_empty() && h.nt_events.is_empty(), "{:?} {:?}", h.te_events, h.nt_events);
    assert_eq!(h.te.counters().link_resets + h.nt.counters().link_resets, 0);
}

#[test]
fn skewed_start_by_physical_up_comes_up_once() {
    for skew in [ms(0), ms(3), ms(5), ms(7), ms(500), ms(999), ms(1500)] {
        let mut h = Harness::new(Q921Config::default());
        h.te.physical_up(h.now);
        h.run_for(skew);
        h.nt.physical_up(h.now);
        h.run_for(secs(30));
        for (side, events, q) in [("te", &h.te_events, &h.te), ("nt", &h.nt_events, &h.nt)] {
            let established = events.iter().filter(|e| matches!(e, DlEvent::Established { .. })).count();
            assert_eq!(established, 1, "skew {skew:?} {side}: {events:?}");
            assert!(!events.iter().any(|e| matches!(e, DlEvent::Released { .. })), "skew {skew:?} {side}: {events:?}");
            assert!(q.state().is_up(), "skew {skew:?} {side}");
        }
        // The link works.
        h.te.send(h.now, vec![1]);
        h.nt.send(h.now, vec![2]);
        h.run_for(secs(1));
        assert_eq!(data(&h.nt_events), [vec![1]]);
        assert_eq!(data(&h.te_events), [vec![2]]);
    }
}

#[test]
fn establishment_fails_after_n200_retries_when_not_persistent() {
    let mut h = Harness::new(non_persistent());
    h.nt_dead = true;
    h.te.establish(h.now);
    h.run_for(secs(30));
    let sabmes: Vec<_> = h.trace.iter().filter(|t| t.frame == [0x00, 0x01, 0x7f]).map(|t| t.at).collect();
    assert_eq!(sabmes, [0, 1, 2, 3].map(|s| Instant::ZERO + secs(s)), "SABME and N200 = 3 retransmissions");
    assert_eq!(h.te_events, [DlEvent::MdlError(MdlError::G), DlEvent::Released { ours: false }]);
    assert_eq!(h.te.state(), LinkState::TeiAssigned);
    assert_eq!(h.te.poll_timeout(), None);
}

#[test]
fn dm_f1_refuses_establishment() {
    let mut te = Q921::new(Role::Te, non_persistent());
    te.establish(Instant::ZERO);
    assert_eq!(te.poll_transmit(), Some(vec![0x00, 0x01, 0x7f]));
    te.handle_frame(Instant::ZERO, &[0x00, 0x01, 0x1f]); // DM F=1 from the network
    assert_eq!(te.state(), LinkState::TeiAssigned);
    assert_eq!(te.poll_event(), Some(DlEvent::Released { ours: false }));
    assert_eq!(te.poll_timeout(), None);
}

// ---- data transfer ----

#[test]
fn data_both_ways_in_order() {
    let mut h = Harness::new(Q921Config::default());
    h.bring_up();
    for id in 0..50 {
        h.te.send(h.now, msg(b'T', id));
        if id % 3 == 0 {
            h.nt.send(h.now, msg(b'N', id));
        }
        h.run_for(ms(u64::from(id % 7) * 3));
    }
    h.run_for(secs(5));
    assert_eq!(ids_with_tag(&h.nt_events, b'T'), (0..50).collect::<Vec<_>>());
    assert_eq!(ids_with_tag(&h.te_events, b'N'), (0..50).step_by(3).collect::<Vec<_>>());
    assert_eq!(h.te.counters().retransmissions + h.nt.counters().retransmissions, 0);
    assert_eq!(h.te.queued() + h.nt.queued(), 0);
}

#[test]
fn window_k_respected() {
    let mut h = Harness::new(Q921Config::default());
    h.bring_up();
    let start = h.trace.len();
    for id in 0..20 {
        h.te.send(h.now, msg(b'T', id));
    }
    h.pump();
    let burst = h.frames_since(Dir::ToNt, start);
    assert_eq!(burst.len(), 7, "k = 7 I frames before the first acknowledgement");
    assert!(burst.iter().enumerate().all(|(i, f)| f[2] == (i as u8) << 1 && f[3] == 0));
    h.run_for(secs(5));
    assert_eq!(h.max_outstanding_te, 7);
    assert_eq!(ids_with_tag(&h.nt_events, b'T'), (0..20).collect::<Vec<_>>());
}

#[test]
fn sequence_numbers_wrap_modulo_128() {
    let mut h = Harness::new(Q921Config::default());
    h.bring_up();
    for id in 0..300 {
        h.te.send(h.now, msg(b'T', id));
        h.nt.send(h.now, msg(b'N', id));
    }
    h.run_for(secs(20));
    assert_eq!(ids_with_tag(&h.nt_events, b'T'), (0..300).collect::<Vec<_>>());
    assert_eq!(ids_with_tag(&h.te_events, b'N'), (0..300).collect::<Vec<_>>());
    assert_eq!(h.te.counters().link_resets + h.nt.counters().link_resets, 0);
}

#[test]
fn lost_i_frame_recovered_by_rej() {
    let mut h = Harness::new(Q921Config::default());
    h.bring_up();
    h.lose_to_nt = 1;
    for id in 0..3 {
        h.te.send(h.now, msg(b'T', id));
    }
    h.run_for(secs(5));
    assert_eq!(ids_with_tag(&h.nt_events, b'T'), [0, 1, 2]);
    assert_eq!(h.trace.iter().filter(|t| t.lost).count(), 1);
    assert_eq!(h.nt.counters().rej_tx, 1, "one REJ per sequence error");
    assert_eq!(h.te.counters().rej_rx, 1);
    assert_eq!(h.te.counters().retransmissions, 3);
    assert!(h.te_events.is_empty() && h.nt_events.iter().all(|e| matches!(e, DlEvent::Data(_))));
}

#[test]
fn lost_acknowledgement_recovered_by_timer_recovery() {
    let mut h = Harness::new(Q921Config::default());
    h.bring_up();
    let start = h.trace.len();
    h.lose_to_te = 1; // the NT's RR
    h.te.send(h.now, msg(b'T', 0));
    h.run_for(ms(500));
    assert_eq!(h.te.outstanding(), 1);
    h.run_for(ms(600));
    // T200 expired: RR command P=1 N(R)=0, answered by RR response F=1 N(R)=1.
    let to_nt = h.frames_since(Dir::ToNt, start);
    assert_eq!(to_nt.last(), Some(&vec![0x00, 0x01, 0x01, 0x01]));
    assert_eq!(h.frames_since(Dir::ToTe, start).last(), Some(&vec![0x00, 0x01, 0x01, 0x03]));
    assert_eq!(h.te.state(), LinkState::MultipleFrameEstablished);
    assert_eq!(h.te.outstanding(), 0);
    assert_eq!(h.te.counters().retransmissions, 0);
    assert_eq!(ids_with_tag(&h.nt_events, b'T'), [0]);
}

#[test]
fn lost_last_i_frame_retransmitted_after_enquiry() {
    let mut h = Harness::new(Q921Config::default());
    h.bring_up();
    h.lose_to_nt = 1;
    h.te.send(h.now, msg(b'T', 0));
    h.run_for(secs(3));
    assert_eq!(ids_with_tag(&h.nt_events, b'T'), [0]);
    assert_eq!(h.te.counters().retransmissions, 1);
    assert_eq!(h.te.state(), LinkState::MultipleFrameEstablished);
}

#[test]
fn t203_polls_keep_an_idle_link_up() {
    let mut h = Harness::new(Q921Config::default());
    h.bring_up();
    let start = h.trace.len();
    h.run_for(secs(120));
    // RR command P=1 N(R)=0: C/R=0 from the TE, C/R=1 from the NT.
    let polls = h.trace[start..]
        .iter()
        .filter(|t| t.frame == [if t.dir == Dir::ToNt { 0x00 } else { 0x02 }, 0x01, 0x01, 0x01])
        .count();
    assert!(polls >= 11, "an RR P=1 poll about every T203, got {polls}");
    let gaps = h.trace[start..].windows(2).map(|w| w[1].at - w[0].at).max().unwrap_or_default();
    assert!(gaps <= secs(10) + WIRE_DELAY * 2, "idle gap {gaps:?} longer than T203 and a round trip");
    assert!(h.te_events.is_empty() && h.nt_events.is_empty(), "{:?} {:?}", h.te_events, h.nt_events);
    assert!(h.te.state().is_up() && h.nt.state().is_up());
}

// ---- link failure and persistence ----

#[test]
fn dead_peer_released_once_then_sabme_every_t200_until_it_returns() {
    let mut h = Harness::new(Q921Config::default());
    h.bring_up();
    let t0 = h.now;
    let start = h.trace.len();
    h.nt_dead = true;
    h.run_for(secs(60));

    // T203 poll at +10 s, N200 enquiries, MDL-ERROR I, N200 SABMEs, MDL-ERROR G, Released.
    assert_eq!(count(&h.te_events, &DlEvent::Released { ours: false }), 1, "{:?}", h.te_events);
    assert_eq!(mdl_errors(&h.te_events).first(), Some(&MdlError::I));
    assert!(mdl_errors(&h.te_events)[1..].iter().all(|m| *m == MdlError::G));
    let sabmes: Vec<_> = h.trace[start..].iter().filter(|t| t.frame == [0x00, 0x01, 0x7f]).map(|t| t.at).collect();
    // T203 last restarted when the link came up, one round trip after the start.
    assert_eq!(sabmes.first(), Some(&(Instant::ZERO + WIRE_DELAY * 2 + secs(14))));
    assert!(sabmes.windows(2).all(|w| w[1] - w[0] == secs(1)), "SABME every T200: {sabmes:?}");
    assert!(h.now - *sabmes.last().unwrap_or(&t0) <= secs(1));
    assert_eq!(h.te.state(), LinkState::AwaitingEstablishment);

    // Messages sent while down are kept for the current establishment attempt.
    h.te_events.clear();
    h.nt = Q921::new(Role::Nt, Q921Config::default());
    h.nt_dead = false;
    h.te.send(h.now, msg(b'T', 7));
    h.run_for(secs(3));
    assert_eq!(h.te_events, [DlEvent::Established { ours: true }]);
    assert_eq!(h.nt_events, [DlEvent::Established { ours: false }, DlEvent::Data(msg(b'T', 7))]);
    assert!(h.te.state().is_up() && h.nt.state().is_up());
}

#[test]
fn disc_releases_both_sides() {
    let mut h = Harness::new(non_persistent());
    h.bring_up();
    let start = h.trace.len();
    h.te.release(h.now);
    h.run_for(secs(30));
    assert_eq!(h.frames_since(Dir::ToNt, start), [vec![0x00, 0x01, 0x53]]); // DISC P=1
    assert_eq!(h.frames_since(Dir::ToTe, start), [vec![0x00, 0x01, 0x73]]); // UA F=1
    assert_eq!(h.te_events, [DlEvent::Released { ours: true }]);
    assert_eq!(h.nt_events, [DlEvent::Released { ours: false }]);
    assert_eq!((h.te.state(), h.nt.state()), (LinkState::TeiAssigned, LinkState::TeiAssigned));
    assert_eq!((h.te.poll_timeout(), h.nt.poll_timeout()), (None, None));

    // DISC in state 4 is answered with DM F=1.
    h.inject(Dir::ToTe, &[0x02, 0x01, 0x53]);
    assert_eq!(h.trace.last().map(|t| t.frame.clone()), Some(vec![0x02, 0x01, 0x1f]));
}

#[test]
fn establish_during_release_reestablishes_and_reports_failure() {
    let mut h = Harness::new(non_persistent());
    h.bring_up();
    h.te.release(h.now);
    h.te.establish(h.now);
    h.run_for(secs(1));
    assert_eq!(h.te_events, [DlEvent::Released { ours: true }, DlEvent::Established { ours: true }]);
    assert!(h.te.state().is_up() && h.nt.state().is_up());
    h.te_events.clear();
    h.nt_dead = true;
    h.te.release(h.now);
    h.te.establish(h.now);
    h.run_for(secs(30));
    let released = DlEvent::Released { ours: false };
    assert_eq!(h.te_events.last(), Some(&released), "{:?}", h.te_events);
    assert_eq!(h.te.state(), LinkState::TeiAssigned);
}

#[test]
fn persistent_side_reestablishes_after_peer_release() {
    let mut h = Harness::new(Q921Config::default());
    h.bring_up();
    let t0 = h.now;
    h.nt.release(h.now);
    h.run_for(secs(5));
    assert_eq!(h.te_events, [DlEvent::Released { ours: false }, DlEvent::Established { ours: true }]);
    assert_eq!(h.nt_events, [DlEvent::Released { ours: true }, DlEvent::Established { ours: false }]);
    let sabme = h.trace.iter().find(|t| t.at > t0 && t.frame == [0x00, 0x01, 0x7f]).map(|t| t.at);
    assert_eq!(sabme, Some(t0 + WIRE_DELAY + secs(1)), "T200 after the peer's DISC");
    assert!(h.te.state().is_up() && h.nt.state().is_up());
}

#[test]
fn physical_down_drops_everything() {
    let mut h = Harness::new(Q921Config::default());
    h.bring_up();
    for id in 0..3 {
        h.te.send(h.now, msg(b'T', id));
    }
    h.te.physical_down(h.now);
    assert_eq!(h.te.poll_transmit(), None);
    assert_eq!(h.te.poll_event(), Some(DlEvent::Released { ours: false }));
    assert_eq!(h.te.poll_event(), None);
    assert_eq!(h.te.state(), LinkState::TeiAssigned);
    assert_eq!(h.te.poll_timeout(), None);
    assert_eq!(h.te.queued(), 0);
    assert_eq!(h.te.counters().discarded, 3);

    // Nothing moves while down.
    h.te.send(h.now, msg(b'T', 9));
    h.te.handle_frame(h.now, &[0x02, 0x01, 0x7f]);
    assert_eq!((h.te.poll_transmit(), h.te.poll_event()), (None, None));
    assert_eq!(h.te.counters().discarded, 4);

    h.te.physical_up(h.now);
    assert_eq!(h.te.poll_transmit(), Some(vec![0x00, 0x01, 0x7f]));
    h.run_for(secs(30));
    assert!(h.te.state().is_up() && h.nt.state().is_up());
    assert_eq!(h.te_events, [DlEvent::Established { ours: true }]);
}

// ---- peer errors and garbage ----

/// Feeds `frame` to the TE of a live link, checks the reaction, and that the link recovers.
fn reset_by(frame: &[u8], error: MdlError) {
    let mut h = Harness::new(Q921Config::default());
    h.bring_up();
    h.inject(Dir::ToTe, frame);
    assert_eq!(h.te_events, [DlEvent::MdlError(error)], "{frame:02x?}");
    assert_eq!(h.te.state(), LinkState::AwaitingEstablishment);
    assert_eq!(h.trace.last().map(|t| t.frame.clone()), Some(vec![0x00, 0x01, 0x7f]));
    h.run_for(secs(2));
    assert!(h.te.state().is_up() && h.nt.state().is_up());
    h.te.send(h.now, vec![1]);
    h.run_for(secs(1));
    assert_eq!(data(&h.nt_events), [vec![1]]);
    assert_eq!(h.te.counters().link_resets, 1);
}

#[test]
fn frmr_received_reestablishes() {
    reset_by(&[0x00, 0x01, 0x87, 0x00, 0x00, 0x00, 0x00, 0x01], MdlError::K);
}

#[test]
fn invalid_nr_reestablishes() {
    reset_by(&[0x00, 0x01, 0x01, 0x0a], MdlError::J); // RR N(R)=5 with nothing outstanding
}

#[test]
fn dm_f0_while_established_reestablishes() {
    reset_by(&[0x00, 0x01, 0x0f], MdlError::E);
}

#[test]
fn frame_rejection_conditions_reestablish() {
    reset_by(&[0x02, 0x01, 0x0d, 0x00], MdlError::L); // undefined S frame
    reset_by(&[0x02, 0x01, 0x2f], MdlError::L); // undefined U frame
    reset_by(&[0x02, 0x01, 0x7f, 0x00], MdlError::M); // SABME with an information field
    reset_by(&[0x02, 0x01, 0x01, 0x00, 0x00], MdlError::N); // RR of five octets
    let mut long = vec![0x02, 0x01, 0x00, 0x00];
    long.resize(4 + 261, 0x55);
    reset_by(&long, MdlError::O); // I field longer than N201
}

#[test]
fn invalid_and_foreign_frames_are_counted_and_ignored() {
    let mut h = Harness::new(Q921Config::default());
    h.bring_up();
    let start = h.trace.len();
    for f in [
        &[][..],
        &[0x02],
        &[0x02, 0x01],
        &[0x03, 0x01, 0x7f],
        &[0x02, 0x00, 0x7f],
        &[0x02, 0x01, 0x01],
        &[0x02, 0x01, 0x00],
    ] {
        h.inject(Dir::ToTe, f);
    }
    assert_eq!(h.te.counters().bad_frames, 7);
    h.inject(Dir::ToTe, &[0x06, 0x01, 0x7f]); // SAPI 1
    h.inject(Dir::ToTe, &[0x02, 0x0b, 0x7f]); // TEI 5
    h.inject(Dir::ToTe, &[0x02, 0xff, 0x7f]); // SABME on the group TEI
    h.inject(Dir::ToTe, &[0xfe, 0x01, 0x03, 0x0f]); // SAPI 63 (TEI management)
    assert_eq!(h.te.counters().other_address, 4);
    h.inject(Dir::ToTe, &[0x00, 0x01, 0x7f]); // SABME as a response
    h.inject(Dir::ToTe, &[0x02, 0x01, 0x73]); // UA as a command
    h.inject(Dir::ToTe, &[0x00, 0x01, 0x00, 0x00, 0x01]); // I frame as a response
    assert_eq!(h.te.counters().wrong_cr, 3);
    h.inject(Dir::ToTe, &[0x02, 0x01, 0xaf, 0x82, 0x80, 0x00, 0x00]); // XID: ignored
    assert!(h.te_events.is_empty() && h.trace.len() == start, "{:?}", h.te_events);
    assert_eq!(h.te.state(), LinkState::MultipleFrameEstablished);
}

#[test]
fn unsolicited_frames_raise_mdl_errors_without_reset() {
    let mut h = Harness::new(Q921Config::default());
    h.bring_up();
    h.inject(Dir::ToTe, &[0x00, 0x01, 0x73]); // UA F=1
    h.inject(Dir::ToTe, &[0x00, 0x01, 0x63]); // UA F=0
    h.inject(Dir::ToTe, &[0x00, 0x01, 0x1f]); // DM F=1
    h.inject(Dir::ToTe, &[0x00, 0x01, 0x01, 0x01]); // RR response F=1 N(R)=0
    assert_eq!(mdl_errors(&h.te_events), [MdlError::C, MdlError::D, MdlError::B, MdlError::A]);
    assert_eq!(h.te.state(), LinkState::MultipleFrameEstablished);
}

#[test]
fn peer_sabme_while_established() {
    // Nothing outstanding: the link is reset silently and unsent messages survive.
    let mut h = Harness::new(Q921Config::default());
    h.bring_up();
    h.inject(Dir::ToTe, &[0x02, 0x01, 0x7f]);
    assert_eq!(h.te_events, [DlEvent::MdlError(MdlError::F)]);
    assert_eq!(h.trace.last().map(|t| t.frame.clone()), Some(vec![0x02, 0x01, 0x73]));

    // Frames outstanding: the I queue is discarded and layer 3 told by an indication.
    let mut h = Harness::new(Q921Config::default());
    h.bring_up();
    h.te.send(h.now, msg(b'T', 0));
    h.te.send(h.now, msg(b'T', 1));
    h.pump();
    h.to_nt.clear(); // both I frames lost
    h.inject(Dir::ToTe, &[0x02, 0x01, 0x7f]);
    assert_eq!(h.te_events, [DlEvent::MdlError(MdlError::F), DlEvent::Established { ours: false }]);
    assert_eq!((h.te.queued(), h.te.counters().discarded), (0, 2));
    assert_eq!(h.te.state(), LinkState::MultipleFrameEstablished);
}

#[test]
fn unit_data_in_any_state() {
    let mut h = Harness::new(non_persistent());
    h.te.send_unit_data(h.now, vec![1, 2]);
    h.run_for(ms(10));
    assert_eq!(h.frames(Dir::ToNt), [vec![0x00, 0x01, 0x03, 1, 2]]);
    assert_eq!(h.nt_events, [DlEvent::UnitData(vec![1, 2])]);
    h.nt_events.clear();
    h.bring_up();
    h.nt.send_unit_data(h.now, vec![3]);
    h.inject(Dir::ToTe, &[0x02, 0xff, 0x03, 4]); // broadcast on the group TEI
    h.run_for(ms(10));
    assert_eq!(h.te_events, [DlEvent::UnitData(vec![4]), DlEvent::UnitData(vec![3])]);
}

#[test]
fn names_and_defaults() {
    assert_eq!(LinkState::MultipleFrameEstablished.name(), "up");
    assert_eq!(LinkState::TimerRecovery.name(), "timer-recovery");
    assert_eq!(LinkState::TeiAssigned.name(), "down");
    assert_eq!(LinkState::AwaitingEstablishment.number(), 5);
    assert_eq!(MdlError::J.code(), 'J');
    let c = Q921Config::default();
    assert_eq!((c.t200, c.t203, c.n200, c.k, c.n201, c.persistent), (secs(1), secs(10), 3, 7, 260, true));
    let q = Q921::new(Role::Nt, Q921Config { k: 0, t200: Duration::ZERO, ..c });
    assert_eq!((q.config().k, q.config().t200), (1, ms(1)));
}

// ---- property tests ----

/// Frames that look roughly like LAPD, so the state machine sees more than address errors.
fn garbage_frame() -> impl Strategy<Value = Vec<u8>> {
    let control = prop_oneof![
        any::<u8>(),
        prop::sample::select(vec![0x7f, 0x6f, 0x0f, 0x1f, 0x03, 0x43, 0x53, 0x63, 0x73, 0x87, 0xaf, 0x01, 0x05, 0x09]),
    ];
    let structured = (prop::sample::select(vec![0x00u8, 0x02]), control, prop::collection::vec(any::<u8>(), 0..6))
        .prop_map(|(a0, ctl, rest)| [vec![a0, 0x01, ctl], rest].concat());
    let long_i = (prop::sample::select(vec![0x00u8, 0x02]), any::<u8>(), 250usize..300)
        .prop_map(|(a0, nr, len)| [vec![a0, 0x01, 0x00, nr], vec![0x5a; len]].concat());
    prop_oneof![4 => structured, 2 => prop::collection::vec(any::<u8>(), 0..10), 1 => long_i]
}

/// One input to a lone instance.
#[derive(Clone, Debug)]
enum Op {
    Frame(Vec<u8>),
    Send(usize),
    UnitData,
    Establish,
    Release,
    PhysicalDown,
    PhysicalUp,
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => garbage_frame().prop_map(Op::Frame),
        2 => (0usize..300).prop_map(Op::Send),
        1 => Just(Op::UnitData),
        1 => Just(Op::Establish),
        1 => Just(Op::Release),
        1 => Just(Op::PhysicalDown),
        1 => Just(Op::PhysicalUp),
        4 => (0u64..3000).prop_map(Op::Advance),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Garbage fed to either side of a live link never panics, and once it stops the link
    /// comes back (if it went down) and delivers new messages completely and in order.
    #[test]
    fn garbage_never_panics_and_link_recovers(
        steps in prop::collection::vec((0u64..1500, any::<bool>(), garbage_frame(), any::<bool>()), 1..40)
    ) {
        let mut h = Harness::new(Q921Config::default());
        h.bring_up();
        for (i, (gap, to_te, frame, send)) in steps.into_iter().enumerate() {
            h.run_for(ms(gap));
            if send {
                h.te.send(h.now, msg(b'g', i as u32));
                h.nt.send(h.now, msg(b'g', i as u32));
            }
            h.inject(if to_te { Dir::ToTe } else { Dir::ToNt }, &frame);
        }
        // Two T203 polls each way at least settle any sequence number confusion.
        h.run_for(secs(60));
        prop_assert!(h.te.state().is_up() && h.nt.state().is_up(), "{:?} {:?}", h.te.state(), h.nt.state());
        let (te_mark, nt_mark) = (h.te_events.len(), h.nt_events.len());
        for id in 0..10 {
            h.te.send(h.now, msg(b'T', id));
            h.nt.send(h.now, msg(b'N', id));
            h.run_for(ms(7));
        }
        h.run_for(secs(10));
        prop_assert_eq!(ids_with_tag(&h.nt_events[nt_mark..], b'T'), (0..10).collect::<Vec<_>>());
        prop_assert_eq!(ids_with_tag(&h.te_events[te_mark..], b'N'), (0..10).collect::<Vec<_>>());
    }

    /// Random frame loss: every message is delivered at most once, in order, uncorrupted;
    /// what is missing is bounded by what the sender discarded on re-establishment (as the
    /// spec requires), so with no discard everything arrives. After the loss stops, the link
    /// is up and carries everything.
    #[test]
    fn random_loss_keeps_order_and_loses_only_what_resets_discard(
        pattern in (0.0f64..0.3).prop_flat_map(|p| prop::collection::vec(prop::bool::weighted(p), 1..200)),
        sends in prop::collection::vec((0u64..2000, any::<bool>()), 1..60),
        extra_loss_ms in 0u64..30_000,
    ) {
        let mut h = Harness::new(Q921Config::default());
        h.bring_up();
        let total: u64 = sends.iter().map(|s| s.0).sum();
        h.loss_pattern = pattern;
        h.loss_until = h.now + ms(total + extra_loss_ms);
        let (mut n_te, mut n_nt) = (0u32, 0u32);
        for (gap, from_te) in sends {
            h.run_for(ms(gap));
            if from_te {
                h.te.send(h.now, msg(b'T', n_te));
                n_te += 1;
            } else {
                h.nt.send(h.now, msg(b'N', n_nt));
                n_nt += 1;
            }
        }
        h.run_until(h.loss_until);
        h.run_for(secs(120));
        prop_assert!(h.te.state().is_up() && h.nt.state().is_up(), "{:?} {:?}", h.te.state(), h.nt.state());

        for (events, tag, sent, sender) in [(&h.nt_events, b'T', n_te, &h.te), (&h.te_events, b'N', n_nt, &h.nt)] {
            let all = data(events);
            prop_assert!(all.iter().all(|d| parse_msg(d).is_some()), "corrupted message");
            let got = ids_with_tag(events, tag);
            prop_assert!(got.windows(2).all(|w| w[0] < w[1]), "out of order or duplicated: {:?}", got);
            prop_assert!(got.iter().all(|id| *id < sent));
            let missing = u64::from(sent) - got.len() as u64;
            prop_assert!(missing <= sender.counters().discarded, "{} missing, {} discarded", missing, sender.counters().discarded);
        }

        // No loss any more: everything new arrives.
        let (te_mark, nt_mark) = (h.te_events.len(), h.nt_events.len());
        for id in 1000..1010 {
            h.te.send(h.now, msg(b'T', id));
            h.nt.send(h.now, msg(b'N', id));
        }
        h.run_for(secs(10));
        prop_assert_eq!(ids_with_tag(&h.nt_events[nt_mark..], b'T'), (1000..1010).collect::<Vec<_>>());
        prop_assert_eq!(ids_with_tag(&h.te_events[te_mark..], b'N'), (1000..1010).collect::<Vec<_>>());
    }

    /// Any sequence of inputs in any state: no panic, the window and queue invariants hold,
    /// timers move forward, and every frame we transmit is valid for the peer.
    #[test]
    fn any_input_sequence_keeps_invariants(te in any::<bool>(), k in 1u8..10, ops in prop::collection::vec(op(), 1..200)) {
        let (role, peer) = if te { (Role::Te, Role::Nt) } else { (Role::Nt, Role::Te) };
        let config = Q921Config { k, ..Q921Config::default() };
        let mut q = Q921::new(role, config.clone());
        let mut now = Instant::ZERO;
        for op in ops {
            match op {
                Op::Frame(f) => q.handle_frame(now, &f),
                Op::Send(len) => q.send(now, vec![0x08; len]),
                Op::UnitData => q.send_unit_data(now, vec![0x08, 0x00]),
                Op::Establish => q.establish(now),
                Op::Release => q.release(now),
                Op::PhysicalDown => q.physical_down(now),
                Op::PhysicalUp => q.physical_up(now),
                Op::Advance(d) => {
                    now += ms(d);
                    if q.poll_timeout().is_some_and(|t| t <= now) {
                        q.handle_timeout(now);
                    }
                    prop_assert!(q.poll_timeout().is_none_or(|t| t > now));
                }
            }
            while let Some(f) = q.poll_transmit() {
                prop_assert!(matches!(decode(peer, config.n201, &f), Decoded::Frame { .. }), "{:02x?}", f);
            }
            while q.poll_event().is_some() {}
            prop_assert!(q.outstanding() <= usize::from(k));
            prop_assert!(!q.state().is_up() || q.outstanding() <= q.queued());
            prop_assert!(q.queued() <= MAX_I_QUEUE);
        }
    }
}
