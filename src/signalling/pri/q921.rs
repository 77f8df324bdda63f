//! ITU-T Q.921 (LAPD) data link layer for an ISDN PRI D channel, as a sans-IO state machine.
//!
//! One [`Q921`] is one data link connection: SAPI 0 (call control), TEI 0, point-to-point as
//! on a PRI, so there is no TEI management and states 1-3 of the Q.921 SDL do not exist: a
//! link starts in state 4 ([`LinkState::TeiAssigned`]). Multiple frame operation is modulo 128
//! (SABME).
//!
//! The driver passes received frames (FCS checked and stripped) to [`Q921::handle_frame`],
//! layer 3 requests to `establish` / `release` / `send` / `send_unit_data`, the E1 alarm state
//! to `physical_up` / `physical_down`, and calls `handle_timeout` once `poll_timeout()` is
//! reached. After every call it drains `poll_transmit` (frames without FCS) and `poll_event`.
//! Nothing here reads a clock, spawns or does I/O. Call `physical_up` (or `establish`) once
//! the span is in service: `new` has no `now`, so it cannot start anything by itself.
//!
//! Behaviour follows the SDL of Q.921 Annex B / ETS 300 125. Choices where the text leaves
//! room, or where we deviate on purpose:
//! - T200 expiry in states 7 and 8 sends an enquiry (RR command, P=1) rather than the last I
//!   frame with P=1 (5.6.7 allows both): the N(R) of the F=1 answer then says exactly which
//!   frames to send again.
//! - Re-establishment of a live link (peer SABME in 7/8, or ours after an N(R) error, FRMR,
//!   DM, frame rejection or N200 failed enquiries) discards the I queue and reports
//!   `Established { ours: false }` only if frames were outstanding (V(S) != V(A)), as 5.7.1
//!   says; messages not yet sent are kept when nothing was outstanding. Unacknowledged frames
//!   are never re-queued: the peer may already have delivered them, and sending them again
//!   under new numbers could duplicate a layer 3 message. Q.931 audits its calls (STATUS
//!   ENQUIRY) on the indication instead.
//! - `persistent` keeps the link up the way libpri does on PRI: after the N200 SABME retries
//!   fail, `Released` is reported once and SABME goes on every T200 (each failed round still
//!   raises MDL-ERROR G and discards what layer 3 queued meanwhile, so the queue stays
//!   bounded); after a peer DISC or DM the link is re-established T200 later. `release()`
//!   suspends this until `establish()` or `send()`.
//! - DL-DATA-REQUEST while down (state 4) queues the message and establishes the link (as
//!   libpri; the SDL has no such transition). In state 5 it is always queued (the SDL discards
//!   it when layer 3 initiated the establishment, which would lose data sent right after
//!   `establish`). In state 6 it is queued and the link is re-established once released.
//! - DL-RELEASE-REQUEST in state 5 sends DISC and waits in state 6, so a peer that already saw
//!   our SABME is released too.
//! - Own receiver busy is not implemented (we never send RNR); peer busy (RNR) is honoured.
//! - XID is recognised and ignored: parameters are not negotiated, and a probe must not reset
//!   the link as an unimplemented frame (MDL-ERROR L) would.
//! - Frame rejection conditions (MDL-ERROR L, M, N, O) never transmit FRMR (ETSI LAPD); in
//!   states 7 and 8 they re-establish the link, elsewhere the frame is dropped.
//! - A frame whose C/R bit contradicts its type (an I, SABME, DISC or UI response; a UA, DM or
//!   FRMR command) is dropped and counted in `wrong_cr`: this is what a TE/NT role
//!   misconfiguration looks like.
//! - UI frames are also accepted on the group TEI 127 (broadcast).
//! - While the physical layer is down received frames are ignored, `send` and
//!   `send_unit_data` drop their message (counted), and `establish` is remembered until
//!   `physical_up`.

use std::collections::VecDeque;
use std::time::Duration;

use crate::time::{earliest, Instant};

/// SAPI of call control procedures (Q.931), the only one a PRI D channel carries.
pub const SAPI_CALL_CONTROL: u8 = 0;
/// The fixed TEI of a point-to-point PRI link.
pub const TEI_POINT_TO_POINT: u8 = 0;
/// Group TEI: broadcast UI frames only.
pub const TEI_GROUP: u8 = 127;
/// Bound on layer 3 messages waiting in the I queue, so a peer that stays busy cannot make
/// the queue grow without limit; further messages are dropped and counted.
pub const MAX_I_QUEUE: usize = 4096;

/// Sequence numbers count modulo 128 (extended mode, SABME).
const SEQ_MASK: u8 = 0x7f;
/// The largest window modulo 128 allows.
const MAX_K: u8 = 127;
/// Timers shorter than this would make the driver spin on `handle_timeout`.
const MIN_TIMER: Duration = Duration::from_millis(1);

/// Address extension bit: 0 in the first address octet, 1 in the second (two-octet address).
const EA_BIT: u8 = 0x01;
/// Command/response bit of the first address octet.
const CR_BIT: u8 = 0x02;

