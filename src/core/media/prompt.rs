//! Loading prompts for playback.
//!
//! The media path runs at 8 kHz mono, so a prompt must already be in that
//! shape: resampling or downmixing at load time would hide badly prepared
//! files and cost CPU at every reload. We accept exactly:
//!
//! * WAV, 8000 Hz, mono, PCM 16-bit (format tag 1),
//! * WAV, 8000 Hz, mono, A-law 8-bit (format tag 6),
//! * WAV, 8000 Hz, mono, µ-law 8-bit (format tag 7),
//! * the same three wrapped in `WAVE_FORMAT_EXTENSIBLE` (tag 0xFFFE).
//!
//! Anything else is refused with an error naming the file, the format found
//! and the format wanted, plus the `sox` command that fixes it.
//!
//! `hound` only reads PCM/float, so the RIFF container is parsed here. The
//! parser works on an in-memory byte slice with checked arithmetic only, so no
//! file content can make it panic (fuzzed by the proptests below).
//!
//! Container leniency, chosen to match what real tools write:
//! * the RIFF size field is ignored (many writers get it wrong);
//! * unknown chunks (`LIST`, `fact`, `cue `, ...) are skipped, including the
//!   pad byte after an odd-sized chunk;
//! * `fmt ` and `data` may come in any order; bytes after both are ignored;
//! * a trailing partial sample in `data` (odd byte count for PCM16) is ignored.
//!
//! One deliberate strictness: a `data` chunk that claims more bytes than the
//! file holds is a [`PromptError::Truncated`] error rather than being clamped.
//! Such a file is either cut short (an interrupted copy) or was written by a
//! streaming tool that never fixed up the header; playing it silently short
//! would hide the problem until a caller hears half a sentence.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::dsp::g711;

/// The only sample rate the media path runs at.
pub const PROMPT_RATE: u32 = 8000;

/// What we tell users to produce, appended to every unsupported-format error.
const WANTED: &str = "trunkd plays 8000 Hz mono PCM16, A-law or µ-law WAV \
                      (convert with: sox in.wav -r 8000 -c 1 -b 16 out.wav)";

const TAG_PCM: u16 = 0x0001;
const TAG_ALAW: u16 = 0x0006;
const TAG_ULAW: u16 = 0x0007;
const TAG_EXTENSIBLE: u16 = 0xFFFE;

/// Bytes 2..16 of every `KSDATAFORMAT_SUBTYPE_*` GUID derived from a format
/// tag (`XXXXXXXX-0000-0010-8000-00AA00389B71`, little-endian on disk).
const KSDATAFORMAT_SUFFIX: [u8; 14] =
    [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];

/// Why a prompt could not be loaded. Every variant carries the path so the
/// message alone is enough to fix the file.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// The file does not exist.
    #[error("{}: prompt file not found", .path.display())]
    NotFound { path: PathBuf },
    /// Any other I/O error while reading (permissions, is a directory, ...).
    #[error("{}: cannot read prompt: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Not a RIFF/WAVE file, or its `fmt ` chunk is malformed.
    #[error("{}: not a WAV file ({reason}); {WANTED}", .path.display())]
    NotWav { path: PathBuf, reason: String },
    /// A valid WAV file in a format trunkd does not play.
    #[error("{}: {found}; {WANTED}", .path.display())]
    Unsupported { path: PathBuf, found: String },
    /// The file ends before the chunk it is reading.
    #[error("{}: truncated WAV file ({detail})", .path.display())]
    Truncated { path: PathBuf, detail: String },
}

impl PromptError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            PromptError::NotFound { path }
            | PromptError::Io { path, .. }
            | PromptError::NotWav { path, .. }
            | PromptError::Unsupported { path, .. }
            | PromptError::Truncated { path, .. } => path,
        }
    }
}

/// Load a prompt from disk as 8 kHz mono linear PCM.
///
/// Reads the whole file: prompts are small, and a single read keeps the
/// parser free of I/O error paths.
pub fn load_wav(path: &Path) -> Result<Vec<i16>, PromptError> {
    let bytes = std::fs::read(path).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            PromptError::NotFound { path: path.to_path_buf() }
        } else {
            PromptError::Io { path: path.to_path_buf(), source }
        }
    })?;
    parse_wav(path, &bytes)
}

