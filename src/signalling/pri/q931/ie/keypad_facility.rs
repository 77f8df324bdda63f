//! §4.5.18 Keypad facility: IA5 characters "entered by means of a terminal keypad"
//! (overlap digits, service codes like `*21#`).

use super::IeError;

/// Any IA5 character (bit 8 = 0) is accepted; an octet with bit 8 set is a content error.
pub(super) fn decode(data: &[u8]) -> Result<String, IeError> {
    data.iter()
        .map(|&c| if c & 0x80 == 0 { Ok(char::from(c)) } else { Err(IeError::BadValue { octet: "3", value: c }) })
        .collect()
}

/// Non-ASCII characters cannot be coded in IA5 and are not sent.
pub(super) fn encode(s: &str, out: &mut Vec<u8>) {
    out.extend(s.bytes().filter(u8::is_ascii));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::pri::q931::ie::Ie;

    #[test]
    fn golden_service_code() {
        let k = decode(b"*21#").unwrap();
        assert_eq!(k, "*21#");
        let mut out = Vec::new();
        Ie::KeypadFacility(k).encode(&mut out);
        assert_eq!(out, [0x2C, 0x04, b'*', b'2', b'1', b'#']);
    }

    #[test]
    fn eight_bit_octet_is_a_content_error() {
        assert_eq!(decode(&[b'1', 0xB2]), Err(IeError::BadValue { octet: "3", value: 0xB2 }));
        let mut out = Vec::new();
        encode("1é2", &mut out);
        assert_eq!(out, b"12");
    }
}
