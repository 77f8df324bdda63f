//! §4.5.9 / §4.5.11 Called and calling party subaddress: "access information" passed
//! end to end, so carried raw (octet 3 type of subaddress, then the subaddress).

use super::IeError;

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
    fn golden_nsap_ia5() {
        // NSAP (X.213), AFI 0x50 = IA5 digits follow: "12".
        let s = decode(&[0x80, 0x50, b'1', b'2']).unwrap();
        let mut out = Vec::new();
        Ie::CalledPartySubaddress(s.clone()).encode(&mut out);
        assert_eq!(out, [0x71, 0x04, 0x80, 0x50, b'1', b'2']);
        out.clear();
        Ie::CallingPartySubaddress(s).encode(&mut out);
        assert_eq!(out[0], 0x6D);
    }
}
