//! §4.5.25 Restart indicator: what a RESTART applies to.

use super::IeError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartClass {
    /// 000: the channels given in the channel identification element.
    Indicated,
    /// 110: a single interface (all channels of it).
    SingleInterface,
    /// 111: all interfaces.
    AllInterfaces,
    Reserved(u8),
}

impl RestartClass {
    /// Octet 3 bits 3–1.
    pub fn code(self) -> u8 {
        match self {
            RestartClass::Indicated => 0b000,
            RestartClass::SingleInterface => 0b110,
            RestartClass::AllInterfaces => 0b111,
            RestartClass::Reserved(v) => v & 0x07,
        }
    }
    pub fn from_code(v: u8) -> Self {
        match v & 0x07 {
            0b000 => RestartClass::Indicated,
            0b110 => RestartClass::SingleInterface,
            0b111 => RestartClass::AllInterfaces,
            v => RestartClass::Reserved(v),
        }
    }

    /// A reserved class is decoded (not an error): §5.5 has the receiver answer it, with
    /// cause 100, which only the protocol layer can do.
    pub(super) fn decode(data: &[u8]) -> Result<Self, IeError> {
        data.first().map(|&o| RestartClass::from_code(o)).ok_or(IeError::TooShort)
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        out.push(0x80 | self.code());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::pri::q931::ie::Ie;

    #[test]
    fn golden() {
        for (octet, class) in [
            (0x80, RestartClass::Indicated),
            (0x86, RestartClass::SingleInterface),
            (0x87, RestartClass::AllInterfaces),
            (0x82, RestartClass::Reserved(2)),
        ] {
            assert_eq!(RestartClass::decode(&[octet]), Ok(class));
            let mut out = Vec::new();
            Ie::RestartIndicator(class).encode(&mut out);
            assert_eq!(out, [0x79, 0x01, octet]);
        }
        assert_eq!(RestartClass::decode(&[]), Err(IeError::TooShort));
    }
}
