//! PLACEHOLDER until the Q.921 module lands (same API).
use crate::time::Instant;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Te,
    Nt,
}
#[derive(Clone, Debug)]
pub struct Q921Config {
    pub t200: Duration,
    pub t203: Duration,
    pub n200: u32,
    pub k: u8,
    pub n201: usize,
    pub persistent: bool,
}
impl Default for Q921Config {
    fn default() -> Self {
        Q921Config {
            t200: Duration::from_secs(1),
            t203: Duration::from_secs(10),
            n200: 3,
            k: 7,
            n201: 260,
            persistent: true,
        }
    }
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DlEvent {
    Established,
    Released,
    Data(Vec<u8>),
    UnitData(Vec<u8>),
    MdlError(char),
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    TeiAssigned,
    MultipleFrameEstablished,
}
impl LinkState {
    pub fn name(&self) -> &'static str {
        "down"
    }
}
#[derive(Clone, Debug, Default)]
pub struct Q921Counters {}
pub struct Q921 {
    c: Q921Counters,
}
impl Q921 {
    pub fn new(_role: Role, _config: Q921Config) -> Q921 {
        todo!()
    }
    pub fn establish(&mut self, _now: Instant) {}
    pub fn release(&mut self, _now: Instant) {}
    pub fn send(&mut self, _now: Instant, _l3: Vec<u8>) {}
    pub fn handle_frame(&mut self, _now: Instant, _frame: &[u8]) {}
    pub fn physical_down(&mut self, _now: Instant) {}
    pub fn physical_up(&mut self, _now: Instant) {}
    pub fn handle_timeout(&mut self, _now: Instant) {}
    pub fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        None
    }
    pub fn poll_event(&mut self) -> Option<DlEvent> {
        None
    }
    pub fn state(&self) -> LinkState {
        LinkState::TeiAssigned
    }
    pub fn counters(&self) -> &Q921Counters {
        &self.c
    }
}
