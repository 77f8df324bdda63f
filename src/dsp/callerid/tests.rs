use super::*;
use crate::dsp::testsig::Rng;
use proptest::prelude::*;

fn full_message() -> CallerIdMessage {
    CallerIdMessage {
        number: Some("01234567890".into()),
        name: Some("Jane Q. Public".into()),
        datetime: Some(CidDateTime { month: 12, day: 31, hour: 23, minute: 59 }),
        number_absence: None,
        name_absence: None,
        call_type: Some(1),
    }
}

fn cfg(format: CidFormat) -> CidTxConfig {
    CidTxConfig { format, ..CidTxConfig::default() }
}

/// Silence, the spill, silence; fed in irregular chunks. Returns every report.
fn detect_with(mode: CidDetect, x: &[i16]) -> Vec<CallerIdReport> {
    let mut det = CallerIdDetector::new(mode);
    let mut padded = vec![0i16; 800];
    padded.extend_from_slice(x);
    padded.extend(std::iter::repeat_n(0, 1600));
    let sizes = [160usize, 1, 37, 333, 80, 7];
    let mut rest = &padded[..];
    let mut reports = Vec::new();
    let mut k = 0;
    while !rest.is_empty() {
        let n = sizes[k % sizes.len()].min(rest.len());
        det.process(&rest[..n]);
        rest = &rest[n..];
        k += 1;
        while let Some(r) = det.poll() {
            reports.push(r);
        }
    }
    reports
}

/// What the format can carry of `msg`.
fn expected(format: CidFormat, msg: &CallerIdMessage) -> CallerIdMessage {
    let mut m = msg.clone();
    if m.number.is_some() {
        m.number_absence = None;
    }
    if m.name.is_some() {
        m.name_absence = None;
    }
    match format {
        CidFormat::Dtmf => CallerIdMessage {
            number: m.number.clone(),
            number_absence: if m.number.is_none() {
                Some(m.number_absence.unwrap_or(Absence::Unavailable))
            } else {
                None
            },
            ..CallerIdMessage::default()
        },
        CidFormat::Bell202Sdmf => CallerIdMessage {
            number: m.number.clone(),
            number_absence: if m.number.is_none() {
                Some(m.number_absence.unwrap_or(Absence::Unavailable))
            } else {
                None
            },
            datetime: m.datetime,
            ..CallerIdMessage::default()
        },
        _ => m,
    }
}

const ALL_FORMATS: [CidFormat; 5] =
    [CidFormat::Etsi, CidFormat::EtsiBell202, CidFormat::Bell202Sdmf, CidFormat::Bell202Mdmf, CidFormat::Dtmf];

/// The format Auto mode reports for a spill sent as `f` (ETSI MDMF over Bell 202 is
/// indistinguishable from Bell 202 MDMF).
fn auto_format(f: CidFormat) -> CidFormat {
    if f == CidFormat::EtsiBell202 {
        CidFormat::Bell202Mdmf
    } else {
        f
    }
}

#[test]
fn every_format_round_trips_in_auto_and_only_mode() {
    for format in ALL_FORMATS {
        let msg = full_message();
        let x = render(&cfg(format), &msg).unwrap();
        let want = expected(format, &msg);
        let got = detect_with(CidDetect::Auto, &x);
        assert_eq!(got.len(), 1, "{format}: {got:?}");
        assert_eq!(got[0].format, auto_format(format));
        assert_eq!(got[0].message, want, "{format}");
        let got = detect_with(CidDetect::Only(format), &x);
        assert_eq!(got.len(), 1, "{format} only");
        assert_eq!(got[0].format, format);
        assert_eq!(got[0].message, want);
        // The spill ends at the last character; the report follows within a few ms.
        let end = 800 + x.len() as u64;
        assert!(got[0].end_sample <= end && got[0].end_sample + 1600 > end, "{format} {}", got[0].end_sample);
    }
}

#[test]
fn only_mode_ignores_other_formats() {
    for sent in ALL_FORMATS {
        let x = render(&cfg(sent), &full_message()).unwrap();
        for mode in ALL_FORMATS {
            let same_wire = matches!(
                (sent, mode),
                (CidFormat::EtsiBell202, CidFormat::Bell202Mdmf) | (CidFormat::Bell202Mdmf, CidFormat::EtsiBell202)
            );
            let got = detect_with(CidDetect::Only(mode), &x);
            assert_eq!(got.len(), usize::from(sent == mode || same_wire), "sent {sent} mode {mode}: {got:?}");
        }
    }
}

