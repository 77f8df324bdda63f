//! Caller ID cross-checks against decoders and encoders we did not write: spandsp's ADSI
//! transmitter and receiver (linked in-process), multimon-ng's CLIPFSK demodulator and
//! minimodem's Bell 202 / V.23 receivers (run as processes on WAV files).
//!
//! The command-line tools are skipped with a message when missing, unless `CI` is set.

mod common;
#[path = "peers/spandsp.rs"]
mod spandsp;

use common::{tool, write_wav};
use std::path::PathBuf;
use std::process::Command;

use spandsp::{adsi_decode, adsi_render, AdsiStandard};
use trunkd::dsp::callerid::{
    render, Absence, CallerIdDetector, CallerIdMessage, CallerIdReport, CidDateTime, CidDetect, CidFormat, CidTxConfig,
    DtmfCidStyle,
};

fn message() -> CallerIdMessage {
    CallerIdMessage {
        number: Some("5551234567".into()),
        name: Some("TRUNKD TEST".into()),
        datetime: Some(CidDateTime { month: 11, day: 23, hour: 18, minute: 5 }),
        ..CallerIdMessage::default()
    }
}

fn detect(mode: CidDetect, x: &[i16]) -> Vec<CallerIdReport> {
    let mut det = CallerIdDetector::new(mode);
    let mut out = Vec::new();
    let padded: Vec<i16> = [vec![0i16; 800], x.to_vec(), vec![0i16; 2400]].concat();
    for frame in padded.chunks(160) {
        det.process(frame);
        while let Some(r) = det.poll() {
            out.push(r);
        }
    }
    out
}

fn cfg(format: CidFormat) -> CidTxConfig {
    CidTxConfig { format, ..CidTxConfig::default() }
}

// ---------------------------------------------------------------- spandsp → us

#[test]
fn spandsp_class_sdmf_is_decoded() {
    let x = adsi_render(AdsiStandard::Class, 0x04, &[(0, b"112318055551234567")]);
    let r = detect(CidDetect::Auto, &x);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].format, CidFormat::Bell202Sdmf);
    let m = &r[0].message;
    assert_eq!(m.number.as_deref(), Some("5551234567"));
    assert_eq!(m.datetime, Some(CidDateTime { month: 11, day: 23, hour: 18, minute: 5 }));
}

#[test]
fn spandsp_class_mdmf_and_clip_are_decoded() {
    let fields: &[(u8, &[u8])] = &[(0x01, b"11231805"), (0x02, b"5551234567"), (0x07, b"TRUNKD TEST")];
    for (standard, format) in [(AdsiStandard::Class, CidFormat::Bell202Mdmf), (AdsiStandard::Clip, CidFormat::Etsi)] {
        let x = adsi_render(standard, 0x80, fields);
        let r = detect(CidDetect::Auto, &x);
        assert_eq!(r.len(), 1, "{standard:?}: {r:?}");
        assert_eq!(r[0].format, format);
        assert_eq!(r[0].message, message(), "{standard:?}");
    }
    // Absence and call type (ETSI).
    let x = adsi_render(AdsiStandard::Clip, 0x80, &[(0x04, b"P"), (0x08, b"O"), (0x11, &[1])]);
    let r = detect(CidDetect::Only(CidFormat::Etsi), &x);
    assert_eq!(r.len(), 1);
    let want = CallerIdMessage {
        number_absence: Some(Absence::Private),
        name_absence: Some(Absence::Unavailable),
        call_type: Some(1),
        ..CallerIdMessage::default()
    };
    assert_eq!(r[0].message, want);
}

#[test]
fn spandsp_clip_dtmf_is_decoded() {
    // spandsp's CLIP-DTMF message "type" is its terminator ('C' or '#').
    for (term, fields, want) in [
        (b'C', vec![(b'A', &b"0123456789"[..])], Some("0123456789")),
        (b'#', vec![(b'A', &b"4712345"[..])], Some("4712345")),
        (b'C', vec![(b'B', &b"10"[..])], None),
    ] {
        let x = adsi_render(AdsiStandard::ClipDtmf, term, &fields);
        // spandsp's own receiver agrees on what was sent.
        let theirs = adsi_decode(AdsiStandard::ClipDtmf, &x);
        assert_eq!(theirs.len(), 1, "spandsp decoding its own CLIP-DTMF");
        let r = detect(CidDetect::Auto, &x);
        assert_eq!(r.len(), 1, "{}", term as char);
        assert_eq!(r[0].format, CidFormat::Dtmf);
        assert_eq!(r[0].raw, theirs[0]);
        assert_eq!(r[0].message.number.as_deref(), want);
        if want.is_none() {
            assert_eq!(r[0].message.number_absence, Some(Absence::Private));
        }
    }
}

// ---------------------------------------------------------------- us → spandsp