/// First control octet: bit 1 clear means an I frame.
const I_FORMAT_BIT: u8 = 0x01;
/// First control octet: the low two bits are 01 for S frames, 11 for U frames.
const FORMAT_MASK: u8 = 0x03;
const S_FORMAT: u8 = 0x01;
const S_RR: u8 = 0x01;
const S_RNR: u8 = 0x05;
const S_REJ: u8 = 0x09;
const U_SABME: u8 = 0x6f;
const U_DM: u8 = 0x0f;
const U_UI: u8 = 0x03;
const U_DISC: u8 = 0x43;
const U_UA: u8 = 0x63;
const U_FRMR: u8 = 0x87;
const U_XID: u8 = 0xaf;
/// P/F bit of a U frame's control octet.
const U_PF_BIT: u8 = 0x10;
/// P/F bit of the second control octet of I and S frames.
const SEQ_PF_BIT: u8 = 0x01;

/// Address plus one control octet: U frames.
const U_HEADER_LEN: usize = 3;
/// Address plus two control octets: I and S frames.
const SEQ_HEADER_LEN: usize = 4;

/// Which side of the user-network interface we are; decides the C/R bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// User side (TE / CPE): sends commands with C/R=0.
    Te,
    /// Network side (NT): sends commands with C/R=1.
    Nt,
}

/// Q.921 system parameters (5.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Q921Config {
    /// Retransmission / response timer.
    pub t200: Duration,
    /// Maximum time without frames exchanged before we poll the peer.
    pub t203: Duration,
    /// Maximum number of retransmissions (SABME, DISC, enquiry) before giving up.
    pub n200: u32,
    /// Window: maximum number of outstanding I frames (1..=127).
    pub k: u8,
    /// Maximum octets in an information field.
    pub n201: usize,
    /// Keep the link established on our own (PRI practice): see the module doc.
    pub persistent: bool,
}

impl Default for Q921Config {
    /// PRI values, as libpri uses them.
    fn default() -> Self {
        Q921Config {
            t200: Duration::from_secs(1),
            t203: Duration::from_secs(10),
            n200: 3,
            k: 7,
            n201: 260,
            persistent: true,
        }
    }
}

/// Data link states of the Q.921 SDL (the TEI states 1-3 do not exist on PRI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkState {
    /// State 4: no multiple frame operation.
    TeiAssigned,
    /// State 5: SABME sent, waiting for UA.
    AwaitingEstablishment,
    /// State 6: DISC sent, waiting for UA.
    AwaitingRelease,
    /// State 7: the link is up.
    MultipleFrameEstablished,
    /// State 8: the link is up, but we poll the peer after a T200 or T203 expiry.
    TimerRecovery,
}

impl LinkState {
    /// Short name for logs and status output.
    pub fn name(&self) -> &'static str {
        match self {
            LinkState::TeiAssigned => "down",
            LinkState::AwaitingEstablishment => "establishing",
            LinkState::AwaitingRelease => "releasing",
            LinkState::MultipleFrameEstablished => "up",
            LinkState::TimerRecovery => "timer-recovery",
        }
    }

    /// The state number of the Q.921 SDL.
    pub fn number(&self) -> u8 {
        match self {
            LinkState::TeiAssigned => 4,
            LinkState::AwaitingEstablishment => 5,
            LinkState::AwaitingRelease => 6,
            LinkState::MultipleFrameEstablished => 7,
            LinkState::TimerRecovery => 8,
        }
    }

    /// Multiple frame operation: layer 3 messages can flow.
    pub fn is_up(&self) -> bool {
        matches!(self, LinkState::MultipleFrameEstablished | LinkState::TimerRecovery)
    }
}

/// MDL-ERROR-INDICATION codes of Q.921 Appendix II, Table II.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MdlError {
    /// A: unsolicited supervisory response with F=1.
    A,
    /// B: unsolicited DM response with F=1.
    B,
    /// C: unsolicited UA response with F=1.
    C,
    /// D: unsolicited UA response with F=0.
    D,
    /// E: unsolicited DM response with F=0 (peer wants re-establishment).
    E,
    /// F: peer initiated re-establishment (SABME while established).
    F,
    /// G: SABME retransmitted N200 times without answer.
    G,
    /// H: DISC retransmitted N200 times without answer.
    H,
    /// I: status enquiry retransmitted N200 times without answer.
    I,
    /// J: N(R) error.
    J,
    /// K: FRMR received.
    K,
    /// L: undefined or unimplemented control field.
    L,
    /// M: information field not permitted in this frame.
    M,
    /// N: frame of wrong size.
    N,
    /// O: information field longer than N201.
    O,
}

impl MdlError {
    /// The letter of Table II.1.
    pub fn code(&self) -> char {
        match self {
            MdlError::A => 'A',
            MdlError::B => 'B',
            MdlError::C => 'C',
            MdlError::D => 'D',
            MdlError::E => 'E',
            MdlError::F => 'F',
            MdlError::G => 'G',
            MdlError::H => 'H',
            MdlError::I => 'I',
            MdlError::J => 'J',
            MdlError::K => 'K',
            MdlError::L => 'L',
            MdlError::M => 'M',
            MdlError::N => 'N',
            MdlError::O => 'O',
        }
    }

    /// What happened, for logs.
    pub fn description(&self) -> &'static str {
        match self {
            MdlError::A => "unsolicited supervisory response F=1",
            MdlError::B => "unsolicited DM response F=1",
            MdlError::C => "unsolicited UA response F=1",
            MdlError::D => "unsolicited UA response F=0",
            MdlError::E => "unsolicited DM response F=0",
            MdlError::F => "peer initiated re-establishment",
            MdlError::G => "no answer to SABME after N200 retransmissions",
            MdlError::H => "no answer to DISC after N200 retransmissions",
            MdlError::I => "no answer to status enquiry after N200 retransmissions",
            MdlError::J => "N(R) error",
            MdlError::K => "FRMR received",
            MdlError::L => "undefined control field",
            MdlError::M => "information field not permitted",
            MdlError::N => "frame of wrong size",
            MdlError::O => "information field longer than N201",
        }
    }
}

