//! Q.931 call control for one primary rate interface, either side (user or network).
//!
//! Sans-IO: received messages come in as bytes from DL-DATA-INDICATION, commands from
//! the call core per B-channel; out come messages for DL-DATA-REQUEST, call-core events
//! and the next deadline. One timer runs per call at a time (the spec's timers are
//! exclusive by state), plus T316 for our RESTART.
//!
//! A call's direction decides its states: a call *we* originate walks U1→U3→U4→U10 as
//! the user side and N6→N9→N7→N8→N10 as the network side; a call offered to us walks
//! U6→U9→U7→U8→U10 or N1→N3→N4→N10.

use std::collections::{BTreeSet, VecDeque};

use tracing::{debug, info, warn};

use super::ie::{
    self, BearerCapability, CauseIe, ChannelId, ChannelSelection, Ie, Location, PartyNumber, ProgressDescription,
    ProgressIndicator, RestartClass, Screening, TransferCapability, TypeOfNumber, UserInfoLayer1,
};
use super::message::{decode, CallRef, IeProblem, IeProblemKind, Message, MessageType};
use super::state::CallState;
use crate::dsp::tone::ToneKind;
use crate::pii::Pii;
use crate::signalling::pri::profile::{Charset, PriProfile};
use crate::signalling::pri::Side;
use crate::signalling::{ms, CallCommand, CallEvent, Cause, Party, Presentation};
use crate::time::{earliest, Instant};

/// The spec's call timers (one per call at a time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    T301,
    T302,
    T303,
    T304,
    T305,
    T308,
    T309,
    T310,
    T313,
    T322,
}

/// What layer 3 hands its driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum L3Output {
    /// DL-DATA-REQUEST.
    Send(Message),
    /// To the call core, for a B-channel.
    Event { chan: u8, event: CallEvent },
    /// Start or stop an in-band tone on a B-channel (network side ringback).
    Tone { chan: u8, tone: Option<ToneKind> },
}

#[derive(Debug)]
struct Call {
    cref: u16,
    /// We allocated the reference (we sent the SETUP).
    ours: bool,
    state: CallState,
    /// The B-channel the call core knows this call by. `None`: detached (glare loser,
    /// or a call cleared towards the core that still needs clearing on the wire).
    chan: Option<u8>,
    timer: Option<(Instant, Timer)>,
    /// Expiries of the running timer so far (T303/T308/T322 run twice).
    expiries: u8,
    /// Why we clear (kept for the RELEASE after T305).
    cause: Cause,
    /// Our SETUP, for the T303 retransmission.
    setup: Option<Message>,
    /// Overlap sending: digits still to send after SETUP ACKNOWLEDGE.
    pending_digits: String,
    /// Offered call: called number so far, and whether the core has been told.
    called: String,
    calling: Party,
    offered: bool,
    /// We have sent our first response to an offered SETUP (it carries the channel).
    responded: bool,
    /// The core has been told the call ended (Hangup or its own Hangup command).
    core_cleared: bool,
    ringback: bool,
}

impl Call {
    fn new(cref: u16, ours: bool, state: CallState, chan: Option<u8>) -> Call {
        Call {
            cref,
            ours,
            state,
            chan,
            timer: None,
            expiries: 0,
            cause: Cause::NormalClearing,
            setup: None,
            pending_digits: String::new(),
            called: String::new(),
            calling: Party::default(),
            offered: false,
            responded: false,
            core_cleared: false,
            ringback: false,
        }
    }

    /// The call reference as we put it in messages we send.
    fn cref(&self) -> CallRef {
        CallRef { value: self.cref, flag: !self.ours }
    }
}

/// Our RESTART in progress.
#[derive(Debug)]
struct Restarting {
    chans: BTreeSet<u8>,
    /// `None`: the whole interface.
    indicated: Option<u8>,
    deadline: Instant,
    sent: u32,
}

/// Counters for `trunkd ctl` and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct L3Counters {
    pub rx: u64,
    pub tx: u64,
    /// Messages ignored as undecodable (§5.8.1–5.8.3).
    pub ignored: u64,
    /// STATUS messages sent reporting a protocol error.
    pub errors_reported: u64,
    pub restarts_rx: u64,
    pub restarts_tx: u64,
}

pub struct Layer3 {
    side: Side,
    profile: PriProfile,
    law: UserInfoLayer1,
    /// B-channel numbers of the interface (E1: 1–15, 17–31).
    bchans: Vec<u8>,
    calls: Vec<Call>,
    restarting: Option<Restarting>,
    /// Channels a RESTART is owed for (after a second T308 expiry).
    restart_owed: BTreeSet<u8>,
    next_cref: u16,
    link_up: bool,
    ever_up: bool,
    /// Layer 1 was lost since the link was last up (all calls were cleared locally).
    l1_lost: bool,
    out: VecDeque<L3Output>,
    counters: L3Counters,
}

/// In-band digits of an INFORMATION or SETUP called number that end overlap receiving.
const END_OF_DIALING: char = '#';

impl Layer3 {
    pub fn new(side: Side, profile: PriProfile, alaw: bool, bchans: &[u8]) -> Layer3 {
        Layer3 {
            side,
            profile,
            law: if alaw { UserInfoLayer1::Alaw } else { UserInfoLayer1::Ulaw },
            bchans: bchans.to_vec(),
            calls: Vec::new(),
            restarting: None,
            restart_owed: BTreeSet::new(),
            next_cref: 1,
            link_up: false,
            ever_up: false,
            l1_lost: false,
            out: VecDeque::new(),
            counters: L3Counters::default(),
        }
    }

    pub fn counters(&self) -> &L3Counters {
        &self.counters
    }

    pub fn poll_output(&mut self) -> Option<L3Output> {
        self.out.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let calls = self.calls.iter().filter_map(|c| c.timer.map(|(t, _)| t)).min();
        earliest(calls, self.restarting.as_ref().map(|r| r.deadline))
    }