#[test]
fn absence_reasons_round_trip() {
    for format in ALL_FORMATS {
        for (na, ma) in [(Absence::Private, Absence::Unavailable), (Absence::Unavailable, Absence::Private)] {
            let msg = CallerIdMessage {
                number_absence: Some(na),
                name_absence: Some(ma),
                datetime: Some(CidDateTime { month: 1, day: 2, hour: 3, minute: 4 }),
                ..CallerIdMessage::default()
            };
            let got = detect_with(CidDetect::Auto, &render(&cfg(format), &msg).unwrap());
            assert_eq!(got.len(), 1, "{format}");
            assert_eq!(got[0].message, expected(format, &msg), "{format}");
        }
    }
}

#[test]
fn mdmf_bytes_follow_en_300_659_3() {
    let msg = CallerIdMessage {
        number: Some("123".into()),
        datetime: Some(CidDateTime { month: 3, day: 4, hour: 5, minute: 6 }),
        call_type: Some(1),
        ..CallerIdMessage::default()
    };
    let b = encode_fsk(MSG_MDMF_CALLER_ID, &msg).unwrap();
    let mut want = vec![0x80, 18, 0x01, 8];
    want.extend_from_slice(b"03040506");
    want.extend_from_slice(&[0x02, 3, b'1', b'2', b'3', 0x11, 1, 1]);
    assert_eq!(&b[..b.len() - 1], &want[..]);
    assert_eq!(b.iter().fold(0u8, |a, &x| a.wrapping_add(x)), 0, "checksum");
    let sdmf =
        encode_fsk(MSG_SDMF_CALLER_ID, &CallerIdMessage { number_absence: Some(Absence::Private), ..msg }).unwrap();
    assert_eq!(&sdmf[..sdmf.len() - 1], b"\x04\x0b03040506123");
}

#[test]
fn dtmf_styles_are_data_and_all_known_ones_decode() {
    let cases = [
        (DtmfCidStyle::etsi(), None, "A0123456C"),
        (DtmfCidStyle::etsi(), Some(Absence::Private), "B10C"),
        (DtmfCidStyle::etsi(), Some(Absence::Unavailable), "B00C"),
        (DtmfCidStyle::hash(), None, "A0123456#"),
        (DtmfCidStyle::hash(), Some(Absence::Private), "D1#"),
        (DtmfCidStyle::hash(), Some(Absence::Unavailable), "D3#"),
        (DtmfCidStyle::d_start(), None, "D0123456C"),
    ];
    for (style, absence, digits) in cases {
        let msg = CallerIdMessage {
            number: absence.is_none().then(|| "0123456".to_string()),
            number_absence: absence,
            ..CallerIdMessage::default()
        };
        assert_eq!(style.encode(&msg), digits);
        let c = CidTxConfig { format: CidFormat::Dtmf, dtmf: style, ..CidTxConfig::default() };
        let got = detect_with(CidDetect::Auto, &render(&c, &msg).unwrap());
        assert_eq!(got.len(), 1, "{digits}");
        assert_eq!(got[0].raw, digits.as_bytes());
        assert_eq!(got[0].message, msg, "{digits}");
    }
    // Overseas in the # variant reads as unavailable.
    let mut chain = DtmfChain::new(DtmfCidStyle::known());
    let mut reports = VecDeque::new();
    let mut g = DtmfGenerator::new(DtmfTxConfig { on_ms: 50, off_ms: 50, ..DtmfTxConfig::default() });
    g.push_digits("D2#");
    let mut x = vec![0i16; 8000];
    g.fill(&mut x);
    chain.process(&x, &mut reports);
    assert_eq!(reports.pop_front().unwrap().message.number_absence, Some(Absence::Unavailable));
}

#[test]
fn custom_dtmf_styles_replace_the_known_ones() {
    let style = DtmfCidStyle { number_start: '*', end: '#', ..DtmfCidStyle::etsi() };
    let c = CidTxConfig { format: CidFormat::Dtmf, dtmf: style.clone(), ..CidTxConfig::default() };
    let x = render(&c, &full_message()).unwrap();
    assert!(detect_with(CidDetect::Auto, &x).is_empty(), "not a known style");
    let mut det = CallerIdDetector::new(CidDetect::Auto).with_dtmf_styles(&[style]);
    det.process(&[0; 800]);
    det.process(&x);
    det.process(&[0; 800]);
    assert_eq!(det.poll().unwrap().message.number.as_deref(), Some("01234567890"));
    // reset keeps the styles.
    det.reset();
    det.process(&[0; 800]);
    det.process(&x);
    det.process(&[0; 800]);
    assert!(det.poll().is_some());
}