/// Indications to layer 3 and management.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DlEvent {
    /// The link is in multiple frame operation. `ours`: DL-ESTABLISH-CONFIRM (we initiated);
    /// otherwise DL-ESTABLISH-INDICATION, which on a link that was already up means it was
    /// reset and messages may have been lost.
    Established { ours: bool },
    /// The link is down. `ours`: DL-RELEASE-CONFIRM (answer to `release`); otherwise
    /// DL-RELEASE-INDICATION (peer DISC or DM, establishment failed, physical layer down).
    Released { ours: bool },
    /// DL-DATA-INDICATION: one layer 3 message from an I frame.
    Data(Vec<u8>),
    /// DL-UNIT-DATA-INDICATION: one layer 3 message from a UI frame.
    UnitData(Vec<u8>),
    /// MDL-ERROR-INDICATION, for logs and counters.
    MdlError(MdlError),
}

/// Frame and error statistics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Q921Counters {
    /// Frames handed to the driver.
    pub frames_tx: u64,
    /// Frames received from the driver, whatever they were.
    pub frames_rx: u64,
    /// I frames sent, retransmissions included.
    pub i_frames_tx: u64,
    /// I frames received for us, in sequence or not.
    pub i_frames_rx: u64,
    /// I frames sent again after a REJ or an enquiry answer.
    pub retransmissions: u64,
    pub rej_tx: u64,
    pub rej_rx: u64,
    /// Invalid frames (Q.921 2.9: too short, bad address extension bits), dropped silently.
    pub bad_frames: u64,
    /// Valid frames for another SAPI or TEI, ignored.
    pub other_address: u64,
    /// Frames whose C/R bit contradicts their type, ignored (TE/NT misconfiguration?).
    pub wrong_cr: u64,
    pub frmr_rx: u64,
    /// Re-establishments of a link that was up, by either side.
    pub link_resets: u64,
    pub mdl_errors: u64,
    /// Layer 3 messages dropped: I queue discarded by the spec, physical layer down, too long
    /// for N201, or queue full.
    pub discarded: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Supervisory {
    Rr,
    Rnr,
    Rej,
}

/// A frame addressed to us, decoded.
#[derive(Debug)]
enum Frame<'a> {
    I { ns: u8, nr: u8, p: bool, info: &'a [u8] },
    S { kind: Supervisory, nr: u8, pf: bool },
    Sabme { p: bool },
    Disc { p: bool },
    Ua { f: bool },
    Dm { f: bool },
    Frmr,
    Ui { info: &'a [u8] },
    Xid,
}

/// Outcome of decoding received octets.
#[derive(Debug)]
enum Decoded<'a> {
    Frame {
        command: bool,
        frame: Frame<'a>,
    },
    /// Invalid frame (Q.921 2.9): discarded without notification.
    Invalid,
    /// Another SAPI or TEI.
    OtherAddress,
    /// C/R contradicts the frame type.
    WrongCr,
    /// Frame rejection condition (5.8.5).
    Rejected(MdlError),
}

/// Decodes one frame as the side `role` receives it. Never panics, whatever `bytes` holds.
fn decode(role: Role, n201: usize, bytes: &[u8]) -> Decoded<'_> {
    let &[a0, a1, ctl, ..] = bytes else {
        return Decoded::Invalid;
    };
    // A single-octet address, or one longer than two octets, is invalid.
    if a0 & EA_BIT != 0 || a1 & EA_BIT == 0 {
        return Decoded::Invalid;
    }
    let sapi = a0 >> 2;
    let tei = a1 >> 1;
    let is_ui = ctl & FORMAT_MASK == FORMAT_MASK && ctl & !U_PF_BIT == U_UI;
    if sapi != SAPI_CALL_CONTROL || !(tei == TEI_POINT_TO_POINT || (tei == TEI_GROUP && is_ui)) {
        return Decoded::OtherAddress;
    }
    // Commands from the network carry C/R=1, commands from the user C/R=0.
    let command = (a0 & CR_BIT != 0) == (role == Role::Te);
    let info = bytes.get(U_HEADER_LEN..).unwrap_or_default();

    if ctl & I_FORMAT_BIT == 0 {
        let &[_, _, _, c2, ..] = bytes else {
            return Decoded::Invalid;
        };
        if !command {
            return Decoded::WrongCr;
        }
        let info = bytes.get(SEQ_HEADER_LEN..).unwrap_or_default();
        if info.len() > n201 {
            return Decoded::Rejected(MdlError::O);
        }
        let frame = Frame::I { ns: ctl >> 1, nr: c2 >> 1, p: c2 & SEQ_PF_BIT != 0, info };
        return Decoded::Frame { command, frame };
    }

    if ctl & FORMAT_MASK == S_FORMAT {
        let &[_, _, _, c2, ..] = bytes else {
            return Decoded::Invalid;
        };
        let kind = match ctl {
            S_RR => Supervisory::Rr,
            S_RNR => Supervisory::Rnr,
            S_REJ => Supervisory::Rej,
            _ => return Decoded::Rejected(MdlError::L),
        };
        if bytes.len() != SEQ_HEADER_LEN {
            return Decoded::Rejected(MdlError::N);
        }
        let frame = Frame::S { kind, nr: c2 >> 1, pf: c2 & SEQ_PF_BIT != 0 };
        return Decoded::Frame { command, frame };
    }

    let pf = ctl & U_PF_BIT != 0;
    // (frame, must be a command?, may carry an information field?)
    let (frame, must_be_command, info_allowed) = match ctl & !U_PF_BIT {
        U_SABME => (Frame::Sabme { p: pf }, Some(true), false),
        U_DISC => (Frame::Disc { p: pf }, Some(true), false),
        U_UA => (Frame::Ua { f: pf }, Some(false), false),
        U_DM => (Frame::Dm { f: pf }, Some(false), false),
        U_FRMR => (Frame::Frmr, Some(false), true),
        U_UI => (Frame::Ui { info }, Some(true), true),
        U_XID => (Frame::Xid, None, true),
        _ => return Decoded::Rejected(MdlError::L),
    };
    if must_be_command.is_some_and(|c| c != command) {
        return Decoded::WrongCr;
    }
    if !info_allowed && !info.is_empty() {
        return Decoded::Rejected(MdlError::M);
    }
    if matches!(frame, Frame::Ui { .. }) && info.len() > n201 {
        return Decoded::Rejected(MdlError::O);
    }
    Decoded::Frame { command, frame }
}

