//! Push fan-out: the open agent desktops (per user) and the supervisors' live views.
//!
//! Pops are stored before they are pushed, so a desktop that is not connected loses
//! nothing: it gets every unacknowledged pop when it (re)connects.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tokio::sync::{broadcast, mpsc};

/// A message for one desktop socket (JSON text).
pub type DesktopTx = mpsc::UnboundedSender<String>;

pub struct Hub {
    next: AtomicU64,
    desktops: Mutex<HashMap<i64, Vec<(u64, DesktopTx)>>>,
    live: broadcast::Sender<String>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub { next: AtomicU64::new(1), desktops: Mutex::new(HashMap::new()), live: broadcast::channel(1024).0 }
    }
}

impl Hub {
    /// Registers a desktop socket of `user_id`; the id unregisters it.
    pub fn register(&self, user_id: i64, tx: DesktopTx) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.desktops.lock() {
            m.entry(user_id).or_default().push((id, tx));
        }
        id
    }

    pub fn unregister(&self, user_id: i64, conn: u64) {
        if let Ok(mut m) = self.desktops.lock() {
            if let Some(v) = m.get_mut(&user_id) {
                v.retain(|(id, _)| *id != conn);
                if v.is_empty() {
                    m.remove(&user_id);
                }
            }
        }
    }

    /// Sends to every open desktop of the user; returns how many took it.
    pub fn send_to_user(&self, user_id: i64, msg: &str) -> usize {
        let Ok(mut m) = self.desktops.lock() else { return 0 };
        let Some(v) = m.get_mut(&user_id) else { return 0 };
        v.retain(|(_, tx)| tx.send(msg.to_string()).is_ok());
        v.len()
    }

    pub fn desktops_open(&self, user_id: i64) -> usize {
        self.desktops.lock().map(|m| m.get(&user_id).map_or(0, Vec::len)).unwrap_or(0)
    }

    /// Live-view updates (a dropped message only means no live view is open).
    pub fn publish_live(&self, msg: String) {
        let _ = self.live.send(msg);
    }

    pub fn live_watchers(&self) -> usize {
        self.live.receiver_count()
    }

    pub fn subscribe_live(&self) -> broadcast::Receiver<String> {
        self.live.subscribe()
    }
}
