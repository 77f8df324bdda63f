//! A simulated span's far end on a Unix socket, so another program — a libpri or OpenR2
//! harness, a protocol tester — can sit on the wire instead of trunkd's own far end.
//!
//! One `SOCK_SEQPACKET` socket per span; one message per datagram, byte 0 the kind,
//! byte 1 the timeslot:
//!
//! | kind | payload | meaning |
//! |---|---|---|
//! | `0x01` | frame + 2 FCS bytes | an HDLC frame on the D-channel, framed as a DAHDI `dchan` fd does it (FCS placeholder bytes after the frame, both ways) |
//! | `0x02` | 1 byte | the sender's ABCD bits on a CAS channel (low nibble, A = 8) |
//! | `0x03` | 160 bytes | 20 ms of G.711 in the span's law |
//! | `0x04` | u32 LE | (to the peer only) the span's alarm bits on the peer's side |
//!
//! The peer is the far side of the wire: what it sends is what the far end transmits.
//! While nobody is connected the span has no signal (RED + LOS on both sides), exactly
//! like an unplugged cable. Malformed messages are counted and dropped.

use super::{lock, Fabric, SimControl};
use crate::backend::line::{Abcd, Alarms, LineCmd, LineEvent, PathKind};
use crate::time::Instant;
use socket2::{Domain, SockAddr, Socket, Type};
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const HDLC: u8 = 0x01;
const CAS: u8 = 0x02;
const AUDIO: u8 = 0x03;
const ALARM: u8 = 0x04;

/// Why a wire socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum WirePortError {
    #[error("span {0} does not exist")]
    NoSuchSpan(usize),
    #[error("wire socket {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// The listening socket and (at most) one connected peer for one span.
pub struct WirePort {
    fabric: Arc<Mutex<Fabric>>,
    span: usize,
    path: PathBuf,
    listener: Socket,
    peer: Option<Socket>,
    /// Messages the peer sent that made no sense (for tests and `ctl`).
    pub malformed: u64,
}