/// `(a - b) mod 128`: how far sequence number `a` is ahead of `b`.
fn seq_distance(a: u8, b: u8) -> u8 {
    a.wrapping_sub(b) & SEQ_MASK
}

/// `n + 1 mod 128`.
fn seq_next(n: u8) -> u8 {
    n.wrapping_add(1) & SEQ_MASK
}

/// One Q.921 data link connection (SAPI 0, TEI 0).
#[derive(Debug)]
pub struct Q921 {
    role: Role,
    config: Q921Config,
    state: LinkState,
    /// V(S): N(S) of the next new I frame.
    vs: u8,
    /// V(A): the oldest unacknowledged N(S).
    va: u8,
    /// V(R): the N(S) we expect next.
    vr: u8,
    /// Retransmission count of SABME, DISC or enquiry.
    rc: u32,
    /// Peer sent RNR: no I frames until it clears.
    peer_busy: bool,
    /// REJ sent, waiting for the missing frame; only one REJ per sequence error.
    reject_exception: bool,
    /// An I frame arrived and is not yet acknowledged (by an I frame or RR).
    ack_pending: bool,
    /// The current establishment was asked for on layer 3's behalf: answer with a confirm and
    /// keep the I queue.
    l3_initiated: bool,
    t200: Option<Instant>,
    t203: Option<Instant>,
    /// Persistent mode: when to try establishing again after the peer released the link.
    restart: Option<Instant>,
    /// The I queue: entries `0..outstanding()` were sent with N(S) = V(A).. and wait for an
    /// acknowledgement, the rest wait for the window.
    i_queue: VecDeque<Vec<u8>>,
    /// How many entries at the head of the I queue were transmitted at least once (to count
    /// retransmissions).
    ever_sent: usize,
    /// Layer 3 (or `persistent`) wants the link up; cleared by `release`.
    want_up: bool,
    physical_up: bool,
    /// The last state we told layer 3 about was "released" (or nothing yet): suppresses
    /// repeated `Released` while persistent retries keep failing.
    reported_down: bool,
    /// Layer 3 called `establish` and has not had an answer yet.
    l3_awaiting: bool,
    tx: VecDeque<Vec<u8>>,
    events: VecDeque<DlEvent>,
    counters: Q921Counters,
}