#[test]
fn dtmf_style_deserializes_and_rejects_bad_markers() {
    let s: DtmfCidStyle = toml::from_str("number_start = 'D'\nend = '#'").unwrap();
    assert_eq!(s.number_start, 'D');
    assert_eq!(s.absence_start, 'B');
    let bad = DtmfCidStyle { end: '5', ..DtmfCidStyle::etsi() };
    let c = CidTxConfig { format: CidFormat::Dtmf, dtmf: bad, ..CidTxConfig::default() };
    assert!(matches!(CallerIdGenerator::new(&c, &full_message()), Err(CidError::InvalidDtmfStyle(_))));
}

#[test]
fn config_and_mode_serde() {
    for (s, want) in [
        ("auto", CidDetect::Auto),
        ("etsi", CidDetect::Only(CidFormat::Etsi)),
        ("etsi-bell202", CidDetect::Only(CidFormat::EtsiBell202)),
        ("bell202-sdmf", CidDetect::Only(CidFormat::Bell202Sdmf)),
        ("bell202-mdmf", CidDetect::Only(CidFormat::Bell202Mdmf)),
        ("dtmf", CidDetect::Only(CidFormat::Dtmf)),
    ] {
        let got: CidDetect = serde_json::from_str(&format!("\"{s}\"")).unwrap();
        assert_eq!(got, want);
        assert_eq!(serde_json::to_string(&got).unwrap(), format!("\"{s}\""));
    }
    assert!(serde_json::from_str::<CidDetect>("\"v23\"").is_err());
    let c: CidTxConfig = toml::from_str("format = 'bell202-sdmf'\nlevel_dbm0 = -10.0\n[dtmf]\nend = '#'\n").unwrap();
    assert_eq!(c.format, CidFormat::Bell202Sdmf);
    assert_eq!(c.dtmf.end, '#');
    assert!(toml::from_str::<CidTxConfig>("formt = 'etsi'").is_err());
    assert_eq!(serde_json::to_string(&Absence::Unavailable).unwrap(), "\"unavailable\"");
}

#[test]
fn generator_rejects_what_it_cannot_send() {
    let m = |number: &str| CallerIdMessage { number: Some(number.into()), ..full_message() };
    let etsi = cfg(CidFormat::Etsi);
    assert_eq!(CallerIdGenerator::new(&etsi, &m(&"1".repeat(21))).unwrap_err(), CidError::NumberTooLong { max: 20 });
    assert_eq!(CallerIdGenerator::new(&etsi, &m("")).unwrap_err(), CidError::EmptyNumber);
    assert!(matches!(CallerIdGenerator::new(&etsi, &m("12a")), Err(CidError::InvalidNumberChar { .. })));
    assert!(CallerIdGenerator::new(&etsi, &m("+4930*#")).is_ok());
    assert!(matches!(
        CallerIdGenerator::new(&cfg(CidFormat::Dtmf), &m("+49")),
        Err(CidError::InvalidNumberChar { format: CidFormat::Dtmf })
    ));
    let long_name = CallerIdMessage { name: Some("x".repeat(51)), ..full_message() };
    assert_eq!(CallerIdGenerator::new(&etsi, &long_name).unwrap_err(), CidError::NameTooLong { max: 50 });
    let bad_name = CallerIdMessage { name: Some("Zoë".into()), ..full_message() };
    assert_eq!(CallerIdGenerator::new(&etsi, &bad_name).unwrap_err(), CidError::InvalidNameChar);
    let bad_dt =
        CallerIdMessage { datetime: Some(CidDateTime { month: 13, day: 1, hour: 0, minute: 0 }), ..full_message() };
    assert_eq!(CallerIdGenerator::new(&etsi, &bad_dt).unwrap_err(), CidError::InvalidDateTime);
    let no_dt = CallerIdMessage { datetime: None, ..full_message() };
    assert_eq!(CallerIdGenerator::new(&cfg(CidFormat::Bell202Sdmf), &no_dt).unwrap_err(), CidError::MissingDateTime);
    // The error text never carries the number.
    assert!(!CidError::InvalidNumberChar { format: CidFormat::Etsi }.to_string().contains("12a"));
}

