//! An external program as the far end of a simulated E1: it speaks the wire protocol on
//! the span's Unix SEQPACKET socket (CAS bits, G.711 audio), seizes a trunk with E&M
//! immediate start, dials in-band, hears the IVR's prompt and clears.

mod common;

use common::find_exact;
use socket2::{Domain, SockAddr, Socket, Type};
use std::io::Read;
use std::time::Duration;
use trunkd::config::Config;
use trunkd::core::event::EventKind;
use trunkd::dsp::dtmf::{DtmfGenerator, DtmfTxConfig};
use trunkd::dsp::g711::Law;
use trunkd::gateway::Gateway;
use trunkd::signalling::Cause;
use trunkd::time::Instant;

#[test]
fn external_far_end_on_the_wire_socket() {
    let dir = tempfile::tempdir().unwrap();
    let wire = dir.path().join("e1-1.wire");
    let text = format!(
        "[general]\ndata_dir = {:?}\n\n[[span]]\nname = \"e1-1\"\nbackend = \"sim\"\nsignalling = \"em\"\nwire_socket = {:?}\nem = {{ start = \"immediate\" }}\n\n[[route]]\ncalled = \"_8XXX\"\napp = \"demo\"\n",
        dir.path(),
        wire
    );
    let cfg = Config::parse(&text, "").unwrap();
    trunkd::demo::install_prompts(&cfg.general.prompts_dir()).unwrap();
    let mut gw = Gateway::build(&cfg).unwrap();
    let mut now = Instant::ZERO;
    let mut events = Vec::new();
    let mut tick = |gw: &mut Gateway, events: &mut Vec<_>| {
        now += Duration::from_millis(20);
        gw.step(now);
        events.extend(gw.engine.drain_events());
    };
    tick(&mut gw, &mut events);
    assert!(!gw.engine.spans_up(), "no far end connected: no signal");

    let peer = Socket::new(Domain::UNIX, Type::SEQPACKET, None).unwrap();
    peer.connect(&SockAddr::unix(&wire).unwrap()).unwrap();
    peer.set_nonblocking(true).unwrap();
    let mut cas_from_gw = [0u8; 32];
    let mut heard: Vec<i16> = Vec::new();
    let mut dtmf = DtmfGenerator::new(DtmfTxConfig::default());
    let mut buf = [0u8; 512];
    for i in 0..1000 {
        // Our side of the wire, once per 20 ms: signalling at its moments, audio always.
        match i {
            5 => {
                peer.send(&[0x02, 1, 0b1101]).unwrap(); // seize TS1 (A bit off-hook)
            }
            30 => dtmf.push_digits("8001#"),
            600 => {
                peer.send(&[0x02, 1, 0b0101]).unwrap(); // clear forward
            }
            _ => {}
        }
        let mut pcm = [0i16; 160];
        dtmf.fill(&mut pcm);
        let mut frame = vec![0x03, 1];
        frame.extend(pcm.iter().map(|s| Law::Alaw.encode(*s)));
        peer.send(&frame).unwrap();

        tick(&mut gw, &mut events);
        if i == 2 {
            assert!(gw.engine.spans_up(), "connected: the span is up");
        }
        while let Ok(n) = (&peer).read(&mut buf) {
            match (buf[0], buf[1] as usize) {
                (0x02, ts) => cas_from_gw[ts] = buf[2],
                (0x03, 1) if n == 162 => heard.extend(buf[2..162].iter().map(|b| Law::Alaw.decode(*b))),
                _ => {}
            }
        }
        if i == 100 {
            assert_eq!(cas_from_gw[1], 0b1101, "the gateway answered: its A bit is off-hook");
        }
    }
    assert_eq!(cas_from_gw[1], 0b0101, "back on-hook after the clear");
    assert_eq!(cas_from_gw[2], 0b0101, "idle channels rest on-hook");

    let offered = events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::Offered { called, .. } if called == "8001") && e.device == "e1-1/1");
    assert!(offered, "{events:?}");
    let prompt = trunkd::core::media::prompt::load_wav(&dir.path().join("prompts/en/welcome.wav")).unwrap();
    let wire_prompt: Vec<i16> = prompt.iter().map(|s| Law::Alaw.decode(Law::Alaw.encode(*s))).collect();
    assert!(find_exact(&heard, &wire_prompt).is_some(), "the external far end heard the welcome prompt");
    assert!(events.iter().any(|e| matches!(e.kind, EventKind::Ended { cause: Cause::NormalClearing, .. })));

    // Hanging up the socket is pulling the cable.
    drop(peer);
    tick(&mut gw, &mut events);
    tick(&mut gw, &mut events);
    assert!(!gw.engine.spans_up());
    gw.engine.finish();
}