impl Q921 {
    /// A link in state 4 with the physical layer assumed up. Timers below 1 ms and a window
    /// outside 1..=127 are clamped.
    pub fn new(role: Role, config: Q921Config) -> Q921 {
        let config = Q921Config {
            t200: config.t200.max(MIN_TIMER),
            t203: config.t203.max(MIN_TIMER),
            k: config.k.clamp(1, MAX_K),
            ..config
        };
        Q921 {
            role,
            state: LinkState::TeiAssigned,
            vs: 0,
            va: 0,
            vr: 0,
            rc: 0,
            peer_busy: false,
            reject_exception: false,
            ack_pending: false,
            l3_initiated: false,
            t200: None,
            t203: None,
            restart: None,
            i_queue: VecDeque::new(),
            ever_sent: 0,
            want_up: config.persistent,
            physical_up: true,
            reported_down: true,
            l3_awaiting: false,
            tx: VecDeque::new(),
            events: VecDeque::new(),
            counters: Q921Counters::default(),
            config,
        }
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn config(&self) -> &Q921Config {
        &self.config
    }

    pub fn state(&self) -> LinkState {
        self.state
    }

    pub fn counters(&self) -> &Q921Counters {
        &self.counters
    }

    /// I frames sent and not yet acknowledged: V(S) - V(A).
    pub fn outstanding(&self) -> usize {
        usize::from(seq_distance(self.vs, self.va))
    }

    /// Layer 3 messages in the I queue, sent-unacknowledged ones included.
    pub fn queued(&self) -> usize {
        self.i_queue.len()
    }

    /// DL-ESTABLISH-REQUEST. On a link that is up this resets it (the I queue is discarded),
    /// as the SDL says. While the physical layer is down it is remembered until `physical_up`.
    pub fn establish(&mut self, now: Instant) {
        self.want_up = true;
        self.l3_awaiting = true;
        if !self.physical_up {
            return;
        }
        match self.state {
            LinkState::TeiAssigned => {
                self.start_establishment(now, true);
            }
            LinkState::AwaitingEstablishment => {
                self.discard_i_queue();
                self.l3_initiated = true;
            }
            // Re-established once the release completes (`want_up`).
            LinkState::AwaitingRelease => {}
            LinkState::MultipleFrameEstablished | LinkState::TimerRecovery => {
                self.discard_i_queue();
                self.counters.link_resets += 1;
                self.start_establishment(now, true);
            }
        }
        self.flush(now);
    }

    /// DL-RELEASE-REQUEST: discards the I queue and sends DISC. Suspends persistence until
    /// `establish` or `send`.
    pub fn release(&mut self, now: Instant) {
        self.want_up = false;
        self.l3_awaiting = false;
        match self.state {
            LinkState::TeiAssigned => {
                self.restart = None;
                self.announce_released(true);
            }
            LinkState::AwaitingEstablishment | LinkState::MultipleFrameEstablished | LinkState::TimerRecovery => {
                self.discard_i_queue();
                self.rc = 0;
                self.send_u(U_DISC, true, true);
                self.t203 = None;
                self.t200 = Some(now + self.config.t200);
                self.state = LinkState::AwaitingRelease;
            }
            LinkState::AwaitingRelease => {}
        }
    }

    /// DL-DATA-REQUEST: queues one layer 3 message; it goes out in I frames as the window
    /// allows. On a link that is down it is queued and the link established.
    pub fn send(&mut self, now: Instant, l3: Vec<u8>) {
        if !self.physical_up || l3.len() > self.config.n201 || self.i_queue.len() >= MAX_I_QUEUE {
            self.counters.discarded += 1;
            return;
        }
        self.i_queue.push_back(l3);
        self.want_up = true;
        if self.state == LinkState::TeiAssigned {
            self.start_establishment(now, true);
        }
        self.flush(now);
    }

    /// DL-UNIT-DATA-REQUEST: one UI command frame, in any state.
    pub fn send_unit_data(&mut self, _now: Instant, l3: Vec<u8>) {
        if !self.physical_up || l3.len() > self.config.n201 {
            self.counters.discarded += 1;
            return;
        }
        let mut frame = Vec::with_capacity(U_HEADER_LEN + l3.len());
        frame.extend_from_slice(&self.address(true));
        frame.push(U_UI);
        frame.extend_from_slice(&l3);
        self.transmit(frame);
    }

    /// PH-DEACTIVATE-INDICATION (E1 alarm): back to state 4 at once, queues and pending
    /// frames dropped, timers stopped, `Released` reported if layer 3 thought otherwise.
    pub fn physical_down(&mut self, _now: Instant) {
        self.physical_up = false;
        let was = self.state;
        self.discard_i_queue();
        self.tx.clear();
        self.restart = None;
        self.enter_tei_assigned();
        if was != LinkState::TeiAssigned || self.l3_awaiting {
            self.announce_released(was == LinkState::AwaitingRelease);
        }
    }

    /// PH-ACTIVATE-INDICATION: establishes the link if persistent (or if layer 3 asked while
    /// the physical layer was down).
    pub fn physical_up(&mut self, now: Instant) {
        self.physical_up = true;
        if self.state == LinkState::TeiAssigned && self.want_up && (self.config.persistent || self.l3_awaiting) {
            self.start_establishment(now, true);
        }
    }

    /// One received frame, FCS already checked and stripped.
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        self.counters.frames_rx += 1;
        if !self.physical_up {
            return;
        }
        match decode(self.role, self.config.n201, frame) {
            Decoded::Invalid => self.counters.bad_frames += 1,
            Decoded::OtherAddress => self.counters.other_address += 1,
            Decoded::WrongCr => self.counters.wrong_cr += 1,
            Decoded::Rejected(error) => self.frame_rejection(now, error),
            Decoded::Frame { command, frame } => self.on_frame(now, command, frame),
        }
        self.flush(now);
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.t200.is_some_and(|t| t <= now) {
            self.t200 = None;
            self.t200_expired(now);
        }
        if self.t203.is_some_and(|t| t <= now) {
            self.t203 = None;
            self.t203_expired(now);
        }
        if self.restart.is_some_and(|t| t <= now) {
            self.restart = None;
            self.restart_expired(now);
        }
        self.flush(now);
    }

