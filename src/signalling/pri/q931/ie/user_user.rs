//! §4.5.30 User-user: up to 128 octets of end-to-end data (UUS1), often used by call
//! centers to pass a case number with the call.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserUser {
    /// Octet 3: 0x04 = IA5 characters, 0x00 = user-specific …
    pub protocol: u8,
    pub data: Vec<u8>,
}
