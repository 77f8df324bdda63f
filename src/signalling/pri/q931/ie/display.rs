//! §4.5.16 Display: text for the user's display. ETSI says IA5 characters, but networks
//! send what they like (some prepend a "display type" octet with bit 8 set, e.g. 0xB1;
//! Chinese networks send GBK), so the contents are kept as raw octets for the profile to
//! read.

use super::IeError;

/// The longest display networks send (82 octets); the Q.931 default maximum is lower.
pub const MAX_LEN: usize = 82;

/// Keeps the contents whole, even beyond [`MAX_LEN`]: the element is informational, so
/// neither truncating (and losing text) nor a content error (a STATUS the peer does not
/// expect) helps anyone. An empty display is legal.
pub(super) fn decode(data: &[u8]) -> Result<Vec<u8>, IeError> {
    Ok(data.to_vec())
}

pub(super) fn encode(data: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signalling::pri::q931::ie::Ie;

    #[test]
    fn golden_with_display_type_octet() {
        let d = decode(&[0xB1, b'J', b'o', b'e']).unwrap();
        assert_eq!(d, [0xB1, b'J', b'o', b'e']);
        let mut out = Vec::new();
        Ie::Display(d).encode(&mut out);
        assert_eq!(out, [0x28, 0x04, 0xB1, b'J', b'o', b'e']);
    }

    #[test]
    fn long_display_is_kept_whole() {
        assert_eq!(decode(&[b'x'; 100]).unwrap().len(), 100);
    }
}