/// Decode WAV bytes already in memory (e.g. built-in prompts from
/// `include_bytes!`); `name` is only used in error messages.
pub fn parse_wav(name: &Path, bytes: &[u8]) -> Result<Vec<i16>, PromptError> {
    parse(bytes).map_err(|fail| {
        let path = name.to_path_buf();
        match fail {
            Fail::NotWav(reason) => PromptError::NotWav { path, reason },
            Fail::Unsupported(found) => PromptError::Unsupported { path, found },
            Fail::Truncated(detail) => PromptError::Truncated { path, detail },
        }
    })
}

/// Parser failure before the path is attached.
enum Fail {
    NotWav(String),
    Unsupported(String),
    Truncated(String),
}

/// The decoded `fmt ` chunk, reduced to what decides acceptance.
#[derive(Debug, Clone, Copy)]
struct Format {
    /// Effective tag: the subformat for `WAVE_FORMAT_EXTENSIBLE`.
    tag: u16,
    extensible: bool,
    channels: u16,
    rate: u32,
    bits: u16,
}

impl fmt::Display for Format {
    /// Human description, e.g. `44100 Hz stereo PCM 16-bit`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Hz ", self.rate)?;
        match self.channels {
            1 => f.write_str("mono ")?,
            2 => f.write_str("stereo ")?,
            n => write!(f, "{n} channels ")?,
        }
        match self.tag {
            TAG_PCM => write!(f, "PCM {}-bit", self.bits)?,
            0x0003 => write!(f, "float {}-bit", self.bits)?,
            TAG_ALAW => write!(f, "A-law {}-bit", self.bits)?,
            TAG_ULAW => write!(f, "µ-law {}-bit", self.bits)?,
            0x0002 => f.write_str("MS ADPCM")?,
            0x0011 => f.write_str("IMA ADPCM")?,
            0x0031 => f.write_str("GSM 6.10")?,
            0x0055 => f.write_str("MP3")?,
            t => write!(f, "format tag 0x{t:04x}")?,
        }
        if self.extensible {
            f.write_str(" (extensible)")?;
        }
        Ok(())
    }
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn parse(bytes: &[u8]) -> Result<Vec<i16>, Fail> {
    match bytes.get(0..4) {
        Some(b"RIFF") => {}
        Some(b"RF64") => return Err(Fail::NotWav("RF64 (64-bit WAV) is not supported".into())),
        Some(b"RIFX") => return Err(Fail::NotWav("big-endian RIFX is not supported".into())),
        Some(_) => return Err(Fail::NotWav("no RIFF header".into())),
        None => return Err(Fail::NotWav(format!("only {} bytes long", bytes.len()))),
    }
    if bytes.get(8..12) != Some(b"WAVE") {
        return Err(Fail::NotWav("RIFF file but not WAVE".into()));
    }

    let mut fmt: Option<Format> = None;
    let mut data: Option<&[u8]> = None;
    let mut off: usize = 12;
    while fmt.is_none() || data.is_none() {
        let rest = bytes.len() - off; // off <= len is kept by the loop below
        if rest == 0 {
            break;
        }
        if rest < 8 {
            return Err(Fail::Truncated(format!("partial chunk header at byte {off}")));
        }
        let id = &bytes[off..off + 8][..4];
        let size = u32_at(bytes, off + 4).unwrap_or(0) as usize;
        let body_start = off + 8;
        let body_end = match body_start.checked_add(size) {
            Some(end) if end <= bytes.len() => end,
            _ => {
                return Err(Fail::Truncated(format!(
                    "chunk '{}' at byte {off} claims {size} bytes but only {} remain",
                    String::from_utf8_lossy(id).escape_default(),
                    bytes.len() - body_start
                )))
            }
        };
        let body = &bytes[body_start..body_end];
        match id {
            b"fmt " if fmt.is_none() => fmt = Some(parse_fmt(body)?),
            b"data" if data.is_none() => data = Some(body),
            _ => {} // LIST, fact, cue, duplicates...: not needed for playback
        }
        // Odd-sized chunks are followed by a pad byte, which may be missing
        // at the very end of a file.
        off = (body_end + (size & 1)).min(bytes.len());
    }

    let fmt = fmt.ok_or_else(|| Fail::NotWav("no 'fmt ' chunk".into()))?;
    let data = data.ok_or_else(|| Fail::NotWav("no 'data' chunk".into()))?;

    if fmt.rate != PROMPT_RATE || fmt.channels != 1 {
        return Err(Fail::Unsupported(fmt.to_string()));
    }
    match (fmt.tag, fmt.bits) {
        (TAG_PCM, 16) => Ok(data.chunks_exact(2).map(|s| i16::from_le_bytes([s[0], s[1]])).collect()),
        (TAG_ALAW, 8) => Ok(data.iter().map(|&b| g711::alaw_decode(b)).collect()),
        (TAG_ULAW, 8) => Ok(data.iter().map(|&b| g711::ulaw_decode(b)).collect()),
        _ => Err(Fail::Unsupported(fmt.to_string())),
    }
}

