//! Call recording without file I/O on the 20 ms media path.
//!
//! The media tick must never block on a disk, so it only sends messages to a
//! [`RecorderPool`], which owns one background writer thread holding every
//! open `hound::WavWriter`. Outcomes (finished, or failed: bad directory,
//! create failure, disk full) come back on a second channel that the engine
//! drains with [`RecorderPool::poll_done`] each tick.
//!
//! Every [`RecorderPool::open`] yields exactly one [`RecordingDone`]: on
//! [`RecorderPool::close`], at the first error (later frames for that id are
//! dropped and the close is absorbed), or at shutdown. A failing recording
//! never affects the others or the thread.
//!
//! The message channel is unbounded: if the disk stalls, frames queue in
//! memory (32 KB/s per stereo recording) instead of blocking calls.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};

/// Samples per 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
/// Recording sample rate (the media path's rate).
pub const RECORD_RATE: u32 = 8000;

/// How the two directions of a call are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordMode {
    /// One channel: caller and gateway audio summed, saturating at i16 limits.
    Mono,
    /// Two channels: left = received from the line (caller), right = sent.
    Stereo,
}

impl RecordMode {
    fn channels(self) -> u16 {
        match self {
            RecordMode::Mono => 1,
            RecordMode::Stereo => 2,
        }
    }
}

/// The outcome of one recording, reported exactly once per `open`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingDone {
    /// The id given to [`RecorderPool::open`].
    pub id: u64,
    /// The file written (possibly partial or absent on error).
    pub path: PathBuf,
    /// Sample frames per channel written, i.e. 8000 per second of audio.
    pub samples: u64,
    /// `Err` carries a message naming the path and the cause.
    pub result: Result<(), String>,
}

// Frames are nearly all the traffic, so the enum's size is not wasted, and
// boxing them would be exactly the per-frame allocation this design avoids.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Open {
        id: u64,
        path: PathBuf,
        mode: RecordMode,
    },
    /// Copied by value so the sender never allocates per frame itself.
    Frame {
        id: u64,
        rx: [i16; FRAME_SAMPLES],
        tx: [i16; FRAME_SAMPLES],
    },
    Close {
        id: u64,
    },
    Shutdown,
}

/// Owner of the recording writer thread; see the module docs.
pub struct RecorderPool {
    tx: Sender<Msg>,
    done: Receiver<RecordingDone>,
    thread: Option<JoinHandle<()>>,
}

impl RecorderPool {
    /// Start the writer thread. Fails only if the OS refuses a thread.
    pub fn new() -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        let thread =
            std::thread::Builder::new().name("trunkd-recorder".into()).spawn(move || writer_thread(rx, done_tx))?;
        Ok(Self { tx, done, thread: Some(thread) })
    }

    /// Start recording call `id` into `path` (parent directories are created).
    ///
    /// Reusing an id that is still open is reported as an error for the new
    /// request; the running recording is left untouched.
    pub fn open(&self, id: u64, path: PathBuf, mode: RecordMode) {
        // A send error means the thread is gone (only after shutdown):
        // nothing useful to do on the media path.
        let _ = self.tx.send(Msg::Open { id, path, mode });
    }

    /// Queue one 20 ms frame: `rx` heard from the line, `tx` sent to it.
    pub fn frame(&self, id: u64, rx: &[i16; FRAME_SAMPLES], tx: &[i16; FRAME_SAMPLES]) {
        let _ = self.tx.send(Msg::Frame { id, rx: *rx, tx: *tx });
    }

    /// Finish recording `id`; its [`RecordingDone`] follows via `poll_done`.
    pub fn close(&self, id: u64) {
        let _ = self.tx.send(Msg::Close { id });
    }

    /// Next finished recording, if any; never blocks.
    pub fn poll_done(&self) -> Option<RecordingDone> {
        self.done.try_recv().ok()
    }

    /// Finalize every open recording (so WAV headers are valid), stop the
    /// thread, and return all outcomes not yet taken with `poll_done`.
    pub fn shutdown(mut self) -> Vec<RecordingDone> {
        self.stop();
        self.done.try_iter().collect()
    }

    fn stop(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = self.tx.send(Msg::Shutdown);
            // The thread does not panic by design; if it somehow did, there
            // is nothing left to finalize, so the join error is ignored.
            let _ = thread.join();
        }
    }
}

