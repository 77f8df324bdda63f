//! ITU-T G.711 A-law and µ-law companding.
//!
//! Linear samples are 16-bit, scaled as in the ITU-T G.191 reference implementation: A-law
//! decoder outputs are the G.711 Table 1 values ×8 (13-bit → 16-bit), µ-law outputs the
//! Table 2 values ×4 (14-bit → 16-bit). Negative inputs are quantised on their one's
//! complement (`-x - 1`), as G.191 does, so the quantiser is exactly symmetric around -½.
//! Decoding is a 256-entry table; encoding is a few integer ops around `leading_zeros`,
//! with no branches on the data, so whole frames vectorise.

use serde::{Deserialize, Serialize};

/// Companding law of a TDM span: A-law on E1 (Europe, China), µ-law on T1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Law {
    Alaw,
    Ulaw,
}

/// A-law characters have their even bits inverted on the line (G.711 §2.3).
const ALAW_EVEN_BITS: u8 = 0x55;
/// µ-law bias (33 in the 14-bit scale) that makes the segments line up on powers of two.
const ULAW_BIAS: u16 = 33;
/// Largest biased µ-law magnitude; louder inputs clip to the top code.
const ULAW_CLIP: u16 = 0x1FFF;

/// One's-complement magnitude: `x` for `x >= 0`, `-x - 1` for `x < 0` (never overflows).
#[inline]
fn ones_magnitude(s: i16) -> u16 {
    (s ^ (s >> 15)) as u16
}

/// Encodes one 16-bit linear sample to an A-law character.
#[inline]
pub fn alaw_encode(s: i16) -> u8 {
    // 12-bit magnitude step index: segment 0 (chord 0) has step 16 in 16-bit scale.
    let ix = ones_magnitude(s) >> 4; // 0..=2047
    let bits = 16 - ix.leading_zeros(); // 0..=11
    let chord = bits.saturating_sub(4); // 0..=7
    let shift = bits.saturating_sub(5); // chords 0 and 1 share the step size
    let step = (ix >> shift) & 0x0F;
    let sign = if s >= 0 { 0x80 } else { 0x00 };
    (sign | (chord as u8) << 4 | step as u8) ^ ALAW_EVEN_BITS
}

/// Decodes an A-law character to 16-bit linear.
#[inline]
pub fn alaw_decode(b: u8) -> i16 {
    ALAW_TABLE[b as usize]
}

/// Encodes one 16-bit linear sample to a µ-law character.
#[inline]
pub fn ulaw_encode(s: i16) -> u8 {
    let biased = ((ones_magnitude(s) >> 2) + ULAW_BIAS).min(ULAW_CLIP); // 33..=8191
    let bits = 16 - biased.leading_zeros(); // 6..=13
    let chord = bits - 6; // 0..=7
    let step = (biased >> (chord + 1)) & 0x0F;
    let sign = if s >= 0 { 0x80 } else { 0x00 };
    sign | (0x7F ^ ((chord as u8) << 4 | step as u8))
}

/// Decodes a µ-law character to 16-bit linear.
#[inline]
pub fn ulaw_decode(b: u8) -> i16 {
    ULAW_TABLE[b as usize]
}

const fn alaw_table() -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        let b = (i as u8) ^ ALAW_EVEN_BITS;
        let chord = ((b >> 4) & 7) as i32;
        let step = (b & 0x0F) as i32;
        let mag = if chord == 0 { (step << 4) + 8 } else { ((step << 4) + 264) << (chord - 1) };
        t[i] = if b & 0x80 != 0 { mag as i16 } else { -mag as i16 };
        i += 1;
    }
    t
}

const fn ulaw_table() -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        let b = !(i as u8);
        let chord = ((b >> 4) & 7) as i32;
        let step = (b & 0x0F) as i32;
        let mag = 4 * (((33 + 2 * step) << chord) - 33);
        // The sign bit is not inverted on the line: 0x80.. are positive.
        t[i] = if i & 0x80 != 0 { mag as i16 } else { -mag as i16 };
        i += 1;
    }
    t
}

/// A-law character → 16-bit linear.
static ALAW_TABLE: [i16; 256] = alaw_table();
/// µ-law character → 16-bit linear.
static ULAW_TABLE: [i16; 256] = ulaw_table();

impl Law {
    /// Encodes one sample.
    #[inline]
    pub fn encode(self, s: i16) -> u8 {
        match self {
            Law::Alaw => alaw_encode(s),
            Law::Ulaw => ulaw_encode(s),
        }
    }

    /// Decodes one character.
    #[inline]
    pub fn decode(self, b: u8) -> i16 {
        match self {
            Law::Alaw => alaw_decode(b),
            Law::Ulaw => ulaw_decode(b),
        }
    }

