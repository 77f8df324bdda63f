//! Defensive readers for the borrowed C data trunkd passes in: NULL pointers, bytes that
//! are not UTF-8 and structs shorter than this SDK's version of them all read as empty.

use std::mem::size_of;

use crate::abi::{TrunkdStr, TrunkdVar};

/// Plain data for which every initialized bit pattern is a valid value, so reading one
/// out of a C struct cannot produce an invalid Rust value.
///
/// # Safety
/// Implement only for types without invalid bit patterns (integers, raw pointers and
/// `#[repr(C)]` structs of them).
pub(crate) unsafe trait Pod: Copy {}

// SAFETY: integers accept every bit pattern.
unsafe impl Pod for u32 {}
// SAFETY: as above.
unsafe impl Pod for i32 {}
// SAFETY: as above.
unsafe impl Pod for u64 {}
// SAFETY: as above.
unsafe impl Pod for i64 {}
// SAFETY: as above.
unsafe impl Pod for usize {}
// SAFETY: a raw pointer accepts every bit pattern (it is only dereferenced after checks).
unsafe impl Pod for *const TrunkdVar {}
// SAFETY: a pointer and a usize, both of which accept every bit pattern.
unsafe impl Pod for TrunkdStr {}

/// The text of a borrowed string: `""` for a NULL pointer (whatever `len` says), for
/// `len == 0` and for bytes that are not UTF-8.
///
/// # Safety
/// When `s.ptr` is not NULL it must be valid for reads of `s.len` bytes that stay
/// unchanged for `'a`.
pub(crate) unsafe fn text<'a>(s: TrunkdStr) -> &'a str {
    if s.ptr.is_null() || s.len == 0 || s.len > isize::MAX as usize {
        return "";
    }
    // SAFETY: `ptr` is not NULL and, by this function's contract, valid for reads of `len`
    // bytes for `'a`; `u8` has alignment 1 and `len` does not exceed `isize::MAX`.
    let bytes = unsafe { std::slice::from_raw_parts(s.ptr.cast::<u8>(), s.len) };
    std::str::from_utf8(bytes).unwrap_or("")
}

/// A borrowed C array as a slice: empty when `ptr` is NULL, misaligned or `len` absurd.
///
/// # Safety
/// When `ptr` is not NULL it must be valid for reads of `len` elements that stay
/// unchanged for `'a`.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if ptr.is_null() || len == 0 || !ptr.is_aligned() || len > isize::MAX as usize / size_of::<T>().max(1) {
        return &[];
    }
    // SAFETY: `ptr` is non-NULL and aligned, the total size fits `isize`, and the contract
    // makes it valid for reads of `len` elements for `'a`.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// Reads the field of type `T` at `offset` of a struct at `base` of which only the first
/// `size` bytes exist; `None` when the field does not lie entirely within them. `_witness`
/// only ties `T` to the field's declared type (`|c: &S| &c.field`); it is never called.
///
/// # Safety
/// `base` must be valid for reads of `size` bytes.
pub(crate) unsafe fn field<S, T: Pod>(
    base: *const u8,
    size: usize,
    offset: usize,
    _witness: fn(&S) -> &T,
) -> Option<T> {
    let end = offset.checked_add(size_of::<T>())?;
    if end > size {
        return None;
    }
    // SAFETY: `offset..end` lies within the `size` bytes readable at `base` (contract), so
    // the offset pointer stays in bounds and the read is valid; `read_unaligned` assumes no
    // alignment and `T: Pod` accepts whatever bits are there.
    Some(unsafe { base.add(offset).cast::<T>().read_unaligned() })
}

/// The `struct_size` every struct trunkd passes in starts with, capped at `full` (the size
/// this SDK was compiled with: fields appended by later versions are ignored).
///
/// # Safety
/// `base` must point to a struct starting with a `u32` `struct_size`.
pub(crate) unsafe fn struct_size(base: *const u8, full: usize) -> usize {
    // SAFETY: the contract guarantees the 4 bytes of `struct_size` at `base`.
    let declared = unsafe { base.cast::<u32>().read_unaligned() };
    (declared as usize).min(full)
}