impl Drop for RecorderPool {
    /// Dropping without `shutdown` still finalizes files; outcomes are lost.
    fn drop(&mut self) {
        self.stop();
    }
}

/// Mix caller and gateway audio into one channel, clipping instead of
/// wrapping so loud overlaps distort rather than turn into noise bursts.
pub fn mix_saturating(rx: &[i16; FRAME_SAMPLES], tx: &[i16; FRAME_SAMPLES]) -> [i16; FRAME_SAMPLES] {
    let mut out = [0i16; FRAME_SAMPLES];
    for ((o, &a), &b) in out.iter_mut().zip(rx).zip(tx) {
        *o = a.saturating_add(b);
    }
    out
}

type Writer = hound::WavWriter<BufWriter<File>>;

struct Recording {
    path: PathBuf,
    mode: RecordMode,
    /// `None` once failed: frames are dropped until the close arrives.
    writer: Option<Writer>,
    samples: u64,
}

fn writer_thread(rx: Receiver<Msg>, done: Sender<RecordingDone>) {
    let mut recs: HashMap<u64, Recording> = HashMap::new();
    // Send errors on `done` mean the pool was dropped; keep going so files
    // are still finalized.
    for msg in &rx {
        match msg {
            Msg::Open { id, path, mode } => {
                if recs.contains_key(&id) {
                    let _ = done.send(RecordingDone {
                        id,
                        result: Err(format!("{}: recording id {id} is already open", path.display())),
                        path,
                        samples: 0,
                    });
                    continue;
                }
                let writer = match create(&path, mode) {
                    Ok(w) => Some(w),
                    Err(e) => {
                        let _ = done.send(RecordingDone { id, path: path.clone(), samples: 0, result: Err(e) });
                        None
                    }
                };
                recs.insert(id, Recording { path, mode, writer, samples: 0 });
            }
            Msg::Frame { id, rx, tx } => {
                let Some(rec) = recs.get_mut(&id) else {
                    continue;
                };
                let Some(w) = rec.writer.as_mut() else {
                    continue;
                };
                match write_frame(w, rec.mode, &rx, &tx) {
                    Ok(()) => rec.samples += FRAME_SAMPLES as u64,
                    Err(e) => {
                        // Report now, keep the partial file (finalize is best
                        // effort) and absorb the rest of this recording.
                        if let Some(w) = rec.writer.take() {
                            let _ = w.finalize();
                        }
                        let _ = done.send(RecordingDone {
                            id,
                            path: rec.path.clone(),
                            samples: rec.samples,
                            result: Err(format!("{}: write failed: {e}", rec.path.display())),
                        });
                    }
                }
            }
            Msg::Close { id } => {
                if let Some(rec) = recs.remove(&id) {
                    if let Some(d) = finish(id, rec) {
                        let _ = done.send(d);
                    }
                }
            }
            Msg::Shutdown => break,
        }
    }
    for (id, rec) in recs.drain() {
        if let Some(d) = finish(id, rec) {
            let _ = done.send(d);
        }
    }
}

fn create(path: &std::path::Path, mode: RecordMode) -> Result<Writer, String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: cannot create directory: {e}", parent.display()))?;
    }
    let spec = hound::WavSpec {
        channels: mode.channels(),
        sample_rate: RECORD_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    hound::WavWriter::create(path, spec).map_err(|e| format!("{}: cannot create recording: {e}", path.display()))
}

fn write_frame(
    w: &mut Writer,
    mode: RecordMode,
    rx: &[i16; FRAME_SAMPLES],
    tx: &[i16; FRAME_SAMPLES],
) -> hound::Result<()> {
    match mode {
        RecordMode::Mono => {
            for s in mix_saturating(rx, tx) {
                w.write_sample(s)?;
            }
        }
        RecordMode::Stereo => {
            for (&l, &r) in rx.iter().zip(tx) {
                w.write_sample(l)?;
                w.write_sample(r)?;
            }
        }
    }
    Ok(())
}