fn parse_fmt(body: &[u8]) -> Result<Format, Fail> {
    let short = || Fail::NotWav(format!("'fmt ' chunk is {} bytes, need 16", body.len()));
    let tag = u16_at(body, 0).ok_or_else(short)?;
    let channels = u16_at(body, 2).ok_or_else(short)?;
    let rate = u32_at(body, 4).ok_or_else(short)?;
    let bits = u16_at(body, 14).ok_or_else(short)?;
    if tag != TAG_EXTENSIBLE {
        return Ok(Format { tag, extensible: false, channels, rate, bits });
    }
    // WAVEFORMATEXTENSIBLE: cbSize(2) validBits(2) channelMask(4) GUID(16).
    let guid = body
        .get(24..40)
        .ok_or_else(|| Fail::NotWav(format!("extensible 'fmt ' chunk is {} bytes, need 40", body.len())))?;
    if guid[2..] != KSDATAFORMAT_SUFFIX {
        return Err(Fail::Unsupported(format!(
            "{rate} Hz, {channels} channel(s), extensible format with a non-standard subformat GUID"
        )));
    }
    Ok(Format { tag: u16::from_le_bytes([guid[0], guid[1]]), extensible: true, channels, rate, bits })
}

/// Decoded prompts shared by all calls playing them.
///
/// `Arc<[i16]>` lets a call hold on to a prompt while it plays even if the
/// cache is cleared by a reload meanwhile. Failed loads are not cached, so a
/// fixed file is picked up on the next request without a reload.
#[derive(Debug, Default)]
pub struct PromptCache {
    prompts: HashMap<PathBuf, Arc<[i16]>>,
}

