//! PRI switch profiles as data (`profiles.toml`): what differs between EuroISDN, China's
//! national variant and, later, QSIG or NI-2 is timers, numbering, display handling,
//! mandatory elements and optional procedures, not code paths.

use serde::Deserialize;
use std::collections::BTreeMap;

use super::q931::ie::{id, NumberingPlan, TypeOfNumber};
use super::q931::MessageType;

const BUILTIN: &str = include_str!("profiles.toml");

/// One switch variant.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriProfile {
    pub name: String,
    pub description: String,
    /// Answer a SETUP without Sending complete with SETUP ACKNOWLEDGE and collect the
    /// rest of the number from INFORMATION messages (until Sending complete, `#` or T302).
    pub overlap_receiving: bool,
    /// Send SETUP without the called number and the digits in INFORMATION afterwards.
    pub overlap_sending: bool,
    /// Put Sending complete in an en-bloc SETUP.
    pub send_sending_complete: bool,
    /// RESTART the interface when the D-channel first comes up (clears stale calls the
    /// peer may still hold from before we started).
    pub restart_on_start: bool,
    /// As the network side, announce in-band ringback (progress #8) with ALERTING.
    pub inband_ringback_nt: bool,
    pub timers: Timers,
    pub link: LinkTimers,
    pub numbering: Numbering,
    pub display: DisplayRules,
    /// Message name → elements it must carry when received (cause 96 when missing).
    pub mandatory: BTreeMap<String, Vec<String>>,
}

/// Q.931 timers, ms.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timers {
    pub t301: u32,
    pub t302: u32,
    pub t303: u32,
    pub t304: u32,
    pub t305: u32,
    pub t308: u32,
    pub t309: u32,
    pub t310: u32,
    pub t313: u32,
    pub t316: u32,
    pub t322: u32,
    pub n316: u32,
}

/// Q.921 parameters.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkTimers {
    pub t200: u32,
    pub t203: u32,
    pub n200: u32,
    pub k: u8,
}

/// How numbers are typed on the wire and made dialable for routing and CRM lookups.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Numbering {
    /// Prefixed to received national numbers ("0" + "1088886666").
    pub national_prefix: String,
    /// Prefixed to received international numbers ("00" + "8610…").
    pub international_prefix: String,
    pub calling_ton: Ton,
    pub calling_npi: Npi,
    pub called_ton: Ton,
    pub called_npi: Npi,
}