impl WirePort {
    /// Binds `path` (replacing a stale socket file) for span `span` of `control`'s wires.
    pub fn bind(control: &SimControl, span: usize, path: &Path) -> Result<WirePort, WirePortError> {
        match lock(&control.fabric).spans.get_mut(span) {
            Some(w) => w.external = true,
            None => return Err(WirePortError::NoSuchSpan(span)),
        }
        let io = |source| WirePortError::Io { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let _ = std::fs::remove_file(path);
        let listener = Socket::new(Domain::UNIX, Type::SEQPACKET, None).map_err(io)?;
        listener.bind(&SockAddr::unix(path).map_err(io)?).map_err(io)?;
        listener.listen(1).map_err(io)?;
        listener.set_nonblocking(true).map_err(io)?;
        control.set_cable_cut(span, true);
        Ok(WirePort {
            fabric: control.fabric.clone(),
            span,
            path: path.to_path_buf(),
            listener,
            peer: None,
            malformed: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn connected(&self) -> bool {
        self.peer.is_some()
    }

    /// Moves everything due between the wire and the peer. Call once per tick, before the
    /// engines step.
    pub fn pump(&mut self, now: Instant) {
        if self.peer.is_none() {
            self.accept();
        }
        if self.peer.is_none() {
            return;
        }
        let mut buf = [0u8; 2048];
        loop {
            let Some(peer) = &self.peer else { return };
            match (&*peer).read(&mut buf) {
                Ok(0) => return self.drop_peer(),
                Ok(n) => {
                    if !self.receive(now, &buf[..n]) {
                        self.malformed += 1;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return self.drop_peer(),
            }
        }
        let out = self.outgoing(now);
        for msg in out {
            let Some(peer) = &self.peer else { return };
            match peer.send(&msg) {
                Ok(_) => {}
                // A peer that does not read fast enough loses frames, like a real buffer.
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => return self.drop_peer(),
            }
        }
    }

    fn accept(&mut self) {
        let Ok((sock, _)) = self.listener.accept() else { return };
        if sock.set_nonblocking(true).is_err() {
            return;
        }
        self.peer = Some(sock);
        let mut f = lock(&self.fabric);
        if let Some(w) = f.spans.get_mut(self.span) {
            for s in 0..2 {
                w.alarms[s] = Alarms::NONE;
                w.alarm_changed[s] = true;
            }
            // Old traffic was for nobody; start the new peer from the current line state.
            for c in &mut w.chans {
                c.events[1].clear();
                c.audio[0].clear();
            }
        }
        drop(f);
        // Tell the peer every CAS channel's current bits.
        let mut hello = Vec::new();
        let f = lock(&self.fabric);
        if let Some(w) = f.spans.get(self.span) {
            for (ci, d) in w.descs[1].channels.iter().enumerate() {
                if d.path == PathKind::Cas {
                    hello.push(vec![CAS, d.number as u8, w.chans[ci].cas_tx[0].bits()]);
                }
            }
        }
        drop(f);
        if let Some(peer) = &self.peer {
            for m in hello {
                let _ = peer.send(&m);
            }
        }
    }

    fn drop_peer(&mut self) {
        self.peer = None;
        let f = SimControl { fabric: self.fabric.clone() };
        f.set_cable_cut(self.span, true);
    }

    /// Applies one message from the peer; false if it was malformed.
    fn receive(&mut self, now: Instant, msg: &[u8]) -> bool {
        let (Some(&kind), Some(&ts)) = (msg.first(), msg.get(1)) else { return false };
        let payload = &msg[2..];
        let mut f = lock(&self.fabric);
        let Some(w) = f.spans.get_mut(self.span) else { return false };
        let chan = ts as u16;
        match kind {
            HDLC if payload.len() > 2 => {
                let frame = payload[..payload.len() - 2].to_vec();
                w.transmit(1, now, self.span, chan, LineCmd::Hdlc(frame)).is_ok()
            }
            CAS if payload.len() == 1 => {
                w.transmit(1, now, self.span, chan, LineCmd::Cas(Abcd::new(payload[0]))).is_ok()
            }
            AUDIO if payload.len() == 160 => match w.index_of(chan) {
                Some(ci) if w.descs[1].channels[ci].audio => {
                    let mut bytes = [0u8; 160];
                    bytes.copy_from_slice(payload);
                    w.push_audio(1, ci, bytes);
                    true
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// What the far side of the wire has for the peer now.
    fn outgoing(&mut self, now: Instant) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut f = lock(&self.fabric);
        let Some(w) = f.spans.get_mut(self.span) else { return out };
        if w.alarm_changed[1] {
            w.alarm_changed[1] = false;
            let mut m = vec![ALARM, 0];
            m.extend_from_slice(&w.alarms[1].0.to_le_bytes());
            out.push(m);
        }
        for (ci, c) in w.chans.iter_mut().enumerate() {
            let ts = w.descs[1].channels[ci].number as u8;
            while c.events[1].front().is_some_and(|(at, _)| *at <= now) {
                match c.events[1].pop_front() {
                    Some((_, LineEvent::Hdlc(frame))) => {
                        let mut m = Vec::with_capacity(frame.len() + 4);
                        m.extend_from_slice(&[HDLC, ts]);
                        m.extend_from_slice(&frame);
                        m.extend_from_slice(&[0, 0]);
                        out.push(m);
                    }
                    Some((_, LineEvent::Cas(bits))) => out.push(vec![CAS, ts, bits.bits()]),
                    _ => {}
                }
            }
            while let Some(frame) = c.audio[0].pop_front() {
                let mut m = Vec::with_capacity(162);
                m.extend_from_slice(&[AUDIO, ts]);
                m.extend_from_slice(&frame);
                out.push(m);
                w.counters[1].rx_frames += 1;
            }
        }
        out
    }
}

impl Drop for WirePort {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