    /// The state name of a B-channel for `trunkd ctl channels`.
    pub fn channel_state(&self, chan: u8) -> &'static str {
        if self.is_restarting(chan) {
            return "restarting";
        }
        let Some(c) = self.calls.iter().find(|c| c.chan == Some(chan)) else {
            return if self.bchans.contains(&chan) { "idle" } else { "unknown" };
        };
        match c.state {
            CallState::Null => "idle",
            CallState::CallInitiated | CallState::CallPresent if c.ours => "dialing",
            CallState::CallInitiated | CallState::CallPresent => "offered",
            CallState::OverlapSending | CallState::OverlapReceiving => "overlap",
            CallState::OutgoingCallProceeding | CallState::IncomingCallProceeding => "proceeding",
            CallState::CallDelivered | CallState::CallReceived => "alerting",
            CallState::ConnectRequest => "connecting",
            CallState::Active => "up",
            CallState::DisconnectRequest | CallState::DisconnectIndication => "disconnecting",
            CallState::ReleaseRequest => "releasing",
        }
    }

    /// The Q.931 state of the call on a B-channel ("U10"), for diagnostics.
    pub fn call_state_name(&self, chan: u8) -> Option<String> {
        self.calls.iter().find(|c| c.chan == Some(chan)).map(|c| c.state.name(self.side))
    }

    pub fn is_idle(&self, chan: u8) -> bool {
        self.bchans.contains(&chan)
            && !self.is_restarting(chan)
            && !self.restart_owed.contains(&chan)
            && !self.calls.iter().any(|c| c.chan == Some(chan))
    }

    /// Out of service without a call: being restarted, or owed a RESTART.
    pub fn is_blocked(&self, chan: u8) -> bool {
        !self.calls.iter().any(|c| c.chan == Some(chan))
            && (self.is_restarting(chan) || self.restart_owed.contains(&chan))
    }

    fn is_restarting(&self, chan: u8) -> bool {
        self.restarting.as_ref().is_some_and(|r| r.chans.contains(&chan))
    }

    /// Number of calls with a call reference (including detached ones).
    pub fn calls(&self) -> usize {
        self.calls.len()
    }

    // ---- data link primitives ------------------------------------------------------------

    /// DL-ESTABLISH-CONFIRM/INDICATION: the D-channel is up (again).
    pub fn dl_established(&mut self, now: Instant) {
        self.link_up = true;
        // First time up, or up again after layer 1 was lost (and every call with it):
        // RESTART puts the peer's channels in step with ours.
        let fresh = !self.ever_up || self.l1_lost;
        self.ever_up = true;
        self.l1_lost = false;
        if fresh && self.profile.restart_on_start {
            let all: BTreeSet<u8> = self.bchans.iter().copied().filter(|c| self.is_idle(*c)).collect();
            self.send_restart(now, all, None);
        } else if let Some(r) = &mut self.restarting {
            // Our RESTART may have been lost with the link: send it again now.
            r.deadline = now;
        }
        // §5.8.8/5.8.9: after a data link reset (ours or the peer's), active calls are
        // kept and re-synchronised with STATUS ENQUIRY; a peer that lost them answers
        // with state 0 and we clear them.
        for i in 0..self.calls.len() {
            let c = &self.calls[i];
            if c.state == CallState::Active && matches!(c.timer, None | Some((_, Timer::T309))) {
                self.calls[i].timer = None;
                self.enquire(now, i);
            }
        }
    }

    /// DL-RELEASE-INDICATION: the data link failed. Active calls wait T309 for it to
    /// come back (the B-channels keep their audio); everything else is cleared.
    pub fn dl_released(&mut self, now: Instant) {
        self.link_up = false;
        let t309 = self.profile.timers.t309;
        let mut i = 0;
        while i < self.calls.len() {
            let c = &mut self.calls[i];
            if c.state == CallState::Active && t309 > 0 {
                c.timer = Some((now + ms(t309), Timer::T309));
                c.expiries = 0;
                i += 1;
            } else {
                self.drop_call(i, Cause::TemporaryFailure);
            }
        }
    }

    /// Layer 1 lost (span alarm): every call is cleared and every B-channel freed at once.
    pub fn physical_down(&mut self, _now: Instant) {
        self.link_up = false;
        self.l1_lost = true;
        while !self.calls.is_empty() {
            self.drop_call(0, Cause::NetworkOutOfOrder);
        }
    }

    // ---- timers ----------------------------------------------------------------------------

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.restarting.as_ref().is_some_and(|r| r.deadline <= now) {
            self.restart_expired(now);
        }
        let mut i = 0;
        while i < self.calls.len() {
            match self.calls[i].timer {
                Some((t, which)) if t <= now => {
                    self.calls[i].timer = None;
                    let before = self.calls.len();
                    self.call_timer(now, i, which);
                    if self.calls.len() < before {
                        continue;
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }

    fn call_timer(&mut self, now: Instant, i: usize, which: Timer) {
        debug!(cref = self.calls[i].cref, timer = ?which, "q931 timer expired");
        let c = &mut self.calls[i];
        c.expiries += 1;
        match which {
            Timer::T303 => {
                if c.expiries < 2 {
                    if let Some(setup) = c.setup.clone() {
                        c.timer = Some((now + ms(self.profile.timers.t303), Timer::T303));
                        self.send(setup);
                        return;
                    }
                }
                // No answer to SETUP twice: clear internally (§5.1.1), tell the peer in case
                // only its answers were lost.
                let cref = c.cref();
                self.send(release_complete(cref, Cause::RecoveryOnTimerExpiry, Some(b"303")));
                self.drop_call(i, Cause::RecoveryOnTimerExpiry);
            }
            Timer::T301 => self.clear(now, i, Cause::NoAnswer),
            Timer::T304 | Timer::T310 | Timer::T313 => self.clear(now, i, Cause::RecoveryOnTimerExpiry),
            Timer::T302 => self.overlap_complete(now, i),
            Timer::T305 => {
                let (cref, cause) = (c.cref(), c.cause);
                c.state = CallState::ReleaseRequest;
                c.expiries = 0;
                c.timer = Some((now + ms(self.profile.timers.t308), Timer::T308));
                self.send(release(cref, Some(cause)));
            }
            Timer::T308 => {
                if c.expiries < 2 {
                    let (cref, cause) = (c.cref(), c.cause);
                    c.timer = Some((now + ms(self.profile.timers.t308), Timer::T308));
                    self.send(release(cref, Some(cause)));
                    return;
                }
                // Twice unanswered: the channel's state on the far side is unknown, so it is
                // restarted before it carries another call (§5.3.4.3: maintenance).
                if let Some(ch) = c.chan {
                    self.restart_owed.insert(ch);
                }
                let cause = c.cause;
                self.drop_call(i, cause);
                self.pay_restarts(now);
            }
            Timer::T309 => self.drop_call(i, Cause::DestinationOutOfOrder),
            Timer::T322 => {
                if c.expiries < 2 {
                    let cref = c.cref();
                    c.timer = Some((now + ms(self.profile.timers.t322), Timer::T322));
                    self.send(Message::new(cref, MessageType::StatusEnquiry));
                } else {
                    self.clear(now, i, Cause::TemporaryFailure);
                }
            }
        }
    }

    // ---- commands from the call core -------------------------------------------------------

    pub fn command(&mut self, now: Instant, chan: u8, cmd: CallCommand) {
        if let CallCommand::Originate { called, calling } = cmd {
            self.originate(now, chan, called, calling);
            return;
        }
        let Some(i) = self.calls.iter().position(|c| c.chan == Some(chan)) else {
            if let CallCommand::Hangup { .. } = cmd {
                // Already gone on the wire: confirm so the core frees the channel.
                if self.bchans.contains(&chan) && !self.is_restarting(chan) {
                    self.event(chan, CallEvent::Released);
                }
            }
            return;
        };
        match cmd {
            CallCommand::Originate { .. } => {}
            CallCommand::Proceeding => self.respond(now, i, MessageType::CallProceeding),
            CallCommand::Alerting => self.respond(now, i, MessageType::Alerting),
            CallCommand::Progress => {
                let c = &self.calls[i];
                if !c.ours && !c.state.is_clearing() && c.state != CallState::Active {
                    let m = Message::new(c.cref(), MessageType::Progress).with(Ie::ProgressIndicator(inband()));
                    self.send(m);
                }
            }
            CallCommand::Answer => self.respond(now, i, MessageType::Connect),
            CallCommand::Hangup { cause } => {
                self.calls[i].core_cleared = true;
                self.clear(now, i, cause);
            }
        }
    }

    fn originate(&mut self, now: Instant, chan: u8, called: String, calling: Party) {
        if !self.is_idle(chan) {
            warn!(chan, "originate on a busy or unknown B-channel");
            self.event(chan, CallEvent::Hangup { cause: Cause::RequestedChannelNotAvailable });
            return;
        }
        if !self.link_up {
            self.event(chan, CallEvent::Hangup { cause: Cause::NetworkOutOfOrder });
            self.event(chan, CallEvent::Released);
            return;
        }
        let cref = self.alloc_cref();
        let state = if self.side == Side::Te { CallState::CallInitiated } else { CallState::CallPresent };
        let mut call = Call::new(cref, true, state, Some(chan));
        let n = &self.profile.numbering;
        let mut m = Message::new(call.cref(), MessageType::Setup)
            .with(Ie::BearerCapability(BearerCapability::speech(self.law)))
            .with(Ie::ChannelId(ChannelId::b_channel(chan, true)));
        if !calling.number.reveal().is_empty() || calling.presentation != Presentation::Allowed {
            m.ies.push(Ie::CallingPartyNumber(PartyNumber {
                ton: n.calling_ton.into(),
                npi: n.calling_npi.into(),
                presentation: Some((calling.presentation, Screening::UserProvidedNotScreened)),
                digits: calling.number.reveal().clone(),
            }));
        }
        if self.profile.display.send_name {
            if let Some(name) = &calling.name {
                if calling.presentation == Presentation::Allowed {
                    m.ies.push(Ie::Display(encode_display(name.reveal(), self.profile.display.charset)));
                }
            }
        }
        let (now_digits, later) = if self.profile.overlap_sending {
            (String::new(), called.clone())
        } else {
            (called.clone(), String::new())
        };
        m.ies.push(Ie::CalledPartyNumber(PartyNumber {
            ton: n.called_ton.into(),
            npi: n.called_npi.into(),
            presentation: None,
            digits: now_digits,
        }));
        if self.profile.send_sending_complete && later.is_empty() {
            m.ies.push(Ie::SendingComplete);
        }
        call.pending_digits = later;
        call.called = called;
        call.setup = Some(m.clone());
        call.timer = Some((now + ms(self.profile.timers.t303), Timer::T303));
        info!(chan, cref, called = %Pii::new(call.called.clone()), "q931 outgoing SETUP");
        self.calls.push(call);
        self.send(m);
    }

    /// Our answer to an offered call: CALL PROCEEDING, ALERTING or CONNECT. The first
    /// response carries the channel (exclusive: the one we took).
    fn respond(&mut self, now: Instant, i: usize, kind: MessageType) {
        let side = self.side;
        let c = &mut self.calls[i];
        if c.ours || c.state.is_clearing() {
            return;
        }
        let offered = matches!(
            c.state,
            CallState::CallPresent | CallState::CallInitiated | CallState::OverlapReceiving | CallState::OverlapSending
        );
        let proceeding = matches!(c.state, CallState::IncomingCallProceeding | CallState::OutgoingCallProceeding);
        let alerting = matches!(c.state, CallState::CallReceived | CallState::CallDelivered);
        let allowed = match kind {
            MessageType::CallProceeding => offered,
            MessageType::Alerting => offered || proceeding,
            MessageType::Connect => offered || proceeding || alerting,
            _ => false,
        };
        if !allowed {
            return;
        }
        let mut m = Message::new(c.cref(), kind);
        if !c.responded {
            if let Some(ch) = c.chan {
                m.ies.push(Ie::ChannelId(ChannelId::b_channel(ch, true)));
            }
            c.responded = true;
        }
        let mut tone = None;
        match (kind, side) {
            (MessageType::CallProceeding, Side::Te) => c.state = CallState::IncomingCallProceeding,
            (MessageType::CallProceeding, Side::Nt) => c.state = CallState::OutgoingCallProceeding,
            (MessageType::Alerting, _) => {
                c.state = if side == Side::Te { CallState::CallReceived } else { CallState::CallDelivered };
                if side == Side::Nt && self.profile.inband_ringback_nt {
                    m.ies.push(Ie::ProgressIndicator(inband()));
                    c.ringback = true;
                    tone = Some(Some(ToneKind::Ringback));
                }
            }
            (MessageType::Connect, Side::Te) => {
                c.state = CallState::ConnectRequest;
                c.timer = Some((now + ms(self.profile.timers.t313), Timer::T313));
            }
            (MessageType::Connect, Side::Nt) => {
                c.state = CallState::Active;
                c.timer = None;
            }
            _ => {}
        }
        if kind == MessageType::Connect && c.ringback {
            c.ringback = false;
            tone = Some(None);
        }
        if kind != MessageType::Connect && matches!(c.timer, Some((_, Timer::T302))) {
            c.timer = None;
        }
        let (chan, active) = (c.chan, c.state == CallState::Active);
        self.send(m);
        if let (Some(ch), Some(t)) = (chan, tone) {
            self.out.push_back(L3Output::Tone { chan: ch, tone: t });
        }
        if active {
            if let Some(ch) = chan {
                self.event(ch, CallEvent::Answered);
            }
        }
    }

    /// Starts clearing call `i` with `cause` (DISCONNECT, or RELEASE COMPLETE for a call
    /// we have not answered at all).
    fn clear(&mut self, now: Instant, i: usize, cause: Cause) {
        let c = &mut self.calls[i];
        if c.state.is_clearing() {
            return;
        }
        c.cause = cause;
        let cref = c.cref();
        if !c.ours && !c.responded && matches!(c.state, CallState::CallPresent | CallState::CallInitiated) {
            // Rejecting an offer outright (§5.2.5.1, §5.3.2 exception).
            self.send(release_complete(cref, cause, None));
            self.drop_call(i, cause);
            return;
        }
        c.state = if self.side == Side::Te { CallState::DisconnectRequest } else { CallState::DisconnectIndication };
        c.expiries = 0;
        c.timer = Some((now + ms(self.profile.timers.t305), Timer::T305));
        let stop_tone = std::mem::take(&mut c.ringback);
        let chan = c.chan;
        self.send(Message::new(cref, MessageType::Disconnect).with(Ie::Cause(CauseIe::new(cause, self.location()))));
        if let (true, Some(ch)) = (stop_tone, chan) {
            self.out.push_back(L3Output::Tone { chan: ch, tone: None });
        }
        if !self.calls[i].core_cleared {
            self.calls[i].core_cleared = true;
            if let Some(ch) = chan {
                self.event(ch, CallEvent::Hangup { cause });
            }
        }
    }

    // ---- received messages ----------------------------------------------------------------

    /// DL-DATA-INDICATION: one received layer 3 message.
    pub fn receive(&mut self, now: Instant, bytes: &[u8]) {
        self.counters.rx += 1;
        let decoded = match decode(bytes) {
            Ok(d) => d,
            Err(e) => {
                self.counters.ignored += 1;
                debug!(error = %e, "q931: message ignored");
                return;
            }
        };
        let (msg, problems) = (decoded.msg, decoded.problems);
        debug!(kind = msg.kind.name(), cref = msg.cref.value, flag = msg.cref.flag, "q931 rx");
        if msg.cref.is_global() {
            self.on_global(now, msg, &problems);
            return;
        }
        let ours = msg.cref.flag;
        match self.calls.iter().position(|c| c.cref == msg.cref.value && c.ours == ours) {
            Some(i) => self.on_call_message(now, i, msg, &problems),
            None => self.on_unknown_cref(now, msg, &problems),
        }
    }

    /// §5.8.6/5.8.7: a mandatory element missing or unusable, as (cause, element id).
    fn mandatory_problem(&self, msg: &Message, problems: &[IeProblem]) -> Option<(Cause, u8)> {
        if let Some(p) = problems.iter().find(|p| p.kind == IeProblemKind::ComprehensionRequired) {
            return Some((Cause::MandatoryIeMissing, p.id));
        }
        for id in self.profile.mandatory_ies(msg.kind) {
            if problems.iter().any(|p| p.codeset == 0 && p.id == id && p.kind == IeProblemKind::ContentError) {
                return Some((Cause::InvalidIeContents, id));
            }
            if !msg.ies.iter().any(|ie| ie.id() == id && !matches!(ie, Ie::Other { .. })) {
                return Some((Cause::MandatoryIeMissing, id));
            }
        }
        None
    }

    /// §5.8.7.1/5.8.7.2: optional elements we could not use are reported, the message
    /// is still acted on.
    fn report_optional_problems(&mut self, cref: CallRef, state: CallState, problems: &[IeProblem]) {
        let Some(p) = problems
            .iter()
            .find(|p| p.codeset == 0 && matches!(p.kind, IeProblemKind::Unrecognized | IeProblemKind::ContentError))
        else {
            return;
        };
        let cause = if p.kind == IeProblemKind::Unrecognized { Cause::IeNonexistent } else { Cause::InvalidIeContents };
        self.send_status(cref, state, cause, Some(&[p.id]));
    }

    fn on_unknown_cref(&mut self, now: Instant, msg: Message, problems: &[IeProblem]) {
        let reply = CallRef { value: msg.cref.value, flag: !msg.cref.flag };
        match msg.kind {
            MessageType::Setup if !msg.cref.flag => self.on_setup(now, msg, problems),
            // A SETUP claiming to answer a call of ours, or a RELEASE COMPLETE: ignore.
            MessageType::Setup | MessageType::ReleaseComplete => self.counters.ignored += 1,
            MessageType::Release => {
                self.send(release_complete(reply, Cause::InvalidCallReference, None));
            }
            MessageType::Status => {
                if msg.call_state().unwrap_or(0) != 0 {
                    self.send(release_complete(reply, Cause::WrongCallState, None));
                }
            }
            MessageType::StatusEnquiry => {
                self.send_status(reply, CallState::Null, Cause::ResponseToStatusEnquiry, None)
            }
            _ => {
                self.counters.errors_reported += 1;
                self.send(release_complete(reply, Cause::InvalidCallReference, None));
            }
        }
    }

    fn on_setup(&mut self, now: Instant, msg: Message, problems: &[IeProblem]) {
        let cref = msg.cref.value;
        let reply = CallRef { value: cref, flag: true };
        let reject = |l3: &mut Layer3, cause: Cause, diag: Option<&[u8]>| {
            l3.counters.errors_reported += 1;
            info!(cref, cause = %cause, "q931 SETUP rejected");
            l3.send(release_complete(reply, cause, diag));
        };
        if let Some((cause, id)) = self.mandatory_problem(&msg, problems) {
            return reject(self, cause, Some(&[id]));
        }
        match msg.bearer_capability().map(|b| b.transfer_capability) {
            Some(TransferCapability::Speech | TransferCapability::Audio3k1)
            | Some(TransferCapability::UnrestrictedDigitalWithTones) => {}
            Some(_) => return reject(self, Cause::BearerCapabilityNotImplemented, None),
            None => return reject(self, Cause::MandatoryIeMissing, Some(&[ie::id::BEARER_CAPABILITY])),
        }
        let chan = match self.pick_channel(now, msg.channel_id()) {
            Ok(ch) => ch,
            Err(cause) => return reject(self, cause, None),
        };
        let state = if self.side == Side::Te { CallState::CallPresent } else { CallState::CallInitiated };
        let mut call = Call::new(cref, false, state, Some(chan));
        call.called = msg.called().map(|n| n.digits.clone()).unwrap_or_default();
        call.calling = self.calling_party(&msg);
        let complete = msg.sending_complete() || call.called.ends_with(END_OF_DIALING);
        info!(chan, cref, called = %Pii::new(call.called.clone()), caller = %call.calling.number, "q931 incoming SETUP");
        self.calls.push(call);
        let i = self.calls.len() - 1;
        self.report_optional_problems(reply, state, problems);
        if self.profile.overlap_receiving && !complete {
            // Ask for the rest of the number (§5.2.4): SETUP ACKNOWLEDGE carries the channel.
            let c = &mut self.calls[i];
            c.state = if self.side == Side::Te { CallState::OverlapReceiving } else { CallState::OverlapSending };
            c.responded = true;
            c.timer = Some((now + ms(self.profile.timers.t302), Timer::T302));
            let m = Message::new(reply, MessageType::SetupAcknowledge)
                .with(Ie::ChannelId(ChannelId::b_channel(chan, true)));
            self.send(m);
        } else {
            self.overlap_complete(now, i);
        }
    }

    /// The called number is complete: CALL PROCEEDING at once (the peer's T303 is only
    /// 4 s, routing may take longer) and the call is offered to the core.
    fn overlap_complete(&mut self, now: Instant, i: usize) {
        self.respond(now, i, MessageType::CallProceeding);
        let c = &mut self.calls[i];
        if c.offered {
            return;
        }
        c.offered = true;
        let (Some(chan), called, calling) =
            (c.chan, c.called.trim_end_matches(END_OF_DIALING).to_string(), c.calling.clone())
        else {
            return;
        };
        self.event(chan, CallEvent::Incoming { called, calling });
    }

    /// The B-channel for an offered call (§5.2.3): the indicated one if free; with
    /// "preferred" or "any" another free one; glare on a channel we just seized is won
    /// by the network side.
    fn pick_channel(&mut self, now: Instant, cid: Option<&ChannelId>) -> Result<u8, Cause> {
        let free = |l3: &Layer3| l3.bchans.iter().copied().find(|c| l3.is_idle(*c));
        let Some(cid) = cid else {
            // Mandatory from the network on a primary rate interface.
            return match self.side {
                Side::Te => Err(Cause::MandatoryIeMissing),
                Side::Nt => free(self).ok_or(Cause::NoCircuitAvailable),
            };
        };
        let wanted = match &cid.selection {
            ChannelSelection::Channels(v) if v.len() == 1 => v[0],
            ChannelSelection::Any => return free(self).ok_or(Cause::NoCircuitAvailable),
            ChannelSelection::NoChannel | ChannelSelection::DChannel => return Err(Cause::NoCircuitAvailable),
            ChannelSelection::Channels(_) => return Err(Cause::ChannelUnacceptable),
        };
        if !self.bchans.contains(&wanted) {
            return Err(Cause::IdentifiedChannelNonexistent);
        }
        if self.is_idle(wanted) {
            return Ok(wanted);
        }
        // Glare: both sides seized `wanted` at once. The user side yields (§5.7 spirit,
        // as networks resolve it): our SETUP is withdrawn and the network's call taken.
        if self.side == Side::Te {
            if let Some(j) =
                self.calls.iter().position(|c| c.chan == Some(wanted) && c.ours && c.state == CallState::CallInitiated)
            {
                info!(chan = wanted, "q931 glare: yielding our SETUP to the network's");
                self.calls[j].core_cleared = true;
                self.event(wanted, CallEvent::Hangup { cause: Cause::RequestedChannelNotAvailable });
                self.event(wanted, CallEvent::Released);
                self.calls[j].chan = None;
                self.clear(now, j, Cause::RequestedChannelNotAvailable);
                return Ok(wanted);
            }
        }
        if cid.exclusive {
            Err(Cause::RequestedChannelNotAvailable)
        } else {
            free(self).ok_or(Cause::NoCircuitAvailable)
        }
    }

    fn calling_party(&self, msg: &Message) -> Party {
        let mut p = Party::default();
        if let Some(n) = msg.calling() {
            let prefix = match n.ton {
                TypeOfNumber::National => self.profile.numbering.national_prefix.as_str(),
                TypeOfNumber::International => self.profile.numbering.international_prefix.as_str(),
                _ => "",
            };
            let digits = if n.digits.is_empty() { String::new() } else { format!("{prefix}{}", n.digits) };
            p.number = digits.into();
            p.presentation = n.presentation.map(|(pr, _)| pr).unwrap_or_default();
        } else {
            p.presentation = Presentation::Unavailable;
        }
        if let Some(r) = msg.redirecting() {
            if !r.number.digits.is_empty() {
                p.redirecting = Some(r.number.digits.clone().into());
            }
        }
        if self.profile.display.receive_name {
            if let Some(d) = msg.display() {
                let name = decode_display(d, self.profile.display.charset);
                if !name.is_empty() {
                    p.name = Some(name.into());
                }
            }
        }
        p
    }

    fn on_call_message(&mut self, now: Instant, i: usize, msg: Message, problems: &[IeProblem]) {
        let kind = msg.kind;
        let (cref, state, ours) = (self.calls[i].cref(), self.calls[i].state, self.calls[i].ours);
        // Clearing messages are acted on whatever else is wrong with them (§5.8.6.1).
        match kind {
            MessageType::Disconnect => return self.on_disconnect(now, i, &msg, problems),
            MessageType::Release => {
                let cause = msg.cause().map(|c| c.cause).unwrap_or(self.calls[i].cause);
                let missing = state != CallState::ReleaseRequest && msg.cause().is_none() && !state.is_clearing();
                self.send(if missing {
                    release_complete(cref, Cause::MandatoryIeMissing, Some(&[ie::id::CAUSE]))
                } else {
                    Message::new(cref, MessageType::ReleaseComplete)
                });
                self.drop_call(i, cause);
                return;
            }
            MessageType::ReleaseComplete => {
                let cause = msg.cause().map(|c| c.cause).unwrap_or(self.calls[i].cause);
                self.drop_call(i, cause);
                return;
            }
            MessageType::Status => return self.on_status(now, i, &msg, problems),
            MessageType::StatusEnquiry => {
                return self.send_status(cref, state, Cause::ResponseToStatusEnquiry, None);
            }
            MessageType::Unknown(code) => {
                self.counters.errors_reported += 1;
                return self.send_status(cref, state, Cause::MessageTypeNonexistent, Some(&[code]));
            }
            // A SETUP again for a call we already have (its T303 retransmission crossed
            // our answer): ignored, our answer stands (§5.8.3.2).
            MessageType::Setup if !ours => return,
            _ => {}
        }
        if let Some((cause, id)) = self.mandatory_problem(&msg, problems) {
            self.counters.errors_reported += 1;
            return self.send_status(cref, state, cause, Some(&[id]));
        }
        if state.is_clearing() {
            // Late answers while we clear: ignore (the peer sees our DISCONNECT/RELEASE).
            return;
        }
        let handled = if ours { self.on_outgoing(now, i, &msg) } else { self.on_incoming(now, i, &msg) };
        if !handled {
            self.counters.errors_reported += 1;
            self.send_status(cref, state, Cause::WrongCallState, Some(&[kind.code()]));
            return;
        }
        if let Some(i) = self.calls.iter().position(|c| c.cref() == cref) {
            let st = self.calls[i].state;
            self.report_optional_problems(cref, st, problems);
        }
    }

    /// Messages about a call we placed. Returns false when `msg` is not valid in the state.
    fn on_outgoing(&mut self, now: Instant, i: usize, msg: &Message) -> bool {
        let side = self.side;
        let t = self.profile.timers.clone();
        let state = self.calls[i].state;
        let setup_sent = matches!(state, CallState::CallInitiated | CallState::CallPresent);
        let overlap = matches!(state, CallState::OverlapSending | CallState::OverlapReceiving);
        let proceeding = matches!(state, CallState::OutgoingCallProceeding | CallState::IncomingCallProceeding);
        let delivered = matches!(state, CallState::CallDelivered | CallState::CallReceived);
        let first = setup_sent;
        if first
            && matches!(
                msg.kind,
                MessageType::SetupAcknowledge
                    | MessageType::CallProceeding
                    | MessageType::Alerting
                    | MessageType::Connect
            )
        {
            // We always seize exclusively: a different channel in the answer is unacceptable.
            if let Some(ch) = msg.channel_id().and_then(|c| c.channel()) {
                if Some(ch) != self.calls[i].chan {
                    self.clear(now, i, Cause::ChannelUnacceptable);
                    return true;
                }
            }
            self.calls[i].setup = None;
        }
        let chan = self.calls[i].chan;
        let c = &mut self.calls[i];
        match msg.kind {
            MessageType::SetupAcknowledge if setup_sent => {
                c.state = if side == Side::Te { CallState::OverlapSending } else { CallState::OverlapReceiving };
                c.timer = Some((now + ms(t.t304), Timer::T304));
                let digits = std::mem::take(&mut c.pending_digits);
                let cref = c.cref();
                let n = &self.profile.numbering;
                let mut info = Message::new(cref, MessageType::Information);
                if !digits.is_empty() {
                    info.ies.push(Ie::CalledPartyNumber(PartyNumber {
                        ton: n.called_ton.into(),
                        npi: n.called_npi.into(),
                        presentation: None,
                        digits,
                    }));
                }
                info.ies.push(Ie::SendingComplete);
                self.send(info);
            }
            MessageType::CallProceeding if setup_sent || overlap => {
                c.state = if side == Side::Te {
                    CallState::OutgoingCallProceeding
                } else {
                    CallState::IncomingCallProceeding
                };
                c.timer = Some((now + ms(t.t310), Timer::T310));
                if let Some(ch) = chan {
                    self.event(ch, CallEvent::Proceeding);
                }
            }
            MessageType::Alerting if setup_sent || overlap || proceeding => {
                c.state = if side == Side::Te { CallState::CallDelivered } else { CallState::CallReceived };
                c.timer = (t.t301 > 0).then(|| (now + ms(t.t301), Timer::T301));
                if let Some(ch) = chan {
                    self.event(ch, CallEvent::Alerting);
                }
            }
            MessageType::Progress if setup_sent || overlap || proceeding || delivered => {
                if msg.progress().any(|p| p.description.inband()) {
                    if let Some(ch) = chan {
                        self.event(ch, CallEvent::Progress);
                    }
                }
            }
            MessageType::Connect if setup_sent || overlap || proceeding || delivered => {
                c.state = CallState::Active;
                c.timer = None;
                let cref = c.cref();
                self.send(Message::new(cref, MessageType::ConnectAcknowledge));
                if let Some(ch) = chan {
                    self.event(ch, CallEvent::Answered);
                }
            }
            MessageType::ConnectAcknowledge if state == CallState::Active => {}
            MessageType::Information | MessageType::Notify | MessageType::Facility | MessageType::UserInformation => {}
            _ => return false,
        }
        true
    }

    /// Messages about a call offered to us.
    fn on_incoming(&mut self, now: Instant, i: usize, msg: &Message) -> bool {
        let c = &mut self.calls[i];
        let overlap = matches!(c.state, CallState::OverlapReceiving | CallState::OverlapSending);
        match msg.kind {
            MessageType::Information => {
                let digits = msg.called().map(|n| n.digits.clone()).unwrap_or_default();
                if overlap && !c.offered {
                    c.called.push_str(&digits);
                    if msg.sending_complete() || c.called.ends_with(END_OF_DIALING) {
                        c.timer = None;
                        self.overlap_complete(now, i);
                    } else {
                        c.timer = Some((now + ms(self.profile.timers.t302), Timer::T302));
                    }
                } else if !digits.is_empty() && c.offered && c.state != CallState::Active {
                    c.called.push_str(&digits);
                    if let Some(ch) = c.chan {
                        self.event(ch, CallEvent::MoreDigits(digits));
                    }
                }
            }
            MessageType::ConnectAcknowledge if c.state == CallState::ConnectRequest => {
                c.state = CallState::Active;
                c.timer = None;
                if let Some(ch) = c.chan {
                    self.event(ch, CallEvent::Answered);
                }
            }
            // The network acknowledges our CONNECT; the user side may too.
            MessageType::ConnectAcknowledge if c.state == CallState::Active => {}
            MessageType::Notify | MessageType::Facility | MessageType::UserInformation | MessageType::Progress => {}
            _ => return false,
        }
        true
    }

    fn on_disconnect(&mut self, now: Instant, i: usize, msg: &Message, problems: &[IeProblem]) {
        let missing = msg.cause().is_none() || problems.iter().any(|p| p.id == ie::id::CAUSE);
        let c = &mut self.calls[i];
        let cause = msg.cause().map(|c| c.cause).unwrap_or(Cause::NormalUnspecified);
        if c.state == CallState::ReleaseRequest {
            return;
        }
        // Otherwise (including a clear collision, §5.3.5: both sent DISCONNECT) RELEASE.
        let cref = c.cref();
        c.state = CallState::ReleaseRequest;
        c.expiries = 0;
        c.timer = Some((now + ms(self.profile.timers.t308), Timer::T308));
        if !c.core_cleared {
            c.cause = cause;
        }
        let stop_tone = std::mem::take(&mut c.ringback);
        let chan = c.chan;
        let release_cause = if missing { Cause::MandatoryIeMissing } else { c.cause };
        let mut rel = release(cref, Some(release_cause));
        if missing {
            if let Some(Ie::Cause(ci)) = rel.ies.first_mut() {
                ci.diagnostics = vec![ie::id::CAUSE];
            }
        }
        self.send(rel);
        if let (true, Some(ch)) = (stop_tone, chan) {
            self.out.push_back(L3Output::Tone { chan: ch, tone: None });
        }
        if !self.calls[i].core_cleared {
            self.calls[i].core_cleared = true;
            if let Some(ch) = chan {
                self.event(ch, CallEvent::Hangup { cause });
            }
        }
    }

    /// §5.8.11: a STATUS tells us the peer's view of the call.
    fn on_status(&mut self, now: Instant, i: usize, msg: &Message, _problems: &[IeProblem]) {
        let Some(peer) = msg.call_state() else { return };
        let c = &mut self.calls[i];
        if matches!(c.timer, Some((_, Timer::T322))) {
            c.timer = None;
        }
        if peer == 0 {
            // The peer has no such call: release it here, with the peer's cause.
            let cause = msg.cause().map(|c| c.cause).unwrap_or(Cause::TemporaryFailure);
            self.drop_call(i, cause);
        } else if !c.state.compatible_with_peer(peer) {
            warn!(cref = c.cref, ours = c.state.code(), peer, "q931 STATUS: incompatible call states");
            self.clear(now, i, Cause::WrongCallState);
        }
    }

    fn on_global(&mut self, now: Instant, msg: Message, problems: &[IeProblem]) {
        match msg.kind {
            MessageType::Restart => {
                self.counters.restarts_rx += 1;
                if let Some((cause, id)) = self.mandatory_problem(&msg, problems) {
                    self.send_status(CallRef { value: 0, flag: true }, CallState::Null, cause, Some(&[id]));
                    return;
                }
                let chans: Vec<u8> = match msg.restart_class() {
                    Some(RestartClass::Indicated) => match msg.channel_id().map(|c| &c.selection) {
                        Some(ChannelSelection::Channels(v)) => v.clone(),
                        _ => {
                            let diag = [ie::id::CHANNEL_IDENTIFICATION];
                            let cref = CallRef { value: 0, flag: true };
                            self.send_status(cref, CallState::Null, Cause::MandatoryIeMissing, Some(&diag));
                            return;
                        }
                    },
                    _ => self.bchans.clone(),
                };
                info!(channels = ?chans, "q931 RESTART received");
                for ch in &chans {
                    while let Some(i) = self.calls.iter().position(|c| c.chan == Some(*ch)) {
                        self.drop_call(i, Cause::TemporaryFailure);
                    }
                    self.restart_owed.remove(ch);
                    if let Some(r) = &mut self.restarting {
                        r.chans.remove(ch);
                    }
                }
                let mut ack = Message::new(CallRef { value: 0, flag: true }, MessageType::RestartAcknowledge);
                if let Some(cid) = msg.channel_id() {
                    ack.ies.push(Ie::ChannelId(cid.clone()));
                }
                if let Some(class) = msg.restart_class() {
                    ack.ies.push(Ie::RestartIndicator(class));
                }
                self.send(ack);
                self.pay_restarts(now);
            }
            MessageType::RestartAcknowledge => {
                if let Some(r) = self.restarting.take() {
                    info!(channels = r.chans.len(), "q931 RESTART acknowledged");
                }
                self.pay_restarts(now);
            }
            MessageType::Status => {}
            MessageType::StatusEnquiry => {
                let cref = CallRef { value: 0, flag: !msg.cref.flag };
                self.send_status(cref, CallState::Null, Cause::ResponseToStatusEnquiry, None);
            }
            _ => {
                let cref = CallRef { value: 0, flag: !msg.cref.flag };
                self.counters.errors_reported += 1;
                self.send_status(cref, CallState::Null, Cause::InvalidCallReference, None);
            }
        }
    }

    // ---- RESTART ----------------------------------------------------------------------------

    /// Restarts one B-channel (operator request, or recovery): its call, if any, is
    /// cleared here at once and the peer is asked to do the same (RESTART, §5.5).
    pub fn restart_channel(&mut self, now: Instant, chan: u8) -> bool {
        if !self.bchans.contains(&chan) {
            return false;
        }
        while let Some(i) = self.calls.iter().position(|c| c.chan == Some(chan)) {
            self.drop_call(i, Cause::TemporaryFailure);
        }
        self.restart_owed.insert(chan);
        self.pay_restarts(now);
        true
    }

    fn send_restart(&mut self, now: Instant, chans: BTreeSet<u8>, indicated: Option<u8>) {
        if chans.is_empty() {
            return;
        }
        self.counters.restarts_tx += 1;
        let r = Restarting { chans, indicated, deadline: now + ms(self.profile.timers.t316), sent: 1 };
        self.send(restart_message(r.indicated));
        self.restarting = Some(r);
    }

    fn restart_expired(&mut self, now: Instant) {
        let Some(r) = &mut self.restarting else { return };
        if r.sent <= self.profile.timers.n316 && self.link_up {
            r.sent += 1;
            r.deadline = now + ms(self.profile.timers.t316);
            let m = restart_message(r.indicated);
            self.counters.restarts_tx += 1;
            self.send(m);
        } else if !self.link_up {
            r.deadline = now + ms(self.profile.timers.t316);
        } else {
            // §5.5.2: after the retries the channels are declared usable anyway, with a warning.
            warn!(channels = r.chans.len(), "q931 RESTART never acknowledged (T316)");
            self.restarting = None;
            self.pay_restarts(now);
        }
    }

    /// Sends one owed channel RESTART at a time (after T308 gave up on a channel).
    fn pay_restarts(&mut self, now: Instant) {
        if self.restarting.is_some() || !self.link_up {
            return;
        }
        if let Some(ch) = self.restart_owed.pop_first() {
            self.send_restart(now, BTreeSet::from([ch]), Some(ch));
        }
    }

    // ---- helpers ----------------------------------------------------------------------------

    fn enquire(&mut self, now: Instant, i: usize) {
        let c = &mut self.calls[i];
        let (cref, state) = (c.cref(), c.state);
        c.expiries = 0;
        c.timer = Some((now + ms(self.profile.timers.t322), Timer::T322));
        self.send_status(cref, state, Cause::NormalUnspecified, None);
        self.send(Message::new(cref, MessageType::StatusEnquiry));
    }

    /// Releases call `i`'s reference and tells the core (once) that it ended and that the
    /// channel is free.
    fn drop_call(&mut self, i: usize, cause: Cause) {
        let c = self.calls.remove(i);
        debug!(cref = c.cref, state = c.state.code(), cause = %cause, "q931 call released");
        if let Some(ch) = c.chan {
            if c.ringback {
                self.out.push_back(L3Output::Tone { chan: ch, tone: None });
            }
            if !c.core_cleared {
                self.event(ch, CallEvent::Hangup { cause });
            }
            self.event(ch, CallEvent::Released);
        }
    }

    fn alloc_cref(&mut self) -> u16 {
        loop {
            let v = self.next_cref;
            self.next_cref = if self.next_cref >= 0x7fff { 1 } else { self.next_cref + 1 };
            if !self.calls.iter().any(|c| c.ours && c.cref == v) {
                return v;
            }
        }
    }

    fn location(&self) -> Location {
        match self.side {
            Side::Te => Location::User,
            Side::Nt => Location::PublicLocal,
        }
    }

    fn send_status(&mut self, cref: CallRef, state: CallState, cause: Cause, diag: Option<&[u8]>) {
        let mut ci = CauseIe::new(cause, self.location());
        ci.diagnostics = diag.map(<[u8]>::to_vec).unwrap_or_default();
        let m = Message::new(cref, MessageType::Status).with(Ie::Cause(ci)).with(Ie::CallState(state.code()));
        self.send(m);
    }

    fn send(&mut self, m: Message) {
        self.counters.tx += 1;
        debug!(kind = m.kind.name(), cref = m.cref.value, flag = m.cref.flag, "q931 tx");
        self.out.push_back(L3Output::Send(m));
    }

    fn event(&mut self, chan: u8, event: CallEvent) {
        self.out.push_back(L3Output::Event { chan, event });
    }
}

fn inband() -> ProgressIndicator {
    ProgressIndicator {
        coding_standard: 0,
        location: Location::PrivateLocal,
        description: ProgressDescription::InbandAvailable,
    }
}

fn release(cref: CallRef, cause: Option<Cause>) -> Message {
    let mut m = Message::new(cref, MessageType::Release);
    if let Some(c) = cause {
        m.ies.push(Ie::Cause(CauseIe::new(c, Location::User)));
    }
    m
}

fn release_complete(cref: CallRef, cause: Cause, diag: Option<&[u8]>) -> Message {
    let mut ci = CauseIe::new(cause, Location::User);
    ci.diagnostics = diag.map(<[u8]>::to_vec).unwrap_or_default();
    Message::new(cref, MessageType::ReleaseComplete).with(Ie::Cause(ci))
}

fn restart_message(indicated: Option<u8>) -> Message {
    let m = Message::new(CallRef::GLOBAL, MessageType::Restart);
    match indicated {
        Some(ch) => {
            m.with(Ie::ChannelId(ChannelId::b_channel(ch, true))).with(Ie::RestartIndicator(RestartClass::Indicated))
        }
        None => m.with(Ie::RestartIndicator(RestartClass::SingleInterface)),
    }
}

fn decode_display(d: &[u8], charset: Charset) -> String {
    // Some networks lead with a display-type octet (bit 8 set): not text.
    let d = match d.first() {
        Some(b) if b & 0x80 != 0 && charset == Charset::Ia5 => &d[1..],
        _ => d,
    };
    match charset {
        Charset::Ia5 => d.iter().filter(|b| (0x20..0x7f).contains(*b)).map(|b| *b as char).collect(),
        Charset::Gb2312 => encoding_rs::GBK.decode_without_bom_handling(d).0.trim().to_string(),
    }
}

fn encode_display(s: &str, charset: Charset) -> Vec<u8> {
    let mut v = match charset {
        Charset::Ia5 => s.chars().filter(|c| c.is_ascii() && !c.is_ascii_control()).map(|c| c as u8).collect(),
        Charset::Gb2312 => encoding_rs::GBK.encode(s).0.into_owned(),
    };
    v.truncate(82);
    v
}
