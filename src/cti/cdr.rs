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
        if let Ok(f) = File::open(&path) {
            for (n, line) in BufReader::new(f).lines().enumerate() {
                let Ok(line) = line else { break };
                let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(&line) else { continue };
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
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(io)?;
        let mut orphans: Vec<(usize, Map<String, Value>)> = open.into_values().collect();
        orphans.sort_by_key(|(n, _)| *n);
        Ok((CdrStore { path, file }, orphans.into_iter().map(|(_, m)| m).collect()))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Notes a leg's start (no fsync: it guards against the daemon dying, not the machine).
    pub fn note_open(&mut self, opened: &Map<String, Value>) -> Result<(), CdrError> {
        let line = serde_json::json!({ "open": opened }).to_string();
        writeln!(self.file, "{line}").map_err(|source| CdrError::Io { path: self.path.clone(), source })
    }

    /// Writes a leg's record durably.
    pub fn write(&mut self, cdr: &Map<String, Value>) -> Result<(), CdrError> {
        let io = |source| CdrError::Io { path: self.path.clone(), source };
        writeln!(self.file, "{}", Value::Object(cdr.clone())).map_err(io)?;
        self.file.sync_data().map_err(io)
    }

    /// Records whose `seq` is greater than `since`, oldest first, at most `limit`.
    pub fn query(&self, since: u64, limit: usize) -> Result<Vec<Value>, CdrError> {
        let f = File::open(&self.path).map_err(|source| CdrError::Io { path: self.path.clone(), source })?;
        let mut out = Vec::new();
        for line in BufReader::new(f).lines() {
            let Ok(line) = line else { break };
            let Ok(v) = serde_json::from_str::<Value>(&line) else { continue };
            if v.get("open").is_none() && v.get("seq").and_then(|s| s.as_u64()).is_some_and(|s| s > since) {
                out.push(v);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }
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
}
