//! The retained window of CTI events: sequence numbers, resume, and the file that carries
//! both across daemon restarts (JSON lines, compacted to the window now and then).

use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One published event: its number, what filters look at, and its JSON text.
#[derive(Debug)]
pub struct Record {
    pub seq: u64,
    pub kind: String,
    pub device: String,
    pub json: String,
}

/// What a resume asked for is partly gone: events `from..=to` are lost to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    pub from: u64,
    pub to: u64,
}

pub struct Journal {
    ring: VecDeque<Arc<Record>>,
    cap: usize,
    seq: u64,
    file: Option<(PathBuf, BufWriter<File>)>,
    since_compact: usize,
}

fn record(seq: u64, m: &Map<String, Value>, json: String) -> Record {
    let s = |k: &str| m.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    Record { seq, kind: s("type"), device: s("device"), json }
}

impl Journal {
    /// A window of `cap` events, kept in memory only.
    pub fn in_memory(cap: usize) -> Journal {
        Journal { ring: VecDeque::new(), cap: cap.max(1), seq: 0, file: None, since_compact: 0 }
    }

    /// A window of `cap` events backed by `path`: what the file holds (a torn last line
    /// after a crash is skipped) is the window, and numbering continues after it.
    pub fn open(path: &Path, cap: usize) -> std::io::Result<Journal> {
        let mut j = Journal::in_memory(cap);
        if let Ok(f) = File::open(path) {
            let mut r = BufReader::new(f);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                if r.read_until(b'\n', &mut buf)? == 0 {
                    break;
                }
                // A line torn by a crash (even mid-character) is skipped, not fatal.
                let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&buf) else { continue };
                let Ok(line) = String::from_utf8(buf.strip_suffix(b"\n").unwrap_or(&buf).to_vec()) else { continue };
                let Some(seq) = m.get("seq").and_then(|s| s.as_u64()) else { continue };
                if seq <= j.seq {
                    continue;
                }
                j.seq = seq;
                j.ring.push_back(Arc::new(record(seq, &m, line)));
                if j.ring.len() > j.cap {
                    j.ring.pop_front();
                }
            }
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let f = OpenOptions::new().create(true).append(true).open(path)?;
        j.file = Some((path.to_path_buf(), BufWriter::new(f)));
        j.compact()?;
        Ok(j)
    }

    /// Numbers and stores an event; returns what subscribers get.
    pub fn push(&mut self, mut ev: Map<String, Value>) -> Arc<Record> {
        self.seq += 1;
        ev.insert("seq".into(), Value::from(self.seq));
        let json = Value::Object(ev.clone()).to_string();
        let rec = Arc::new(record(self.seq, &ev, json));
        if let Some((path, w)) = &mut self.file {
            if let Err(e) = w.write_all(rec.json.as_bytes()).and_then(|_| w.write_all(b"\n")) {
                tracing::error!(path = %path.display(), "CTI journal write: {e}");
            }
        }
        self.ring.push_back(rec.clone());
        if self.ring.len() > self.cap {
            self.ring.pop_front();
        }
        self.since_compact += 1;
        if self.since_compact >= self.cap {
            if let Err(e) = self.compact() {
                tracing::error!("CTI journal compaction: {e}");
            }
        }
        rec
    }

    /// Rewrites the file to hold only the window (atomic rename).
    fn compact(&mut self) -> std::io::Result<()> {
        self.since_compact = 0;
        let Some((path, w)) = &mut self.file else { return Ok(()) };
        w.flush()?;
        let tmp = path.with_extension("tmp");
        {
            let mut t = BufWriter::new(File::create(&tmp)?);
            for r in &self.ring {
                writeln!(t, "{}", r.json)?;
            }
            t.flush()?;
        }
        std::fs::rename(&tmp, &*path)?;
        *w = BufWriter::new(OpenOptions::new().append(true).open(&*path)?);
        Ok(())
    }

    /// Hands buffered lines to the kernel (once per tick: a daemon crash loses nothing
    /// already published).
    pub fn flush(&mut self) {
        if let Some((_, w)) = &mut self.file {
            let _ = w.flush();
        }
    }

    pub fn last_seq(&self) -> u64 {
        self.seq
    }

    /// The oldest event still held (`last_seq + 1` when none).
    pub fn oldest_seq(&self) -> u64 {
        self.ring.front().map(|r| r.seq).unwrap_or(self.seq + 1)
    }

    /// Events after `after`, and the gap before them when some are no longer held.
    pub fn since(&self, after: u64) -> (Option<Gap>, Vec<Arc<Record>>) {
        let oldest = self.oldest_seq();
        let gap =
            (after.saturating_add(1) < oldest && after < self.seq).then(|| Gap { from: after + 1, to: oldest - 1 });
        let events = self.ring.iter().filter(|r| r.seq > after).cloned().collect();
        (gap, events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(n: u64) -> Map<String, Value> {
        match json!({ "type": "call.offered", "device": format!("pri-1/{n}") }) {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn window_resume_and_gap() {
        let mut j = Journal::in_memory(3);
        for n in 1..=5 {
            assert_eq!(j.push(ev(n)).seq, n);
        }
        assert_eq!(j.oldest_seq(), 3);
        let (gap, evs) = j.since(3);
        assert_eq!(gap, None);
        assert_eq!(evs.iter().map(|r| r.seq).collect::<Vec<_>>(), [4, 5]);
        let (gap, evs) = j.since(0);
        assert_eq!(gap, Some(Gap { from: 1, to: 2 }));
        assert_eq!(evs.len(), 3);
        let (gap, evs) = j.since(5);
        assert_eq!((gap, evs.len()), (None, 0));
        assert!(j.since(4).1[0].json.contains("\"seq\":5"));
    }

    #[test]
    fn survives_restart_and_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cti/events.jsonl");
        {
            let mut j = Journal::open(&path, 4).unwrap();
            for n in 1..=6 {
                j.push(ev(n));
            }
            j.flush();
        }
        // A crash in the middle of a line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"seq\":7,\"from\":\"\xe7\x8e")
            .unwrap();
        let mut j = Journal::open(&path, 4).unwrap();
        assert_eq!(j.last_seq(), 6);
        assert_eq!(j.oldest_seq(), 3);
        assert_eq!(j.push(ev(7)).seq, 7);
        assert_eq!(j.since(5).1.iter().map(|r| r.seq).collect::<Vec<_>>(), [6, 7]);
        assert_eq!(j.since(6).1[0].device, "pri-1/7");
    }
}
