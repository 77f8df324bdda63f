//! [`Settings`]: the plugin's `[plugin.settings]` as given to `init`.

use crate::abi::TrunkdVar;
use crate::raw;

/// The plugin's settings: the `[plugin.settings]` table of trunkd's config, every value
/// rendered as a string, in config order. A map-like view borrowed from trunkd for the
/// duration of `init` (copy what you keep).
///
/// Names or values that are NULL or not UTF-8 read as `""`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Settings<'a> {
    /// A view of trunkd's raw settings array; empty if `ptr` is NULL.
    ///
    /// # Safety
    /// `ptr` must be NULL or valid for reads of `len` `trunkd_var`s whose non-NULL string
    /// pointers are valid for their lengths, all unchanged for `'a`.
    pub unsafe fn from_raw(ptr: *const TrunkdVar, len: usize) -> Settings<'a> {
        // SAFETY: forwarded contract; `slice` tolerates NULL and misaligned pointers.
        let vars = unsafe { raw::slice::<'a, TrunkdVar>(ptr, len) };
        // SAFETY: the strings of the settings are valid for `'a` (contract).
        let pairs = vars.iter().map(|v| unsafe { (raw::text::<'a>(v.name), raw::text::<'a>(v.value)) }).collect();
        Settings { pairs }
    }

    /// Settings from Rust pairs (for tests).
    pub fn from_pairs(pairs: &[(&'a str, &'a str)]) -> Settings<'a> {
        Settings { pairs: pairs.to_vec() }
    }

    /// The value of the setting `name` (the first one if trunkd passed it twice).
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
    }

    /// The value of the setting `name`, or an error message for `init` naming it.
    pub fn require(&self, name: &str) -> Result<&'a str, String> {
        self.get(name).ok_or_else(|| format!("missing setting `{name}`"))
    }

    /// Whether the setting `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// All settings as `(name, value)`, in trunkd's order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&'a str, &'a str)> + '_ {
        self.pairs.iter().copied()
    }

    /// The number of settings.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are no settings.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Settings<'a> {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(iter: I) -> Self {
        Settings { pairs: iter.into_iter().collect() }
    }
}