    /// When `handle_timeout` wants to be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        earliest(earliest(self.t200, self.t203), self.restart)
    }

    /// The next frame to transmit (without FCS).
    ///
    /// The acknowledgement of received I frames is held until the driver asks for frames:
    /// by then layer 3 has usually queued its answer, whose I frame carries N(R), so no
    /// separate RR goes out (piggybacking, §5.6.2).
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.tx.is_empty() && matches!(self.state, LinkState::MultipleFrameEstablished | LinkState::TimerRecovery) {
            self.send_pending_ack();
        }
        self.tx.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<DlEvent> {
        self.events.pop_front()
    }

    // ---- received frames ----

    fn on_frame(&mut self, now: Instant, command: bool, frame: Frame<'_>) {
        match frame {
            Frame::Ui { info } => self.events.push_back(DlEvent::UnitData(info.to_vec())),
            Frame::Xid => {}
            Frame::Sabme { p } => self.on_sabme(now, p),
            Frame::Disc { p } => self.on_disc(now, p),
            Frame::Ua { f } => self.on_ua(now, f),
            Frame::Dm { f } => self.on_dm(now, f),
            Frame::Frmr => {
                self.counters.frmr_rx += 1;
                if self.state.is_up() {
                    self.reestablish(now, MdlError::K);
                }
            }
            Frame::I { ns, nr, p, info } => self.on_i(now, ns, nr, p, info),
            Frame::S { kind, nr, pf } => self.on_s(now, command, kind, nr, pf),
        }
    }

    fn on_sabme(&mut self, now: Instant, p: bool) {
        match self.state {
            LinkState::TeiAssigned => {
                self.send_u(U_UA, false, p);
                self.clear_exception_conditions();
                self.enter_established(now);
                self.announce_established(false);
            }
            // Both sides establishing at once: answer, and take the peer's UA as our confirm.
            LinkState::AwaitingEstablishment => self.send_u(U_UA, false, p),
            LinkState::AwaitingRelease => self.send_u(U_DM, false, p),
            LinkState::MultipleFrameEstablished | LinkState::TimerRecovery => {
                self.send_u(U_UA, false, p);
                self.clear_exception_conditions();
                self.mdl_error(MdlError::F);
                self.counters.link_resets += 1;
                let lost = self.vs != self.va;
                if lost {
                    self.discard_i_queue();
                }
                self.enter_established(now);
                if lost {
                    self.announce_established(false);
                }
            }
        }
    }

    fn on_disc(&mut self, now: Instant, p: bool) {
        match self.state {
            LinkState::TeiAssigned | LinkState::AwaitingEstablishment => self.send_u(U_DM, false, p),
            LinkState::AwaitingRelease => self.send_u(U_UA, false, p),
            LinkState::MultipleFrameEstablished | LinkState::TimerRecovery => {
                self.discard_i_queue();
                self.send_u(U_UA, false, p);
                self.link_lost(now, false);
            }
        }
    }

    fn on_ua(&mut self, now: Instant, f: bool) {
        match self.state {
            LinkState::TeiAssigned | LinkState::MultipleFrameEstablished | LinkState::TimerRecovery => {
                self.mdl_error(if f { MdlError::C } else { MdlError::D })
            }
            LinkState::AwaitingEstablishment if !f => self.mdl_error(MdlError::D),
            LinkState::AwaitingEstablishment => {
                let ours = self.l3_initiated;
                // A re-establishment we started ourselves lost the outstanding frames.
                let lost = !ours && self.vs != self.va;
                if lost {
                    self.discard_i_queue();
                }
                self.l3_initiated = false;
                self.enter_established(now);
                if ours || lost {
                    self.announce_established(ours);
                }
            }
            LinkState::AwaitingRelease if !f => self.mdl_error(MdlError::D),
            LinkState::AwaitingRelease => self.release_completed(now),
        }
    }

    fn on_dm(&mut self, now: Instant, f: bool) {
        match self.state {
            // An unsolicited DM F=0 asks us to establish.
            LinkState::TeiAssigned if !f => {
                self.start_establishment(now, true);
            }
            LinkState::TeiAssigned => {}
            // The peer refuses our SABME.
            LinkState::AwaitingEstablishment if f => {
                self.discard_i_queue();
                self.link_lost(now, false);
            }
            LinkState::AwaitingEstablishment => {}
            LinkState::AwaitingRelease if f => self.release_completed(now),
            LinkState::AwaitingRelease => {}
            LinkState::MultipleFrameEstablished if f => self.mdl_error(MdlError::B),
            LinkState::MultipleFrameEstablished => self.reestablish(now, MdlError::E),
            LinkState::TimerRecovery => self.reestablish(now, if f { MdlError::B } else { MdlError::E }),
        }
    }

    fn on_i(&mut self, now: Instant, ns: u8, nr: u8, p: bool, info: &[u8]) {
        self.counters.i_frames_rx += 1;
        if !self.state.is_up() {
            // The peer has not yet noticed that we are down or re-establishing.
            return;
        }
        if ns == self.vr {
            self.vr = seq_next(self.vr);
            self.reject_exception = false;
            self.events.push_back(DlEvent::Data(info.to_vec()));
            if p {
                self.send_s(S_RR, false, true);
                self.ack_pending = false;
            } else {
                self.ack_pending = true;
            }
        } else if self.reject_exception {
            if p {
                self.send_s(S_RR, false, true);
                self.ack_pending = false;
            }
        } else {
            self.reject_exception = true;
            self.send_s(S_REJ, false, p);
            self.counters.rej_tx += 1;
            self.ack_pending = false;
        }

        if !self.nr_valid(nr) {
            self.reestablish(now, MdlError::J);
        } else if self.state == LinkState::TimerRecovery || self.peer_busy {
            self.update_va(nr);
        } else {
            self.ack_received(now, nr);
        }
    }

    fn on_s(&mut self, now: Instant, command: bool, kind: Supervisory, nr: u8, pf: bool) {
        if kind == Supervisory::Rej {
            self.counters.rej_rx += 1;
        }
        if !self.state.is_up() {
            return;
        }
        self.peer_busy = kind == Supervisory::Rnr;
        if command && pf {
            self.enquiry_response();
        }
        if self.state == LinkState::MultipleFrameEstablished && !command && pf {
            // We only poll in timer recovery.
            self.mdl_error(MdlError::A);
        }
        if !self.nr_valid(nr) {
            self.reestablish(now, MdlError::J);
            return;
        }
        if self.state == LinkState::TimerRecovery {
            self.update_va(nr);
            if !command && pf {
                // The answer to our enquiry: its N(R) says what the peer is missing.
                if kind == Supervisory::Rnr {
                    self.t200 = Some(now + self.config.t200);
                } else {
                    self.t200 = None;
                    self.t203 = Some(now + self.config.t203);
                }
                self.invoke_retransmission(nr);
                self.state = LinkState::MultipleFrameEstablished;
            }
            return;
        }
        match kind {
            Supervisory::Rr => self.ack_received(now, nr),
            Supervisory::Rej => {
                self.update_va(nr);
                self.t200 = None;
                self.t203 = Some(now + self.config.t203);
                self.invoke_retransmission(nr);
            }
            Supervisory::Rnr => {
                self.update_va(nr);
                self.t203 = None;
                self.t200 = Some(now + self.config.t200);
            }
        }
    }

    /// A frame rejection condition: reported, and in multiple frame operation the link is
    /// re-established (no FRMR is sent, as in ETSI LAPD).
    fn frame_rejection(&mut self, now: Instant, error: MdlError) {
        if self.state.is_up() {
            self.reestablish(now, error);
        } else {
            self.mdl_error(error);
        }
    }

    // ---- timers ----

    fn t200_expired(&mut self, now: Instant) {
        let n200 = self.config.n200;
        match self.state {
            LinkState::TeiAssigned => {}
            LinkState::AwaitingEstablishment if self.rc >= n200 => {
                self.discard_i_queue();
                self.mdl_error(MdlError::G);
                self.link_lost(now, true);
            }
            LinkState::AwaitingEstablishment => {
                self.rc += 1;
                self.send_u(U_SABME, true, true);
                self.t200 = Some(now + self.config.t200);
            }
            LinkState::AwaitingRelease if self.rc >= n200 => {
                self.mdl_error(MdlError::H);
                self.release_completed(now);
            }
            LinkState::AwaitingRelease => {
                self.rc += 1;
                self.send_u(U_DISC, true, true);
                self.t200 = Some(now + self.config.t200);
            }
            LinkState::MultipleFrameEstablished => {
                self.rc = 0;
                self.transmit_enquiry(now);
                self.rc += 1;
                self.state = LinkState::TimerRecovery;
            }
            LinkState::TimerRecovery if self.rc >= n200 => self.reestablish(now, MdlError::I),
            LinkState::TimerRecovery => {
                self.transmit_enquiry(now);
                self.rc += 1;
            }
        }
    }

    fn t203_expired(&mut self, now: Instant) {
        if self.state == LinkState::MultipleFrameEstablished {
            self.transmit_enquiry(now);
            self.rc = 0;
            self.state = LinkState::TimerRecovery;
        }
    }

    fn restart_expired(&mut self, now: Instant) {
        if self.state == LinkState::TeiAssigned && self.config.persistent && self.want_up && self.physical_up {
            self.start_establishment(now, true);
        }
    }

    // ---- procedures of the SDL ----

    /// "Establish data link": SABME with P=1, T200 running.
    fn establish_data_link(&mut self, now: Instant) {
        self.clear_exception_conditions();
        self.rc = 0;
        self.send_u(U_SABME, true, true);
        self.t203 = None;
        self.t200 = Some(now + self.config.t200);
    }

    fn start_establishment(&mut self, now: Instant, l3_initiated: bool) {
        self.restart = None;
        self.establish_data_link(now);
        self.l3_initiated = l3_initiated;
        self.state = LinkState::AwaitingEstablishment;
    }

    /// Data-link-initiated re-establishment of a link that was up.
    fn reestablish(&mut self, now: Instant, error: MdlError) {
        self.mdl_error(error);
        self.counters.link_resets += 1;
        self.start_establishment(now, false);
    }

    fn clear_exception_conditions(&mut self) {
        self.peer_busy = false;
        self.reject_exception = false;
        self.ack_pending = false;
    }

    /// Enters state 7 with fresh sequence numbers.
    fn enter_established(&mut self, now: Instant) {
        self.vs = 0;
        self.va = 0;
        self.vr = 0;
        self.t200 = None;
        self.t203 = Some(now + self.config.t203);
        self.restart = None;
        self.state = LinkState::MultipleFrameEstablished;
    }

    fn enter_tei_assigned(&mut self) {
        self.state = LinkState::TeiAssigned;
        self.t200 = None;
        self.t203 = None;
        self.rc = 0;
        self.l3_initiated = false;
        self.clear_exception_conditions();
    }

    /// The link went down against our will (peer DISC or DM, N200 SABME failures). In
    /// persistent mode establishment starts again: at once after failed retries (so SABME
    /// keeps its T200 rhythm), T200 later after the peer released.
    fn link_lost(&mut self, now: Instant, retry_now: bool) {
        self.enter_tei_assigned();
        self.announce_released(false);
        if self.config.persistent && self.want_up && self.physical_up {
            if retry_now {
                self.start_establishment(now, true);
            } else {
                self.restart = Some(now + self.config.t200);
            }
        }
    }

    /// Our DISC was answered (or given up on): confirm, and establish again if layer 3 asked
    /// for it meanwhile.
    fn release_completed(&mut self, now: Instant) {
        // An `establish` that came during the release still awaits its own answer.
        let l3_awaiting = self.l3_awaiting;
        self.enter_tei_assigned();
        self.announce_released(true);
        if self.want_up && self.physical_up {
            self.l3_awaiting = l3_awaiting;
            self.start_establishment(now, true);
        }
    }

    fn transmit_enquiry(&mut self, now: Instant) {
        self.send_s(S_RR, true, true);
        self.ack_pending = false;
        self.t200 = Some(now + self.config.t200);
    }

    fn enquiry_response(&mut self) {
        self.send_s(S_RR, false, true);
        self.ack_pending = false;
    }

    /// V(A) <= N(R) <= V(S), modulo 128.
    fn nr_valid(&self, nr: u8) -> bool {
        seq_distance(nr, self.va) <= seq_distance(self.vs, self.va)
    }

    /// Drops the acknowledged frames from the head of the I queue.
    fn update_va(&mut self, nr: u8) {
        let acked = usize::from(seq_distance(nr, self.va)).min(self.i_queue.len());
        self.i_queue.drain(..acked);
        self.ever_sent = self.ever_sent.saturating_sub(acked);
        self.va = nr;
    }

    /// Acknowledgement in state 7 with the peer not busy: T200 runs while frames are
    /// outstanding, T203 when all are acknowledged.
    fn ack_received(&mut self, now: Instant, nr: u8) {
        if nr == self.vs {
            self.update_va(nr);
            self.t200 = None;
            self.t203 = Some(now + self.config.t203);
        } else if nr != self.va {
            self.update_va(nr);
            self.t200 = Some(now + self.config.t200);
        }
    }

    /// Go back N: frames from N(R) on are sent again as the window allows.
    fn invoke_retransmission(&mut self, nr: u8) {
        self.vs = nr;
    }

    fn discard_i_queue(&mut self) {
        self.counters.discarded += self.i_queue.len() as u64;
        self.i_queue.clear();
        self.ever_sent = 0;
    }

    /// "I frame queued up" after every input (the pending acknowledgement waits for
    /// `poll_transmit`, so that it can ride on an I frame).
    fn flush(&mut self, now: Instant) {
        if self.state == LinkState::MultipleFrameEstablished {
            self.send_queued_i_frames(now);
        }
    }

    fn send_queued_i_frames(&mut self, now: Instant) {
        while !self.peer_busy {
            let outstanding = self.outstanding();
            if outstanding >= usize::from(self.config.k) {
                break;
            }
            let Some(info) = self.i_queue.get(outstanding) else {
                break;
            };
            let mut frame = Vec::with_capacity(SEQ_HEADER_LEN + info.len());
            frame.extend_from_slice(&self.address(true));
            frame.push(self.vs << 1);
            frame.push(self.vr << 1);
            frame.extend_from_slice(info);
            if outstanding < self.ever_sent {
                self.counters.retransmissions += 1;
            } else {
                self.ever_sent = outstanding + 1;
            }
            self.vs = seq_next(self.vs);
            self.ack_pending = false;
            self.counters.i_frames_tx += 1;
            self.transmit(frame);
            if self.t200.is_none() {
                self.t203 = None;
                self.t200 = Some(now + self.config.t200);
            }
        }
    }

    fn send_pending_ack(&mut self) {
        if self.ack_pending {
            self.ack_pending = false;
            self.send_s(S_RR, false, false);
        }
    }

    // ---- layer 3 and management indications ----

    fn announce_established(&mut self, ours: bool) {
        self.reported_down = false;
        self.l3_awaiting = false;
        self.events.push_back(DlEvent::Established { ours });
    }

    /// Reports a release unless layer 3 already knows the link is down and did not ask.
    fn announce_released(&mut self, ours: bool) {
        if ours || !self.reported_down || self.l3_awaiting {
            self.events.push_back(DlEvent::Released { ours });
        }
        self.reported_down = true;
        self.l3_awaiting = false;
    }

    fn mdl_error(&mut self, error: MdlError) {
        self.counters.mdl_errors += 1;
        self.events.push_back(DlEvent::MdlError(error));
    }

    // ---- frame building ----

    /// Address field: commands from the network and responses from the user carry C/R=1.
    fn address(&self, command: bool) -> [u8; 2] {
        let cr = match self.role {
            Role::Nt => command,
            Role::Te => !command,
        };
        [SAPI_CALL_CONTROL << 2 | if cr { CR_BIT } else { 0 }, TEI_POINT_TO_POINT << 1 | EA_BIT]
    }

    fn send_u(&mut self, code: u8, command: bool, pf: bool) {
        let [a0, a1] = self.address(command);
        self.transmit(vec![a0, a1, code | if pf { U_PF_BIT } else { 0 }]);
    }

    /// An S frame carrying the current V(R).
    fn send_s(&mut self, code: u8, command: bool, pf: bool) {
        let [a0, a1] = self.address(command);
        self.transmit(vec![a0, a1, code, self.vr << 1 | if pf { SEQ_PF_BIT } else { 0 }]);
    }

    fn transmit(&mut self, frame: Vec<u8>) {
        self.counters.frames_tx += 1;
        self.tx.push_back(frame);
    }
}

#[cfg(test)]
mod tests;