/// Finalize a recording; `None` if it already reported its failure.
fn finish(id: u64, rec: Recording) -> Option<RecordingDone> {
    let w = rec.writer?;
    let result = w.finalize().map_err(|e| format!("{}: finalizing failed: {e}", rec.path.display()));
    Some(RecordingDone { id, path: rec.path, samples: rec.samples, result })
}

#[cfg(test)]
// The tests wait (bounded) for the writer thread, which really runs in time.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Wait (bounded) for the next outcome.
    fn wait_done(pool: &RecorderPool) -> RecordingDone {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(d) = pool.poll_done() {
                return d;
            }
            assert!(Instant::now() < until, "no RecordingDone within 10 s");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn read_all(path: &std::path::Path) -> (hound::WavSpec, Vec<i16>) {
        let mut r = hound::WavReader::open(path).unwrap();
        let spec = r.spec();
        let s = r.samples::<i16>().collect::<Result<Vec<_>, _>>().unwrap();
        (spec, s)
    }

    #[test]
    fn mode_serde_is_kebab_case() {
        assert_eq!(serde_json::to_string(&RecordMode::Stereo).unwrap(), "\"stereo\"");
        let m: RecordMode = serde_json::from_str("\"mono\"").unwrap();
        assert_eq!(m, RecordMode::Mono);
    }

    #[test]
    fn mix_saturates() {
        let mut rx = [0i16; FRAME_SAMPLES];
        let mut tx = [0i16; FRAME_SAMPLES];
        rx[0] = 30000;
        tx[0] = 10000;
        rx[1] = -30000;
        tx[1] = -10000;
        rx[2] = 100;
        tx[2] = -300;
        let m = mix_saturating(&rx, &tx);
        assert_eq!(&m[..4], &[i16::MAX, i16::MIN, -200, 0]);
    }

    #[test]
    fn mono_recording_is_mixed_and_one_second_is_8000_frames() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls/2024/mono.wav");
        let pool = RecorderPool::new().unwrap();
        pool.open(1, path.clone(), RecordMode::Mono);
        let rx = [30000i16; FRAME_SAMPLES];
        let tx = [10000i16; FRAME_SAMPLES];
        for _ in 0..50 {
            pool.frame(1, &rx, &tx);
        }
        pool.close(1);
        let d = wait_done(&pool);
        assert_eq!(d, RecordingDone { id: 1, path: path.clone(), samples: 8000, result: Ok(()) });
        let (spec, s) = read_all(&path);
        assert_eq!((spec.channels, spec.sample_rate, spec.bits_per_sample), (1, 8000, 16));
        assert_eq!(s.len(), 8000);
        assert!(s.iter().all(|&x| x == i16::MAX));
        assert_eq!(hound::WavReader::open(&path).unwrap().duration(), 8000);
    }

    #[test]
    fn stereo_puts_received_left_and_sent_right() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("st.wav");
        let pool = RecorderPool::new().unwrap();
        pool.open(7, path.clone(), RecordMode::Stereo);
        let rx: [i16; FRAME_SAMPLES] = std::array::from_fn(|i| i as i16);
        let tx: [i16; FRAME_SAMPLES] = std::array::from_fn(|i| -(i as i16) - 1000);
        pool.frame(7, &rx, &tx);
        pool.frame(99, &rx, &tx); // unknown id: ignored
        pool.close(7);
        let d = wait_done(&pool);
        assert_eq!((d.id, d.samples, d.result), (7, 160, Ok(())));
        let (spec, s) = read_all(&path);
        assert_eq!(spec.channels, 2);
        assert_eq!(s.len(), 320);
        for i in 0..FRAME_SAMPLES {
            assert_eq!(s[2 * i], rx[i], "left = received");
            assert_eq!(s[2 * i + 1], tx[i], "right = sent");
        }
    }

    #[test]
    fn unwritable_path_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        // A regular file where a directory is needed fails even for root.
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, b"x").unwrap();
        let bad = blocker.join("sub/rec.wav");
        let good = dir.path().join("good.wav");
        let pool = RecorderPool::new().unwrap();
        pool.open(1, bad.clone(), RecordMode::Mono);
        pool.open(2, good.clone(), RecordMode::Mono);
        let f = [1i16; FRAME_SAMPLES];
        for _ in 0..10 {
            pool.frame(1, &f, &f);
            pool.frame(2, &f, &f);
        }
        pool.close(1);
        pool.close(2);
        let d1 = wait_done(&pool);
        assert_eq!((d1.id, &d1.path, d1.samples), (1, &bad, 0));
        let err = d1.result.unwrap_err();
        assert!(err.contains("cannot create directory"), "{err}");
        let d2 = wait_done(&pool);
        assert_eq!((d2.id, d2.samples, d2.result), (2, 1600, Ok(())));
        assert_eq!(read_all(&good).1, vec![2i16; 1600]);
        assert!(pool.shutdown().is_empty(), "exactly one outcome per open");
    }

    #[test]
    fn disk_full_is_reported_not_fatal() {
        let full = std::path::Path::new("/dev/full");
        if !full.exists() {
            return; // not on Linux-like systems
        }
        let dir = tempfile::tempdir().unwrap();
        let pool = RecorderPool::new().unwrap();
        pool.open(1, full.to_path_buf(), RecordMode::Stereo);
        let f = [3i16; FRAME_SAMPLES];
        // Enough to overflow hound's write buffer and hit ENOSPC.
        for _ in 0..100 {
            pool.frame(1, &f, &f);
        }
        pool.close(1);
        let d = wait_done(&pool);
        assert_eq!(d.id, 1);
        assert!(d.result.is_err(), "{d:?}");
        // The thread survives for later recordings.
        let ok = dir.path().join("after.wav");
        pool.open(2, ok.clone(), RecordMode::Mono);
        pool.frame(2, &f, &f);
        pool.close(2);
        assert_eq!(wait_done(&pool).result, Ok(()));
        assert!(pool.shutdown().is_empty());
    }

    #[test]
    fn duplicate_open_is_rejected_and_first_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.wav");
        let pool = RecorderPool::new().unwrap();
        pool.open(5, a.clone(), RecordMode::Mono);
        pool.open(5, dir.path().join("b.wav"), RecordMode::Mono);
        let d = wait_done(&pool);
        assert!(d.result.unwrap_err().contains("already open"));
        pool.frame(5, &[1; FRAME_SAMPLES], &[0; FRAME_SAMPLES]);
        let rest = pool.shutdown();
        assert_eq!(rest.len(), 1);
        assert_eq!((&rest[0].path, rest[0].samples), (&a, 160));
    }

    #[test]
    fn shutdown_finalizes_open_recordings() {
        let dir = tempfile::tempdir().unwrap();
        let pool = RecorderPool::new().unwrap();
        let paths: Vec<PathBuf> = (0..3).map(|i| dir.path().join(format!("r{i}.wav"))).collect();
        for (i, p) in paths.iter().enumerate() {
            pool.open(i as u64, p.clone(), RecordMode::Stereo);
            for _ in 0..=i {
                pool.frame(i as u64, &[4; FRAME_SAMPLES], &[5; FRAME_SAMPLES]);
            }
        }
        let mut done = pool.shutdown();
        done.sort_by_key(|d| d.id);
        assert_eq!(done.len(), 3);
        for (i, d) in done.iter().enumerate() {
            assert_eq!(d.result, Ok(()));
            assert_eq!(d.samples, 160 * (i as u64 + 1));
            let r = hound::WavReader::open(&paths[i]).unwrap();
            assert_eq!(r.duration(), 160 * (i as u32 + 1), "header finalized");
        }
    }

    #[test]
    fn drop_also_finalizes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.wav");
        {
            let pool = RecorderPool::new().unwrap();
            pool.open(1, p.clone(), RecordMode::Mono);
            pool.frame(1, &[1; FRAME_SAMPLES], &[1; FRAME_SAMPLES]);
        }
        assert_eq!(hound::WavReader::open(&p).unwrap().duration(), 160);
    }
}
