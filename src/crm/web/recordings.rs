//! `/recordings/{leg_id}`: the leg's recording, only from under the recordings directory.
//! Browsers do not play G.711 WAV, so A-law/µ-law files are decoded to PCM16 on the fly.

use super::{AppState, Page, WebError};
use crate::crm::db;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;

pub async fn serve(State(st): State<AppState>, p: Page, Path(leg_id): Path<String>) -> Result<Response, WebError> {
    let l = p.lang;
    let Some(dir) = &st.recordings_dir else { return Err(WebError::NotFound(l)) };
    let call = db::call_by_leg(&st.pool, &leg_id).await?.ok_or(WebError::NotFound(l))?;
    let path = call.recording.ok_or(WebError::NotFound(l))?;
    // Canonical paths: `..` and symlinks cannot lead out of the directory.
    let (Ok(dir), Ok(file)) = (tokio::fs::canonicalize(dir).await, tokio::fs::canonicalize(&path).await) else {
        return Err(WebError::NotFound(l));
    };
    if !file.starts_with(&dir) {
        tracing::warn!(user = %p.sess.user.login, leg_id, "crm: recording path outside the recordings directory refused");
        return Err(WebError::Forbidden(l));
    }
    let bytes = tokio::fs::read(&file).await.map_err(|_| WebError::NotFound(l))?;
    let body = match to_browser_wav(&bytes) {
        Ok(Cow::Owned(v)) => v,
        Ok(Cow::Borrowed(_)) | Err(_) => bytes,
    };
    Ok(([(CONTENT_TYPE, "audio/wav"), (CACHE_CONTROL, "private, max-age=3600")], body).into_response())
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WavError {
    #[error("not a RIFF/WAVE file")]
    NotWave,
    #[error("no fmt or data chunk")]
    MissingChunk,
}

const FMT_ALAW: u16 = 6;
const FMT_MULAW: u16 = 7;

fn u16le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// A G.711 WAV decoded to a PCM16 WAV; any other WAV borrowed unchanged.
pub fn to_browser_wav(b: &[u8]) -> Result<Cow<'_, [u8]>, WavError> {
    if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WAVE" {
        return Err(WavError::NotWave);
    }
    let mut at = 12;
    let mut fmt: Option<(u16, u16, u32)> = None;
    let mut data: Option<&[u8]> = None;
    while at + 8 <= b.len() {
        let id = &b[at..at + 4];
        let size = u32le(b, at + 4).ok_or(WavError::MissingChunk)? as usize;
        let body_start = at + 8;
        // A recording cut short by a crash can claim more data than there is.
        let body_end = body_start.saturating_add(size).min(b.len());
        let body = &b[body_start..body_end];
        match id {
            b"fmt " => {
                let tag = u16le(body, 0).ok_or(WavError::MissingChunk)?;
                let channels = u16le(body, 2).ok_or(WavError::MissingChunk)?;
                let rate = u32le(body, 4).ok_or(WavError::MissingChunk)?;
                fmt = Some((tag, channels, rate));
            }
            b"data" => data = Some(body),
            _ => {}
        }
        at = body_start.saturating_add(size).saturating_add(size & 1);
    }
    let ((tag, channels, rate), data) = (fmt.ok_or(WavError::MissingChunk)?, data.ok_or(WavError::MissingChunk)?);
    let decode: fn(u8) -> i16 = match tag {
        FMT_ALAW => alaw_to_linear,
        FMT_MULAW => ulaw_to_linear,
        _ => return Ok(Cow::Borrowed(b)),
    };
    // Header fields come from the file: keep them sane rather than trust their arithmetic.
    let channels = channels.clamp(1, 8);
    let rate = rate.clamp(1, 192_000);
    let Ok(data_len) = u32::try_from(data.len().saturating_mul(2)) else { return Ok(Cow::Borrowed(b)) };
    let mut out = Vec::with_capacity(44 + data.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&data_len.saturating_add(36).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2 * u32::from(channels)).to_le_bytes());
    out.extend_from_slice(&(2 * channels).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for &x in data {
        out.extend_from_slice(&decode(x).to_le_bytes());
    }
    Ok(Cow::Owned(out))
}

/// ITU-T G.711 A-law to 16-bit linear.
pub fn alaw_to_linear(a: u8) -> i16 {
    let a = a ^ 0x55;
    let mut t = i16::from(a & 0x0f) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    if a & 0x80 != 0 {
        t
    } else {
        -t
    }
}

/// ITU-T G.711 µ-law to 16-bit linear.
pub fn ulaw_to_linear(u: u8) -> i16 {
    let u = !u;
    let t = ((i16::from(u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
    if u & 0x80 != 0 {
        0x84 - t
    } else {
        t - 0x84
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g711_reference_points() {
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        // Every code decodes (no overflow panics) and A-law is odd-symmetric.
        for c in 0..=255u8 {
            assert_eq!(alaw_to_linear(c), -alaw_to_linear(c ^ 0x80));
            let _ = ulaw_to_linear(c);
        }
    }

    #[test]
    fn rejects_and_passes_through() {
        assert_eq!(to_browser_wav(b"nope"), Err(WavError::NotWave));
        assert_eq!(to_browser_wav(b"RIFF\0\0\0\0WAVE"), Err(WavError::MissingChunk));
        let mut pcm =
            b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0data\0\0\0\0".to_vec();
        assert!(matches!(to_browser_wav(&pcm), Ok(Cow::Borrowed(_))));
        pcm[20] = 6;
        pcm.extend_from_slice(&[0xD5]);
        pcm[40] = 5; // claims more data than present
        let out = to_browser_wav(&pcm).expect("alaw");
        assert_eq!(u16le(&out, 20), Some(1));
        assert_eq!(u16le(&out, 34), Some(16));
        assert_eq!(u32le(&out, 40), Some(2));
        assert_eq!(out.len(), 46);
        assert_eq!(i16::from_le_bytes([out[44], out[45]]), 8);
    }
}
