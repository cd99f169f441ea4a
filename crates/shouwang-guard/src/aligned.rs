//! A byte buffer aligned for O_DIRECT.
//!
//! Sealing copies every file into the object store. Through the page cache
//! that costs more than reading and hashing together (on the machines we
//! measured, buffered writes ran at a quarter of the device's speed), so
//! objects are written with O_DIRECT, which wants buffers, lengths and
//! offsets aligned to the device's block size.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::io::{self, Read};
use std::ptr::NonNull;

/// The alignment O_DIRECT needs on every Linux filesystem we care about.
pub const ALIGN: usize = 4096;

pub struct AlignedBuf {
    ptr: NonNull<u8>,
    cap: usize,
    len: usize,
}

// SAFETY: the buffer owns its allocation exclusively, like a Vec<u8>.
unsafe impl Send for AlignedBuf {}

fn round_up(n: usize) -> usize {
    n.div_ceil(ALIGN).max(1) * ALIGN
}

impl AlignedBuf {
    pub fn new() -> Self {
        AlignedBuf {
            ptr: NonNull::dangling(),
            cap: 0,
            len: 0,
        }
    }

    fn reserve(&mut self, n: usize) {
        let want = round_up(n);
        if want <= self.cap {
            return;
        }
        let layout = Layout::from_size_align(want, ALIGN).expect("a valid layout");
        // SAFETY: `layout` has a non-zero size.
        let p = unsafe { alloc_zeroed(layout) };
        let Some(p) = NonNull::new(p) else {
            std::alloc::handle_alloc_error(layout)
        };
        self.free();
        self.ptr = p;
        self.cap = want;
        self.len = 0;
    }

    fn free(&mut self) {
        if self.cap > 0 {
            // SAFETY: allocated in `reserve` with exactly this layout.
            unsafe {
                dealloc(
                    self.ptr.as_ptr(),
                    Layout::from_size_align_unchecked(self.cap, ALIGN),
                )
            };
            self.cap = 0;
        }
    }

    /// Replace the contents with what `src` yields: until EOF, or until
    /// exactly `hint` bytes (the size the caller saw; it checks the size
    /// again afterwards).
    pub fn read_all(&mut self, src: &mut impl Read, hint: usize) -> io::Result<()> {
        self.reserve(hint + 1);
        self.len = 0;
        loop {
            if self.len == self.cap {
                // The file grew while we read it: make room and go on.
                let old = std::mem::take(self);
                self.reserve(old.cap * 2);
                self.spare()[..old.len].copy_from_slice(old.as_slice());
                self.len = old.len;
            }
            let n = src.read(&mut self.spare()[..])?;
            self.len += n;
            // The expected size read: skip the read that would only say
            // EOF (one syscall per file when sealing). The caller compares
            // the file's size before and after, so growth is still seen.
            if n == 0 || (hint > 0 && self.len == hint) {
                return Ok(());
            }
        }
    }

    /// Empty the buffer, with room for at least `n` bytes.
    pub fn clear_with_capacity(&mut self, n: usize) {
        self.reserve(n);
        self.len = 0;
    }

    /// Append `data`; the caller made room with `clear_with_capacity`.
    pub fn extend_from_slice(&mut self, data: &[u8]) {
        if self.len + data.len() > self.cap {
            let old = std::mem::take(self);
            self.reserve((old.len + data.len()).max(old.cap * 2));
            self.spare()[..old.len].copy_from_slice(old.as_slice());
            self.len = old.len;
        }
        self.spare()[..data.len()].copy_from_slice(data);
        self.len += data.len();
    }

    /// The bytes after `len`, up to capacity.
    fn spare(&mut self) -> &mut [u8] {
        // SAFETY: the allocation is `cap` bytes, zero-initialised when made
        // and only ever written through this slice.
        unsafe { &mut std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.cap)[self.len..] }
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: the first `len` bytes are initialised.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The contents padded to a whole number of blocks, for O_DIRECT.
    pub fn padded(&self) -> &[u8] {
        let n = round_up(self.len).min(self.cap);
        // SAFETY: the whole capacity is initialised (zeroed at allocation).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), n) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        self.free();
    }
}

impl Default for AlignedBuf {
    fn default() -> Self {
        AlignedBuf::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_pads() {
        let mut b = AlignedBuf::new();
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        b.read_all(&mut &data[..], 100).unwrap();
        assert_eq!(b.as_slice(), &data[..]);
        assert_eq!(b.padded().len(), 12_288);
        assert_eq!(b.padded().as_ptr() as usize % ALIGN, 0);
        b.read_all(&mut &b"short"[..], 5).unwrap();
        assert_eq!(b.as_slice(), b"short");
        b.read_all(&mut &b""[..], 0).unwrap();
        assert!(b.as_slice().is_empty());
    }
}