#[test]
fn spandsp_decodes_our_fsk_spills_to_the_same_bytes() {
    for (format, standard) in [
        (CidFormat::Etsi, AdsiStandard::Clip),
        (CidFormat::Bell202Sdmf, AdsiStandard::Class),
        (CidFormat::Bell202Mdmf, AdsiStandard::Class),
        (CidFormat::EtsiBell202, AdsiStandard::Class),
    ] {
        let msg = CallerIdMessage { call_type: Some(1), ..message() };
        let x = render(&cfg(format), &msg).unwrap();
        let ours = detect(CidDetect::Only(format), &x);
        assert_eq!(ours.len(), 1, "{format}");
        let theirs = adsi_decode(standard, &[x.clone(), vec![0; 800]].concat());
        assert_eq!(theirs, vec![ours[0].raw.clone()], "{format}");
    }
}

#[test]
fn spandsp_decodes_our_dtmf_spills() {
    for style in [DtmfCidStyle::etsi(), DtmfCidStyle::hash()] {
        let c = CidTxConfig { format: CidFormat::Dtmf, dtmf: style, ..CidTxConfig::default() };
        let x = render(&c, &message()).unwrap();
        let theirs = adsi_decode(AdsiStandard::ClipDtmf, &[x, vec![0; 800]].concat());
        assert_eq!(theirs.len(), 1);
        let s = String::from_utf8_lossy(&theirs[0]);
        assert!(s == "A5551234567C" || s == "A5551234567#", "{s}");
    }
}

// ---------------------------------------------------------------- command-line peers

/// Writes `x` as an 8 kHz WAV file with `pad_ms` of silence around it.
fn padded_wav(name: &str, x: &[i16], pad_ms: usize) -> PathBuf {
    let pad = vec![0i16; pad_ms * 8];
    let path = std::env::temp_dir().join(format!("trunkd-cid-{}-{name}.wav", std::process::id()));
    write_wav(&path, 8000, &[[&pad[..], x, &pad[..]].concat()]);
    path
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn multimon_ng_clipfsk_decodes_our_fsk() {
    let Some(mm) = tool("multimon-ng") else { return };
    for format in [CidFormat::Bell202Sdmf, CidFormat::Bell202Mdmf, CidFormat::Etsi] {
        let x = render(&cfg(format), &message()).unwrap();
        let wav = padded_wav(&format!("mm-{format}"), &x, 300);
        let out = run(Command::new(&mm).args(["-q", "-c", "-a", "CLIPFSK", "-t", "wav"]).arg(&wav));
        let _ = std::fs::remove_file(&wav);
        println!("{format}: {out}");
        if format == CidFormat::Bell202Sdmf {
            // multimon-ng parses only MDMF ("CS"); other message types it walks as if
            // they were parameters, printing each type byte as "unknown (0x..)". Those
            // are the even bytes of our body: the date digits 1,1,2,3,1,8,0,5 land there.
            let types: String = out
                .split("(0x")
                .skip(1)
                .filter_map(|h| h.get(..2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                .map(char::from)
                .collect();
            assert!(out.contains("RVD len=21"), "{out}");
            assert_eq!(types, "11231805", "{out}");
        } else {
            assert!(out.contains("CID=5551234567") && out.contains("CNT=TRUNKD TEST"), "{format}: {out}");
            assert!(out.contains("DATE=11231805"), "{format}: {out}");
        }
    }
}

#[test]
fn minimodem_decodes_our_bell202_and_v23() {
    let Some(mm) = tool("minimodem") else { return };
    let x = render(&cfg(CidFormat::Bell202Mdmf), &message()).unwrap();
    let wav = padded_wav("minimodem-bell", &x, 300);
    let out = run(Command::new(&mm).args(["--rx", "-q", "-f"]).arg(&wav).arg("callerid"));
    let _ = std::fs::remove_file(&wav);
    println!("bell202: {out}");
    assert!(out.contains("Phone: 555-123-4567"), "minimodem callerid said: {out}");
    assert!(out.contains("Name:  TRUNKD TEST"), "minimodem callerid said: {out}");
    assert!(out.contains("Time:  11/23 18:05"), "minimodem callerid said: {out}");

    // V.23 as raw bytes: the message body appears verbatim in the byte stream.
    let x = render(&cfg(CidFormat::Etsi), &message()).unwrap();
    let wav = padded_wav("minimodem-v23", &x, 300);
    let out = Command::new(&mm)
        .args(["--rx", "-q", "-8", "-M", "1300", "-S", "2100", "-f"])
        .arg(&wav)
        .arg("1200")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&wav);
    let bytes = out.stdout;
    let find = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(find(b"5551234567") && find(b"TRUNKD TEST"), "minimodem V.23 said: {:?}", String::from_utf8_lossy(&bytes));
}