#[test]
fn generator_fills_frames_and_reports_its_duration() {
    for format in ALL_FORMATS {
        let mut g = CallerIdGenerator::new(&cfg(format), &full_message()).unwrap();
        let total = g.duration_samples();
        let mut written = 0u64;
        let mut frame = [1i16; 160];
        while !g.is_done() {
            let n = g.fill(&mut frame);
            assert!(frame[n..].iter().all(|&v| v == 0));
            written += n as u64;
            assert!(written <= total + 160);
        }
        assert_eq!(written, total, "{format}");
        assert_eq!(g.fill(&mut frame), 0);
        assert!(frame.iter().all(|&v| v == 0));
    }
    // Bell 202: 300 + 180 bits of preamble, 0.4 s, plus the message.
    let g = CallerIdGenerator::new(&cfg(CidFormat::Bell202Sdmf), &full_message()).unwrap();
    let bits = 300 + 180 + 10 * (2 + 8 + 11 + 1) + 5;
    assert_eq!(g.duration_samples(), (bits as f64 * 20.0 / 3.0).ceil() as u64);
}

#[test]
fn corrupt_checksum_or_quiet_spill_is_not_reported() {
    let msg = full_message();
    let mut bytes = encode_fsk(MSG_MDMF_CALLER_ID, &msg).unwrap();
    *bytes.last_mut().unwrap() ^= 0x01;
    let mut tx = FskTransmitter::new(FskParams::V23, -13.0, -13.0, FskPreamble::ETSI, &bytes);
    let mut x = vec![0i16; tx.duration_samples() as usize];
    tx.fill(&mut x);
    assert!(detect_with(CidDetect::Auto, &x).is_empty());

    for format in [CidFormat::Etsi, CidFormat::Bell202Mdmf, CidFormat::Dtmf] {
        let quiet = CidTxConfig { format, level_dbm0: -55.0, ..CidTxConfig::default() };
        assert!(detect_with(CidDetect::Auto, &render(&quiet, &msg).unwrap()).is_empty(), "{format}");
    }
}

#[test]
fn preamble_without_enough_mark_is_not_accepted() {
    let c = CidTxConfig {
        preamble: Some(FskPreamble { seizure_bits: 300, mark_bits: 20, trailing_mark_bits: 5 }),
        ..cfg(CidFormat::Etsi)
    };
    assert!(detect_with(CidDetect::Auto, &render(&c, &full_message()).unwrap()).is_empty());
    // Off-hook (type 2) spills have no seizure: mark alone is enough.
    let c = CidTxConfig {
        preamble: Some(FskPreamble { seizure_bits: 0, mark_bits: 80, trailing_mark_bits: 5 }),
        ..cfg(CidFormat::Etsi)
    };
    assert_eq!(detect_with(CidDetect::Auto, &render(&c, &full_message()).unwrap()).len(), 1);
}

#[test]
fn loud_white_noise_reports_nothing() {
    let mut rng = Rng(7);
    for dbm0 in [-30.0, -10.0, 0.0] {
        let sigma = f64::from(crate::dsp::dbm0_to_peak(dbm0)) / 2f64.sqrt();
        let x: Vec<i16> = (0..80_000).map(|_| (rng.gauss() * sigma).round().clamp(-32768.0, 32767.0) as i16).collect();
        assert!(detect_with(CidDetect::Auto, &x).is_empty(), "{dbm0}");
    }
}

#[test]
fn parser_rejects_malformed_messages_without_panicking() {
    assert_eq!(parse_fsk_message(&[]), None);
    assert_eq!(parse_fsk_message(&[0x80]), None);
    assert_eq!(parse_fsk_message(&[0x80, 3, 0x02, 5, b'1']), None, "parameter overruns");
    assert_eq!(parse_fsk_message(&[0x04, 3, b'1', b'2', b'3']), None, "SDMF shorter than the date");
    assert_eq!(parse_fsk_message(&[0x80, 0]), Some(CallerIdMessage::default()));
    let m = parse_fsk_message(&[0x80, 5, 0x03, 1, b'9', 0x02, 0]).unwrap();
    assert_eq!(m.number.as_deref(), Some(""), "unknown 0x03 skipped");
}

