//! §4.5.30 User-user: up to 128 octets of end-to-end data (UUS1), often used by call
//! centers to pass a case number with the call.

use super::IeError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserUser {
    /// Octet 3: 0x04 = IA5 characters, 0x00 = user-specific …
    pub protocol: u8,
    pub data: Vec<u8>,
}

impl UserUser {
    /// Protocol discriminator 0x04: IA5 characters.
    pub const IA5: u8 = 0x04;

    pub(super) fn decode(data: &[u8]) -> Result<Self, IeError> {
        let (&protocol, data) = data.split_first().ok_or(IeError::TooShort)?;
        Ok(UserUser { protocol, data: data.to_vec() })
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.protocol);
        out.extend_from_slice(&self.data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::pri::q931::ie::Ie;

    #[test]
    fn golden_ia5() {
        let u = UserUser::decode(&[0x04, b'A', b'B']).unwrap();
        assert_eq!(u, UserUser { protocol: UserUser::IA5, data: b"AB".to_vec() });
        let mut out = Vec::new();
        Ie::UserUser(u).encode(&mut out);
        assert_eq!(out, [0x7E, 0x03, 0x04, b'A', b'B']);
        assert_eq!(UserUser::decode(&[]), Err(IeError::TooShort));
    }
}
