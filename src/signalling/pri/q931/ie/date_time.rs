//! §4.5.15 Date/time: the network's clock, sent in CONNECT (year is two digits).

use super::IeError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    /// 0–99 as on the wire.
    pub year: u8,
    pub month: u8,
    pub day: u8,
    pub hour: Option<u8>,
    pub minute: Option<u8>,
    pub second: Option<u8>,
}

impl DateTime {
    /// Octets 3–5 (year, month, day) are mandatory, 6–8 (hour, minute, second) each
    /// optional but only in that order. Values are binary and range-checked, so call
    /// control and CDRs can trust them; octets after the second are ignored.
    pub(super) fn decode(data: &[u8]) -> Result<Self, IeError> {
        let check = |i: usize, octet: &'static str, range: std::ops::RangeInclusive<u8>| match data.get(i) {
            Some(&v) if range.contains(&v) => Ok(Some(v)),
            Some(&v) => Err(IeError::BadValue { octet, value: v }),
            None => Ok(None),
        };
        let required = |v: Option<u8>| v.ok_or(IeError::TooShort);
        Ok(DateTime {
            year: required(check(0, "3 (year)", 0..=99)?)?,
            month: required(check(1, "4 (month)", 1..=12)?)?,
            day: required(check(2, "5 (day)", 1..=31)?)?,
            hour: check(3, "6 (hour)", 0..=23)?,
            minute: check(4, "7 (minute)", 0..=59)?,
            second: check(5, "8 (second)", 0..=59)?,
        })
    }

    /// Sends the optional octets up to the first absent one (a minute without an hour
    /// cannot be coded).
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        out.extend([self.year, self.month, self.day]);
        for v in [self.hour, self.minute, self.second] {
            match v {
                Some(v) => out.push(v),
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::pri::q931::ie::Ie;

    #[test]
    fn golden_with_time() {
        // 2024-03-15 14:30 (no seconds).
        let d = DateTime::decode(&[0x18, 0x03, 0x0F, 0x0E, 0x1E]).unwrap();
        assert_eq!(d, DateTime { year: 24, month: 3, day: 15, hour: Some(14), minute: Some(30), second: None });
        let mut out = Vec::new();
        Ie::DateTime(d).encode(&mut out);
        assert_eq!(out, [0x29, 0x05, 0x18, 0x03, 0x0F, 0x0E, 0x1E]);
    }

    #[test]
    fn date_only_and_full() {
        let d = DateTime::decode(&[99, 12, 31]).unwrap();
        assert_eq!((d.hour, d.minute, d.second), (None, None, None));
        let d = DateTime::decode(&[0, 1, 1, 23, 59, 59]).unwrap();
        assert_eq!(d.second, Some(59));
    }

    #[test]
    fn errors() {
        assert_eq!(DateTime::decode(&[24, 3]), Err(IeError::TooShort));
        assert!(DateTime::decode(&[24, 13, 1]).is_err());
        assert!(DateTime::decode(&[24, 3, 0]).is_err());
        assert!(DateTime::decode(&[24, 3, 1, 24]).is_err());
        assert!(DateTime::decode(&[100, 3, 1]).is_err());
    }

    #[test]
    fn minute_without_hour_is_not_sent() {
        let d = DateTime { year: 1, month: 2, day: 3, hour: None, minute: Some(4), second: None };
        let mut out = Vec::new();
        d.encode(&mut out);
        assert_eq!(out, [1, 2, 3]);
    }
}
