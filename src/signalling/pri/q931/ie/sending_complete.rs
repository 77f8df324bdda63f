//! §4.5.27 Sending complete: a single-octet element (type 2, `1010 0001`) without
//! contents; its presence ends overlap sending (en-bloc SETUP or the last INFORMATION).
//! Being one octet, it is coded entirely by `Ie::encode` and the message decoder; this
//! file only names the octet.

pub use super::id::SENDING_COMPLETE as OCTET;

#[cfg(test)]
mod tests {
    use super::OCTET;
    use crate::signalling::pri::q931::ie::Ie;

    #[test]
    fn golden() {
        let mut out = Vec::new();
        Ie::SendingComplete.encode(&mut out);
        assert_eq!(out, [0xA1]);
        assert_eq!(Ie::decode(OCTET, &[]), Ok(Ie::SendingComplete));
    }
}
