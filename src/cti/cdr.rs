//! Call detail records on disk: one JSON line per leg in `<data_dir>/cdr/cdr.jsonl`,
//! fsync'd before the leg's `call.ended` is published. A leg's start is noted in the same
//! file (an `open` line), so legs that were up when the daemon died are found at the next
//! start and get their record then.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CdrError {
    #[error("call records {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

pub struct CdrStore {
    path: PathBuf,
    file: File,
}

impl CdrStore {
    /// Opens (creating) the store under `dir`; returns it with the legs that were opened
    /// but never closed (the daemon died with them up), oldest first.
    pub fn open(dir: &Path) -> Result<(CdrStore, Vec<Map<String, Value>>), CdrError> {
        let path = dir.join("cdr.jsonl");
        let io = |source| CdrError::Io { path: path.clone(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut open: BTreeMap<String, (usize, Map<String, Value>)> = BTreeMap::new();
        for (n, line) in read_lines(&path).enumerate() {
            {
                let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(&line) else { continue };
                let leg = |m: &Map<String, Value>| m.get("leg_id").and_then(|v| v.as_str()).unwrap_or("").to_string();
                match m.remove("open") {
                    Some(Value::Object(o)) => {
                        open.insert(leg(&o), (n, o));
                    }
                    _ => {
                        open.remove(&leg(&m));
                    }
                }
            }
        }
        let mut file = OpenOptions::new().create(true).append(true).open(&path).map_err(io)?;
        // A line torn by a crash must not swallow the next record.
        let ends_clean = last_byte(&path).is_none_or(|c| c == b'\n');
        if !ends_clean {
            file.write_all(b"\n").map_err(io)?;
        }
        let mut orphans: Vec<(usize, Map<String, Value>)> = open.into_values().collect();
        orphans.sort_by_key(|(n, _)| *n);
        Ok((CdrStore { path, file }, orphans.into_iter().map(|(_, m)| m).collect()))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Notes a leg's start (no fsync: it guards against the daemon dying, not the machine).
    pub fn note_open(&mut self, opened: &Map<String, Value>) -> Result<(), CdrError> {
        let line = serde_json::json!({ "open": opened }).to_string() + "\n";
        self.file.write_all(line.as_bytes()).map_err(|source| CdrError::Io { path: self.path.clone(), source })
    }

    /// Writes a leg's record durably.
    pub fn write(&mut self, cdr: &Map<String, Value>) -> Result<(), CdrError> {
        let io = |source| CdrError::Io { path: self.path.clone(), source };
        // One write per line: a crash cannot interleave half a record with the next.
        let line = Value::Object(cdr.clone()).to_string() + "\n";
        self.file.write_all(line.as_bytes()).map_err(io)?;
        self.file.sync_data().map_err(io)
    }

    pub fn query(&self, since: u64, limit: usize) -> Result<Vec<Value>, CdrError> {
        query(&self.path, since, limit)
    }
}

/// Records in `path` whose `seq` is greater than `since`, oldest first, at most `limit`.
pub fn query(path: &Path, since: u64, limit: usize) -> Result<Vec<Value>, CdrError> {
    if let Err(source) = File::open(path) {
        return Err(CdrError::Io { path: path.to_path_buf(), source });
    }
    let mut out = Vec::new();
    for line in read_lines(path) {
        let Ok(v) = serde_json::from_slice::<Value>(&line) else { continue };
        if v.get("open").is_none() && v.get("seq").and_then(|s| s.as_u64()).is_some_and(|s| s > since) {
            out.push(v);
            if out.len() >= limit {
                break;
            }
        }
    }
    Ok(out)
}

/// The file's last byte (without reading the rest of it).
fn last_byte(path: &Path) -> Option<u8> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = File::open(path).ok()?;
    f.seek(SeekFrom::End(-1)).ok()?;
    let mut b = [0u8];
    f.read_exact(&mut b).ok()?;
    Some(b[0])
}

/// The file's lines as bytes, streamed (a torn or non-UTF-8 line is skipped by its
/// parser, not the end of reading).
fn read_lines(path: &Path) -> impl Iterator<Item = Vec<u8>> {
    let mut r = File::open(path).ok().map(BufReader::new);
    std::iter::from_fn(move || {
        let r = r.as_mut()?;
        let mut line = Vec::new();
        match r.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn orphans_are_found_and_queries_skip_markers() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut s, orphans) = CdrStore::open(dir.path()).unwrap();
            assert!(orphans.is_empty());
            s.note_open(&obj(json!({ "leg_id": "a-1" }))).unwrap();
            s.note_open(&obj(json!({ "leg_id": "a-2" }))).unwrap();
            s.write(&obj(json!({ "leg_id": "a-1", "seq": 5 }))).unwrap();
            s.note_open(&obj(json!({ "leg_id": "a-3" }))).unwrap();
        }
        let (s, orphans) = CdrStore::open(dir.path()).unwrap();
        let legs: Vec<_> = orphans.iter().map(|o| o["leg_id"].as_str().unwrap().to_string()).collect();
        assert_eq!(legs, ["a-2", "a-3"]);
        let q = s.query(0, 10).unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(q[0]["leg_id"], "a-1");
        assert!(s.query(5, 10).unwrap().is_empty());
    }

    #[test]
    fn a_torn_line_hides_nothing() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut s, _) = CdrStore::open(dir.path()).unwrap();
            s.write(&obj(json!({ "leg_id": "a-1", "seq": 1 }))).unwrap();
        }
        // A crash in the middle of a record, inside a multi-byte character.
        let path = dir.path().join("cdr.jsonl");
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"leg_id\":\"\xe7\x8e").unwrap();
        let (mut s, orphans) = CdrStore::open(dir.path()).unwrap();
        assert!(orphans.is_empty());
        s.write(&obj(json!({ "leg_id": "a-2", "seq": 2 }))).unwrap();
        let legs: Vec<_> = s.query(0, 10).unwrap().iter().map(|v| v["leg_id"].as_str().unwrap().to_string()).collect();
        assert_eq!(legs, ["a-1", "a-2"]);
    }
}