/// FSK spill with everything the receiver must tolerate: tone and baud offsets, level,
/// twist and white noise at `snr_db` below the signal.
#[allow(clippy::too_many_arguments)]
fn impaired(
    format: CidFormat,
    msg: &CallerIdMessage,
    freq_pct: f32,
    baud_pct: f32,
    dbm0: f32,
    twist_db: f32,
    snr_db: f64,
    seed: u64,
) -> Vec<i16> {
    let (params, msg_type, _) = format.fsk().unwrap();
    let p = FskParams {
        mark_hz: params.mark_hz * (1.0 + freq_pct / 100.0),
        space_hz: params.space_hz * (1.0 + freq_pct / 100.0),
        baud: params.baud * (1.0 + baud_pct / 100.0),
    };
    let bytes = encode_fsk(msg_type, msg).unwrap();
    // A shorter seizure keeps debug-build test time down; the mark is the minimum ETSI allows.
    let pre = FskPreamble { seizure_bits: 60, mark_bits: 55, trailing_mark_bits: 5 };
    let mut tx = FskTransmitter::new(p, dbm0 - twist_db / 2.0, dbm0 + twist_db / 2.0, pre, &bytes);
    let mut x = vec![0i16; tx.duration_samples() as usize];
    tx.fill(&mut x);
    let mut rng = Rng(seed | 1);
    let sigma = f64::from(crate::dsp::dbm0_to_peak(dbm0)) / 2f64.sqrt() * 10f64.powf(-snr_db / 20.0);
    x.iter().map(|&v| (f64::from(v) + rng.gauss() * sigma).round().clamp(-32768.0, 32767.0) as i16).collect()
}

fn number() -> impl Strategy<Value = String> {
    "[0-9]{1,20}"
}

fn name() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[ -~]{1,50}")
}

proptest! {
    // Fixed seed: the FSK limits below are met by all of several thousand random cases
    // but not by every one (see the report in fsk_decodes_within_the_standard_limits),
    // and a test must not flake. PROPTEST_CASES raises the count for soak runs.
    #![proptest_config(ProptestConfig {
        cases: 24,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x0C11_E41D),
        ..ProptestConfig::default()
    })]

    #[test]
    fn fsk_decodes_within_the_standard_limits(
        fmt in prop_oneof![Just(CidFormat::Etsi), Just(CidFormat::Bell202Mdmf), Just(CidFormat::Bell202Sdmf)],
        number in number(),
        name in name(),
        freq_pct in -1.5f32..=1.5,
        baud_pct in -1.0f32..=1.0,
        dbm0 in -40.0f32..=0.0,
        twist_db in -6.0f32..=6.0,
        seed in any::<u64>(),
        high_twist in any::<bool>(),
    ) {
        // ±6 dB twist at 20 dB SNR, or up to ±8 dB twist at 26 dB. Soak runs (5000 cases)
        // fail about one case in 3000, at the corners (8 dB twist with 1% baud error);
        // ±10 dB twist fails about one in 2000. (SNR is against the nominal level, over
        // the whole 0–4 kHz band.)
        let (twist_db, snr_db) = if high_twist { (twist_db * 8.0 / 6.0, 26.0) } else { (twist_db, 20.0) };
        let msg = CallerIdMessage {
            number: Some(number),
            name,
            datetime: Some(CidDateTime { month: 6, day: 15, hour: 8, minute: 30 }),
            ..CallerIdMessage::default()
        };
        // Twist moves one tone up to 5 dB above the nominal level: keep it off clipping.
        let dbm0 = dbm0.min(-5.0);
        let x = impaired(fmt, &msg, freq_pct, baud_pct, dbm0, twist_db, snr_db, seed);
        let got = detect_with(CidDetect::Only(fmt), &x);
        prop_assert_eq!(got.len(), 1);
        prop_assert_eq!(&got[0].message, &expected(fmt, &msg));
    }

    #[test]
    fn dtmf_numbers_round_trip(number in number(), dbm0 in -20.0f32..=-3.0, on in 50u32..=70, off in 50u32..=70) {
        let msg = CallerIdMessage { number: Some(number), ..CallerIdMessage::default() };
        let c = CidTxConfig {
            format: CidFormat::Dtmf,
            level_dbm0: dbm0,
            dtmf: DtmfCidStyle { on_ms: on, off_ms: off, ..DtmfCidStyle::etsi() },
            ..CidTxConfig::default()
        };
        let got = detect_with(CidDetect::Only(CidFormat::Dtmf), &render(&c, &msg).unwrap());
        prop_assert_eq!(got.len(), 1);
        prop_assert_eq!(&got[0].message, &msg);
    }

    #[test]
    fn random_samples_never_panic_or_report(x in proptest::collection::vec(any::<i16>(), 0..6000)) {
        prop_assert!(detect_with(CidDetect::Auto, &x).is_empty());
    }

    #[test]
    fn random_bytes_never_panic_the_parser(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_fsk_message(&b);
    }
}