/// Display element handling.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisplayRules {
    /// Take a received Display as the calling party's name.
    pub receive_name: bool,
    /// Send the calling name in a Display element.
    pub send_name: bool,
    pub charset: Charset,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Charset {
    /// IA5 (ASCII); other octets are dropped.
    Ia5,
    /// GB2312 (as China's networks send names).
    Gb2312,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ton {
    Unknown,
    International,
    National,
    NetworkSpecific,
    Subscriber,
    Abbreviated,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Npi {
    Unknown,
    Isdn,
    National,
    Private,
}

impl From<Ton> for TypeOfNumber {
    fn from(t: Ton) -> Self {
        match t {
            Ton::Unknown => TypeOfNumber::Unknown,
            Ton::International => TypeOfNumber::International,
            Ton::National => TypeOfNumber::National,
            Ton::NetworkSpecific => TypeOfNumber::NetworkSpecific,
            Ton::Subscriber => TypeOfNumber::Subscriber,
            Ton::Abbreviated => TypeOfNumber::Abbreviated,
        }
    }
}

impl From<Npi> for NumberingPlan {
    fn from(n: Npi) -> Self {
        match n {
            Npi::Unknown => NumberingPlan::Unknown,
            Npi::Isdn => NumberingPlan::Isdn,
            Npi::National => NumberingPlan::National,
            Npi::Private => NumberingPlan::Private,
        }
    }
}

/// Element names usable in `mandatory`.
const IE_NAMES: &[(&str, u8)] = &[
    ("bearer-capability", id::BEARER_CAPABILITY),
    ("cause", id::CAUSE),
    ("call-state", id::CALL_STATE),
    ("channel-identification", id::CHANNEL_IDENTIFICATION),
    ("progress-indicator", id::PROGRESS_INDICATOR),
    ("display", id::DISPLAY),
    ("calling-party-number", id::CALLING_PARTY_NUMBER),
    ("called-party-number", id::CALLED_PARTY_NUMBER),
    ("restart-indicator", id::RESTART_INDICATOR),
    ("date-time", id::DATE_TIME),
];

/// Message names usable in `mandatory`.
const MESSAGE_NAMES: &[(&str, MessageType)] = &[
    ("setup", MessageType::Setup),
    ("setup-acknowledge", MessageType::SetupAcknowledge),
    ("call-proceeding", MessageType::CallProceeding),
    ("alerting", MessageType::Alerting),
    ("progress", MessageType::Progress),
    ("connect", MessageType::Connect),
    ("disconnect", MessageType::Disconnect),
    ("release", MessageType::Release),
    ("release-complete", MessageType::ReleaseComplete),
    ("information", MessageType::Information),
    ("status", MessageType::Status),
    ("restart", MessageType::Restart),
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProfileError {
    #[error("unknown PRI switch profile `{0}` (built in: {1})")]
    Unknown(String, String),
    #[error("profile `{profile}`: {what}")]
    Invalid { profile: String, what: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    profile: Vec<PriProfile>,
}

impl PriProfile {
    /// All built-in profiles, validated.
    pub fn builtins() -> Vec<PriProfile> {
        // The file is compiled in and covered by tests; failing here is a build defect.
        let f: File = toml::from_str(BUILTIN).expect("built-in profiles.toml parses");
        f.profile
    }

    /// A built-in profile by name.
    pub fn builtin(name: &str) -> Result<PriProfile, ProfileError> {
        let all = Self::builtins();
        let names = all.iter().map(|p| p.name.clone()).collect::<Vec<_>>().join(", ");
        let p = all.into_iter().find(|p| p.name == name).ok_or_else(|| ProfileError::Unknown(name.into(), names))?;
        p.validate()?;
        Ok(p)
    }

    pub fn validate(&self) -> Result<(), ProfileError> {
        let bad = |what: String| ProfileError::Invalid { profile: self.name.clone(), what };
        for (msg, ies) in &self.mandatory {
            if !MESSAGE_NAMES.iter().any(|(n, _)| n == msg) {
                return Err(bad(format!("mandatory: unknown message `{msg}`")));
            }
            for ie in ies {
                if !IE_NAMES.iter().any(|(n, _)| n == ie) {
                    return Err(bad(format!("mandatory.{msg}: unknown element `{ie}`")));
                }
            }
        }
        let t = &self.timers;
        for (name, v) in [("t303", t.t303), ("t305", t.t305), ("t308", t.t308), ("t316", t.t316), ("t322", t.t322)] {
            if v == 0 {
                return Err(bad(format!("timers.{name} must be above 0")));
            }
        }
        if self.link.k == 0 || self.link.k > 127 || self.link.t200 == 0 || self.link.n200 == 0 {
            return Err(bad("link: k must be 1..=127, t200 and n200 above 0".into()));
        }
        Ok(())
    }

    /// Identifiers of the elements `kind` must carry when received.
    pub fn mandatory_ies(&self, kind: MessageType) -> Vec<u8> {
        let Some((name, _)) = MESSAGE_NAMES.iter().find(|(_, k)| *k == kind) else { return Vec::new() };
        self.mandatory
            .get(*name)
            .map(|v| v.iter().filter_map(|n| IE_NAMES.iter().find(|(x, _)| x == n).map(|(_, i)| *i)).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_validate() {
        let all = PriProfile::builtins();
        assert!(all.len() >= 2);
        for p in &all {
            p.validate().unwrap();
            assert!(!p.mandatory_ies(MessageType::Setup).is_empty(), "{}", p.name);
        }
        assert_eq!(PriProfile::builtin("china").unwrap().display.charset, Charset::Gb2312);
        assert!(matches!(PriProfile::builtin("qsig"), Err(ProfileError::Unknown(..))));
    }

    #[test]
    fn unknown_mandatory_names_are_refused() {
        let mut p = PriProfile::builtin("etsi").unwrap();
        p.mandatory.insert("setup".into(), vec!["bearer".into()]);
        assert!(p.validate().is_err());
        let mut p = PriProfile::builtin("etsi").unwrap();
        p.mandatory.insert("hello".into(), vec![]);
        assert!(p.validate().is_err());
    }
}

/// A span's `[span.pri]` table: which side, which switch profile, and overrides.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriConfig {
    /// `te` (customer side, facing a carrier) or `nt` (network side, facing a PBX).
    #[serde(default)]
    pub side: super::Side,
    /// Built-in switch profile: `etsi` or `china`.
    #[serde(default = "default_switch")]
    pub switch: String,
    pub overlap_receiving: Option<bool>,
    pub overlap_sending: Option<bool>,
    pub restart_on_start: Option<bool>,
    /// Timer overrides in ms (`t303 = 4000`).
    #[serde(default)]
    pub timers: TimerOverrides,
}

impl Default for PriConfig {
    fn default() -> Self {
        PriConfig {
            side: super::Side::Te,
            switch: default_switch(),
            overlap_receiving: None,
            overlap_sending: None,
            restart_on_start: None,
            timers: TimerOverrides::default(),
        }
    }
}

fn default_switch() -> String {
    "etsi".into()
}

/// Optional per-span timer values (ms).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimerOverrides {
    pub t301: Option<u32>,
    pub t302: Option<u32>,
    pub t303: Option<u32>,
    pub t304: Option<u32>,
    pub t305: Option<u32>,
    pub t308: Option<u32>,
    pub t309: Option<u32>,
    pub t310: Option<u32>,
    pub t313: Option<u32>,
    pub t316: Option<u32>,
    pub t322: Option<u32>,
    pub t200: Option<u32>,
    pub t203: Option<u32>,
}

impl PriConfig {
    /// The effective profile: the built-in switch with this span's overrides, validated.
    pub fn profile(&self) -> Result<PriProfile, ProfileError> {
        let mut p = PriProfile::builtin(&self.switch)?;
        if let Some(v) = self.overlap_receiving {
            p.overlap_receiving = v;
        }
        if let Some(v) = self.overlap_sending {
            p.overlap_sending = v;
        }
        if let Some(v) = self.restart_on_start {
            p.restart_on_start = v;
        }
        let o = &self.timers;
        let t = &mut p.timers;
        for (slot, v) in [
            (&mut t.t301, o.t301),
            (&mut t.t302, o.t302),
            (&mut t.t303, o.t303),
            (&mut t.t304, o.t304),
            (&mut t.t305, o.t305),
            (&mut t.t308, o.t308),
            (&mut t.t309, o.t309),
            (&mut t.t310, o.t310),
            (&mut t.t313, o.t313),
            (&mut t.t316, o.t316),
            (&mut t.t322, o.t322),
            (&mut p.link.t200, o.t200),
            (&mut p.link.t203, o.t203),
        ] {
            if let Some(v) = v {
                *slot = v;
            }
        }
        p.validate()?;
        Ok(p)
    }
}