impl PromptCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The cached prompt for `path`, loading and caching it on first use.
    pub fn get_or_load(&mut self, path: &Path) -> Result<Arc<[i16]>, PromptError> {
        if let Some(p) = self.prompts.get(path) {
            return Ok(Arc::clone(p));
        }
        let samples: Arc<[i16]> = load_wav(path)?.into();
        self.prompts.insert(path.to_path_buf(), Arc::clone(&samples));
        Ok(samples)
    }

    /// Forget every prompt, e.g. on SIGHUP, so edited files are re-read.
    pub fn clear(&mut self) {
        self.prompts.clear();
    }

    /// Number of cached prompts.
    pub fn len(&self) -> usize {
        self.prompts.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A `fmt ` chunk body (16 bytes, or 40 for extensible with `sub` tag).
    fn fmt_body(tag: u16, channels: u16, rate: u32, bits: u16, sub: Option<u16>) -> Vec<u8> {
        let block = channels * bits.div_ceil(8);
        let mut b = Vec::new();
        b.extend_from_slice(&tag.to_le_bytes());
        b.extend_from_slice(&channels.to_le_bytes());
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
        b.extend_from_slice(&block.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        if let Some(sub) = sub {
            b.extend_from_slice(&22u16.to_le_bytes());
            b.extend_from_slice(&bits.to_le_bytes());
            b.extend_from_slice(&4u32.to_le_bytes()); // SPEAKER_FRONT_CENTER
            b.extend_from_slice(&sub.to_le_bytes());
            b.extend_from_slice(&KSDATAFORMAT_SUFFIX);
        }
        b
    }

    fn chunk(out: &mut Vec<u8>, id: &[u8; 4], body: &[u8]) {
        out.extend_from_slice(id);
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(body);
        if body.len() % 2 == 1 {
            out.push(0);
        }
    }

    fn riff(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
        let mut body = b"WAVE".to_vec();
        for (id, b) in chunks {
            chunk(&mut body, id, b);
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    fn p() -> &'static Path {
        Path::new("prompts/welcome.wav")
    }

    #[test]
    fn pcm16_written_by_hound_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pcm.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let want: Vec<i16> = (0..800).map(|i| ((i * 97) % 65536 - 32768) as i16).collect();
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for &s in &want {
            w.write_sample(s).unwrap();
        }
        w.finalize().unwrap();
        assert_eq!(load_wav(&path).unwrap(), want);
    }

    #[test]
    fn alaw_and_ulaw_decode_through_g711() {
        let data: Vec<u8> = (0..=255u8).collect();
        let a = riff(&[(b"fmt ", fmt_body(TAG_ALAW, 1, 8000, 8, None)), (b"data", data.clone())]);
        let want: Vec<i16> = data.iter().map(|&b| g711::alaw_decode(b)).collect();
        assert_eq!(parse_wav(p(), &a).unwrap(), want);
        // 0xD5 is A-law "+small", 0x55 "-small": sanity of sign handling.
        assert!(g711::alaw_decode(0xD5) > 0 && g711::alaw_decode(0x55) < 0);

        let u = riff(&[(b"fmt ", fmt_body(TAG_ULAW, 1, 8000, 8, None)), (b"data", data.clone())]);
        let want: Vec<i16> = data.iter().map(|&b| g711::ulaw_decode(b)).collect();
        assert_eq!(parse_wav(p(), &u).unwrap(), want);
        assert_eq!(g711::ulaw_decode(0xFF), 0);
        assert_eq!(g711::ulaw_decode(0x80), 32124);
    }

    #[test]
    fn alaw_file_on_disk_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        let bytes = riff(&[(b"fmt ", fmt_body(TAG_ALAW, 1, 8000, 8, None)), (b"data", vec![0xD5; 160])]);
        std::fs::write(&path, bytes).unwrap();
        let s = load_wav(&path).unwrap();
        assert_eq!(s.len(), 160);
        assert!(s.iter().all(|&x| x == 8));
    }

    #[test]
    fn extensible_subformats_load() {
        for (sub, bits, data, want) in [
            (TAG_PCM, 16, vec![0x34, 0x12, 0xff, 0xff], vec![0x1234, -1]),
            (TAG_ALAW, 8, vec![0xD5], vec![8]),
            (TAG_ULAW, 8, vec![0xFF], vec![0]),
        ] {
            let w = riff(&[(b"fmt ", fmt_body(TAG_EXTENSIBLE, 1, 8000, bits, Some(sub))), (b"data", data)]);
            assert_eq!(parse_wav(p(), &w).unwrap(), want, "subformat {sub}");
        }
    }

    #[test]
    fn unknown_and_odd_chunks_are_skipped() {
        let w = riff(&[
            (b"LIST", b"INFOISFT\x03\x00\x00\x00ab\x00".to_vec()), // odd size: padded
            (b"fact", 2u32.to_le_bytes().to_vec()),
            (b"fmt ", fmt_body(TAG_PCM, 1, 8000, 16, None)),
            (b"junk", vec![1, 2, 3]),
            (b"data", vec![1, 0, 2, 0, 9]), // trailing half sample ignored
        ]);
        assert_eq!(parse_wav(p(), &w).unwrap(), vec![1, 2]);
    }

    #[test]
    fn data_before_fmt_is_accepted() {
        let w = riff(&[(b"data", vec![5, 0]), (b"fmt ", fmt_body(TAG_PCM, 1, 8000, 16, None))]);
        assert_eq!(parse_wav(p(), &w).unwrap(), vec![5]);
    }

    #[test]
    fn rejected_formats_name_file_found_and_wanted() {
        let cases = [
            (fmt_body(TAG_PCM, 2, 44100, 16, None), "44100 Hz stereo PCM 16-bit"),
            (fmt_body(TAG_PCM, 1, 8000, 8, None), "8000 Hz mono PCM 8-bit"),
            (fmt_body(TAG_PCM, 1, 16000, 16, None), "16000 Hz mono PCM 16-bit"),
            (fmt_body(3, 1, 8000, 32, None), "8000 Hz mono float 32-bit"),
            (fmt_body(0x11, 1, 8000, 4, None), "8000 Hz mono IMA ADPCM"),
            (fmt_body(TAG_EXTENSIBLE, 1, 8000, 24, Some(TAG_PCM)), "8000 Hz mono PCM 24-bit (extensible)"),
        ];
        for (fmt, found) in cases {
            let w = riff(&[(b"fmt ", fmt), (b"data", vec![0; 64])]);
            let err = parse_wav(p(), &w).unwrap_err();
            assert!(matches!(err, PromptError::Unsupported { .. }), "{err:?}");
            assert_eq!(
                err.to_string(),
                format!(
                    "prompts/welcome.wav: {found}; trunkd plays 8000 Hz mono PCM16, A-law or \
                     µ-law WAV (convert with: sox in.wav -r 8000 -c 1 -b 16 out.wav)"
                )
            );
        }
    }

    #[test]
    fn hound_stereo_44k_is_rejected_with_named_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("welcome.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44100,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        w.write_sample(0i16).unwrap();
        w.write_sample(0i16).unwrap();
        w.finalize().unwrap();
        let msg = load_wav(&path).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("{}: 44100 Hz stereo PCM 16-bit; trunkd plays", path.display())), "{msg}");
    }

    #[test]
    fn not_found_not_wav_and_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.wav");
        let err = load_wav(&missing).unwrap_err();
        assert!(matches!(err, PromptError::NotFound { .. }));
        assert_eq!(err.path(), missing);
        assert!(err.to_string().contains("nope.wav: prompt file not found"));

        assert!(matches!(load_wav(dir.path()), Err(PromptError::Io { .. })));

        let mp3ish = b"ID3\x04\x00\x00\x00\x00\x00\x00";
        let err = parse_wav(p(), mp3ish).unwrap_err();
        assert!(matches!(err, PromptError::NotWav { .. }));
        assert!(err.to_string().starts_with("prompts/welcome.wav: not a WAV file"));

        let no_data = riff(&[(b"fmt ", fmt_body(TAG_PCM, 1, 8000, 16, None))]);
        assert!(matches!(parse_wav(p(), &no_data), Err(PromptError::NotWav { .. })));

        let mut cut = riff(&[(b"fmt ", fmt_body(TAG_PCM, 1, 8000, 16, None)), (b"data", vec![0; 1000])]);
        cut.truncate(cut.len() - 10);
        let err = parse_wav(p(), &cut).unwrap_err();
        assert!(matches!(err, PromptError::Truncated { .. }), "{err:?}");
        assert!(err.to_string().contains("'data'"), "{err}");

        let short_fmt = riff(&[(b"fmt ", vec![1, 0, 1, 0]), (b"data", vec![])]);
        assert!(matches!(parse_wav(p(), &short_fmt), Err(PromptError::NotWav { .. })));
    }

    #[test]
    fn cache_shares_and_clears() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.wav");
        let mk = |v: u8| riff(&[(b"fmt ", fmt_body(TAG_ALAW, 1, 8000, 8, None)), (b"data", vec![v; 4])]);
        let mut cache = PromptCache::new();
        assert!(cache.get_or_load(&path).is_err());
        assert!(cache.is_empty(), "failures are not cached");
        std::fs::write(&path, mk(0xD5)).unwrap();
        let a = cache.get_or_load(&path).unwrap();
        std::fs::write(&path, mk(0x55)).unwrap();
        let b = cache.get_or_load(&path).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "second get is served from cache");
        cache.clear();
        let c = cache.get_or_load(&path).unwrap();
        assert_eq!(c[0], -8, "clear() picks up the edited file");
        assert_eq!(a[0], 8, "old Arc still valid after clear");
        assert_eq!(cache.len(), 1);
    }

    fn valid_files() -> Vec<Vec<u8>> {
        vec![
            riff(&[(b"LIST", vec![7; 5]), (b"fmt ", fmt_body(TAG_PCM, 1, 8000, 16, None)), (b"data", vec![1; 33])]),
            riff(&[
                (b"fmt ", fmt_body(TAG_EXTENSIBLE, 1, 8000, 8, Some(TAG_ULAW))),
                (b"fact", vec![0; 4]),
                (b"data", vec![3; 20]),
            ]),
        ]
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_wav(p(), &bytes);
        }

        #[test]
        fn riff_prefixed_random_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut b = b"RIFF\x00\x00\x00\x00WAVE".to_vec();
            b.extend_from_slice(&tail);
            let _ = parse_wav(p(), &b);
        }

        #[test]
        fn mutated_headers_never_panic(
            which in 0usize..2,
            muts in proptest::collection::vec((0usize..80, any::<u8>()), 1..8),
            cut in 0usize..200,
        ) {
            let mut b = valid_files()[which].clone();
            for (i, v) in muts {
                if i < b.len() { b[i] = v; }
            }
            b.truncate(b.len().saturating_sub(cut % 40));
            if let Ok(s) = parse_wav(p(), &b) {
                prop_assert!(s.len() <= b.len());
            }
        }
    }
}
