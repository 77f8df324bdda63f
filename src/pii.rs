//! Personal data wrapper: caller numbers and names are personal data.
//!
//! `Pii<T>` prints masked through `Display` and `Debug`, so a number that reaches a log
//! line at info level or above by accident shows as `*******78`. Code that really needs
//! the value (signalling encoders, the CDR writer, debug-level traces) calls `reveal()`,
//! which makes every disclosure greppable.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pii<T>(T);

impl<T> Pii<T> {
    pub fn new(v: T) -> Self {
        Pii(v)
    }
    /// The plain value: for encoders, records and debug-level logs only.
    pub fn reveal(&self) -> &T {
        &self.0
    }
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl From<&str> for Pii<String> {
    fn from(s: &str) -> Self {
        Pii(s.to_string())
    }
}

impl From<String> for Pii<String> {
    fn from(s: String) -> Self {
        Pii(s)
    }
}

impl Pii<String> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Masked form: all but the last two characters replaced by `*`.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks all but the last two characters (a number shorter than 5 is masked whole).
pub fn mask(s: &str) -> String {
    let n = s.chars().count();
    if n == 0 {
        return String::new();
    }
    let keep = if n >= 5 { 2 } else { 0 };
    s.chars().enumerate().map(|(i, c)| if i + keep >= n { c } else { '*' }).collect()
}

impl fmt::Display for Pii<String> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask(&self.0))
    }
}

impl<T> fmt::Debug for Pii<T>
where
    Pii<T>: fmt::Display,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pii({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_in_display_and_debug() {
        let p: Pii<String> = "13800138000".into();
        assert_eq!(p.to_string(), "*********00");
        assert_eq!(format!("{p:?}"), "Pii(*********00)");
        assert_eq!(p.reveal(), "13800138000");
        assert_eq!(mask("1234"), "****");
        assert_eq!(mask(""), "");
    }
}