    /// Encodes `min(pcm.len(), out.len())` samples; the law is matched once per frame.
    pub fn encode_frame(self, pcm: &[i16], out: &mut [u8]) {
        match self {
            Law::Alaw => out.iter_mut().zip(pcm).for_each(|(o, &s)| *o = alaw_encode(s)),
            Law::Ulaw => out.iter_mut().zip(pcm).for_each(|(o, &s)| *o = ulaw_encode(s)),
        }
    }

    /// Decodes `min(g711.len(), out.len())` characters.
    pub fn decode_frame(self, g711: &[u8], out: &mut [i16]) {
        let table = match self {
            Law::Alaw => &ALAW_TABLE,
            Law::Ulaw => &ULAW_TABLE,
        };
        out.iter_mut().zip(g711).for_each(|(o, &b)| *o = table[b as usize]);
    }

    /// The character for zero signal (idle pattern for an open channel).
    pub fn silence(self) -> u8 {
        match self {
            Law::Alaw => 0xD5,
            Law::Ulaw => 0xFF,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- Independent oracle, transcribed from G.711 ----
    //
    // Table 1 (A-law), positive half, in the 12-bit magnitude scale of the tables
    // (full scale 4096). Each segment is (first decision value, step size, chord bits).
    // Segment 1 of the table is split into chords 000 and 001 of equal step 2.
    // Decoder output is the middle of each interval. On the line the sign bit is 1
    // for positive values and the even bits are inverted (xor 0x55).
    const ALAW_SEGMENTS: [(i32, i32); 8] =
        [(0, 2), (32, 2), (64, 4), (128, 8), (256, 16), (512, 32), (1024, 64), (2048, 128)];
    // Table 2 (µ-law), positive half, 14-bit magnitude scale (full scale 8159).
    // Chord 0 starts with a half-width interval: decision values 0, 1, 3, 5, ... 31,
    // decoder outputs 0, 2, 4, ... 30. Other chords: (first decision value, step).
    // On the line the sign bit is 1 for positive values and the other 7 bits are
    // inverted, so the loudest positive level is 0x80 and zero is 0xFF.
    const ULAW_SEGMENTS: [(i32, i32); 8] = [
        (-1, 2), // first interval is [0, 1): decision value 1, output 0
        (31, 4),
        (95, 8),
        (223, 16),
        (479, 32),
        (991, 64),
        (2015, 128),
        (4063, 256),
    ];

    /// (lower decision value, upper decision value, decoder output), 12/14-bit scale.
    fn alaw_interval(chord: i32, step: i32) -> (i32, i32, i32) {
        let (start, width) = ALAW_SEGMENTS[chord as usize];
        let lo = start + step * width;
        (lo, lo + width, lo + width / 2)
    }

    fn ulaw_interval(chord: i32, step: i32) -> (i32, i32, i32) {
        let (start, width) = ULAW_SEGMENTS[chord as usize];
        let lo = start + step * width;
        let out = lo + width / 2;
        (lo.max(0), lo + width, out)
    }

    fn alaw_char(positive: bool, chord: i32, step: i32) -> u8 {
        let sign = if positive { 0x80 } else { 0 };
        (sign | (chord << 4) as u8 | step as u8) ^ 0x55
    }

    fn ulaw_char(positive: bool, chord: i32, step: i32) -> u8 {
        let sign = if positive { 0x80 } else { 0 };
        sign | (!((chord << 4) as u8 | step as u8) & 0x7F)
    }

    #[test]
    fn oracle_spot_values_match_the_printed_tables() {
        // Spot-check the oracle itself against numbers printed in G.711.
        assert_eq!(alaw_interval(0, 0), (0, 2, 1));
        assert_eq!(alaw_interval(1, 0), (32, 34, 33));
        assert_eq!(alaw_interval(7, 15), (3968, 4096, 4032));
        assert_eq!(ulaw_interval(0, 0), (0, 1, 0));
        assert_eq!(ulaw_interval(0, 1), (1, 3, 2));
        assert_eq!(ulaw_interval(0, 15), (29, 31, 30));
        assert_eq!(ulaw_interval(1, 0), (31, 35, 33));
        assert_eq!(ulaw_interval(7, 15), (7903, 8159, 8031));
        assert_eq!(alaw_char(true, 0, 0), 0xD5);
        assert_eq!(ulaw_char(true, 0, 0), 0xFF);
        assert_eq!(ulaw_char(false, 7, 15), 0x00);
    }

    /// All 128 levels of one sign: (character, lower decision, upper decision, output).
    fn alaw_levels(positive: bool) -> Vec<(u8, i32, i32, i32)> {
        let mut v = Vec::new();
        for chord in 0..8 {
            for step in 0..16 {
                let (lo, hi, out) = alaw_interval(chord, step);
                v.push((alaw_char(positive, chord, step), lo, hi, out));
            }
        }
        v
    }

    fn ulaw_levels(positive: bool) -> Vec<(u8, i32, i32, i32)> {
        let mut v = Vec::new();
        for chord in 0..8 {
            for step in 0..16 {
                let (lo, hi, out) = ulaw_interval(chord, step);
                v.push((ulaw_char(positive, chord, step), lo, hi, out));
            }
        }
        v
    }

    #[test]
    fn alaw_decode_matches_table_1() {
        let mut seen = [false; 256];
        for positive in [true, false] {
            for (code, _, _, out) in alaw_levels(positive) {
                let want = if positive { out * 8 } else { -out * 8 };
                assert_eq!(alaw_decode(code) as i32, want, "code {code:#04x}");
                seen[code as usize] = true;
            }
        }
        assert!(seen.iter().all(|&s| s), "oracle must cover all 256 codes");
    }

    #[test]
    fn ulaw_decode_matches_table_2() {
        let mut seen = [false; 256];
        for positive in [true, false] {
            for (code, _, _, out) in ulaw_levels(positive) {
                let want = if positive { out * 4 } else { -out * 4 };
                assert_eq!(ulaw_decode(code) as i32, want, "code {code:#04x}");
                seen[code as usize] = true;
            }
        }
        assert!(seen.iter().all(|&s| s), "oracle must cover all 256 codes");
    }

    #[test]
    fn alaw_encode_at_every_decision_value() {
        for positive in [true, false] {
            for (code, lo, hi, _) in alaw_levels(positive) {
                // 16-bit span of the interval [lo, hi) is [8 lo, 8 hi - 1] for positive
                // inputs; negative inputs mirror around -1/2 (one's complement).
                let (a, b) = (lo * 8, hi * 8 - 1);
                let (a, b) = if positive { (a, b) } else { (-a - 1, -b - 1) };
                for x in [a, b] {
                    let x = x.clamp(i16::MIN as i32, i16::MAX as i32) as i16;
                    assert_eq!(alaw_encode(x), code, "x={x} code {code:#04x}");
                }
            }
        }
    }

    #[test]
    fn ulaw_encode_at_every_decision_value() {
        for positive in [true, false] {
            for (code, lo, hi, _) in ulaw_levels(positive) {
                let (a, b) = (lo * 4, hi * 4 - 1);
                let (a, b) = if positive { (a, b) } else { (-a - 1, -b - 1) };
                for x in [a, b] {
                    let x = x.clamp(i16::MIN as i32, i16::MAX as i32) as i16;
                    assert_eq!(ulaw_encode(x), code, "x={x} code {code:#04x}");
                }
            }
        }
        // Beyond the last decision value (8159 ×4) the quantiser clips.
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
    }

    #[test]
    fn round_trip_every_code() {
        for b in 0..=255u8 {
            assert_eq!(alaw_encode(alaw_decode(b)), b, "A-law {b:#04x}");
            let want = if b == 0x7F { 0xFF } else { b };
            assert_eq!(ulaw_encode(ulaw_decode(b)), want, "µ-law {b:#04x}");
        }
    }

    #[test]
    fn encode_is_monotonic_over_all_inputs() {
        let mut prev_a = alaw_decode(alaw_encode(i16::MIN));
        let mut prev_u = ulaw_decode(ulaw_encode(i16::MIN));
        for x in i16::MIN..=i16::MAX {
            let a = alaw_decode(alaw_encode(x));
            let u = ulaw_decode(ulaw_encode(x));
            assert!(a >= prev_a && u >= prev_u, "not monotonic at {x}");
            prev_a = a;
            prev_u = u;
        }
    }

    #[test]
    fn frames_process_the_shorter_length_and_silence_decodes_to_zero() {
        for law in [Law::Alaw, Law::Ulaw] {
            let pcm = [0i16, 1000, -1000, 32767, -32768];
            let mut enc = [0xAAu8; 3];
            law.encode_frame(&pcm, &mut enc);
            assert_eq!(enc, [law.encode(0), law.encode(1000), law.encode(-1000)]);
            let mut dec = [7i16; 6];
            law.decode_frame(&enc, &mut dec);
            assert_eq!(&dec[3..], &[7, 7, 7]);
            assert_eq!(&dec[..3], &[law.decode(enc[0]), law.decode(enc[1]), law.decode(enc[2])]);
            assert_eq!(law.encode(0), law.silence());
            assert!(law.decode(law.silence()).abs() <= 8, "silence decodes to ~0");
        }
    }

    #[test]
    fn law_config_names() {
        #[derive(Deserialize)]
        struct C {
            law: Law,
        }
        let c: C = toml::from_str("law = \"alaw\"").unwrap();
        assert_eq!(c.law, Law::Alaw);
        let c: C = toml::from_str("law = \"ulaw\"").unwrap();
        assert_eq!(c.law, Law::Ulaw);
        assert!(toml::from_str::<C>("law = \"a-law\"").is_err());
    }
}
