//! §4.5.19 Low layer compatibility: checked end to end by the terminals, transferred
//! transparently by the network, so carried raw (a transit call passes it on as is).

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
    fn golden_raw() {
        // Unrestricted digital, 64 kbit/s, V.110 with 5a.
        let l = decode(&[0x88, 0x90, 0x21, 0x8F]).unwrap();
        let mut out = Vec::new();
        Ie::LowLayerCompatibility(l).encode(&mut out);
        assert_eq!(out, [0x7C, 0x04, 0x88, 0x90, 0x21, 0x8F]);
    }
}
