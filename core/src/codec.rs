//! The canonical binary encoding: a small reader and writer with strict checks.
//!
//! Fixed-width little-endian integers, length-prefixed lists with limits checked before any
//! allocation, points accepted only in canonical non-identity form, scalars only when reduced.
//! Decoding a value and encoding it again gives back the same bytes, so every value has exactly one
//! encoding and its hash identifies it.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;

use crate::error::DecodeError;

/// Appends fields to a byte buffer in the canonical encoding.
#[derive(Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends one byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    /// Appends a little-endian u16.
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends a little-endian u32.
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends a little-endian u64.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends raw bytes.
    pub fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
    /// The encoded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads fields from a byte slice, refusing anything non-canonical.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }
    /// Takes `n` bytes.
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.data.len())
            .ok_or(DecodeError::Truncated { field })?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    /// Takes a fixed-size array.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }
    /// Reads one byte.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }
    /// Reads a little-endian u16.
    pub fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }
    /// Reads a little-endian u32.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }
    /// Reads a little-endian u64.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }
    /// Reads a list count and checks it against `limit` before anything is allocated.
    pub fn count(&mut self, field: &'static str, limit: usize) -> Result<usize, DecodeError> {
        let count = usize::from(self.u8(field)?);
        if count > limit {
            return Err(DecodeError::TooMany {
                field,
                count,
                limit,
            });
        }
        Ok(count)
    }
    /// Reads a canonical, non-identity Ristretto point.
    pub fn point(
        &mut self,
        field: &'static str,
    ) -> Result<(CompressedRistretto, RistrettoPoint), DecodeError> {
        let bytes = self.array::<32>(field)?;
        decode_point(&bytes, field)
    }
    /// Reads a canonical scalar.
    pub fn scalar(&mut self, field: &'static str) -> Result<Scalar, DecodeError> {
        let bytes = self.array::<32>(field)?;
        decode_scalar(bytes, field)
    }
    /// Fails if any bytes remain.
    pub fn finish(self) -> Result<(), DecodeError> {
        let count = self.data.len() - self.pos;
        if count != 0 {
            return Err(DecodeError::TrailingBytes { count });
        }
        Ok(())
    }
}

/// Decodes a canonical, non-identity Ristretto point. `curve25519-dalek` already refuses
/// non-canonical encodings on decompression; the identity is refused here because a commitment or
/// key equal to it carries no binding.
pub fn decode_point(
    bytes: &[u8; 32],
    field: &'static str,
) -> Result<(CompressedRistretto, RistrettoPoint), DecodeError> {
    let compressed = CompressedRistretto(*bytes);
    let point = compressed
        .decompress()
        .ok_or(DecodeError::NonCanonicalPoint { field })?;
    if point.is_identity() {
        return Err(DecodeError::IdentityPoint { field });
    }
    Ok((compressed, point))
}

/// Decodes a scalar, refusing values not reduced modulo the group order.
pub fn decode_scalar(bytes: [u8; 32], field: &'static str) -> Result<Scalar, DecodeError> {
    Option::from(Scalar::from_canonical_bytes(bytes))
        .ok_or(DecodeError::NonCanonicalScalar { field })
}

/// Parses hex into exactly `N` bytes.
pub fn hex_array<const N: usize>(text: &str, field: &'static str) -> Result<[u8; N], DecodeError> {
    let bytes = hex::decode(text).map_err(|e| DecodeError::Text {
        field,
        reason: e.to_string(),
    })?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| DecodeError::BadLength {
        field,
        len: bytes.len(),
        expected: N.to_string(),
    })
}

/// Implements `Debug`, `Hash`, and hex `Serialize`/`Deserialize` for a 32-byte point type with
/// `to_bytes() -> [u8; 32]` and `from_bytes(&[u8; 32]) -> Result<Self, DecodeError>`: JSON carries
/// points as hex and deserialising re-runs the canonical checks.
macro_rules! point_traits {
    ($ty:ident, $field:literal) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(
                    f,
                    concat!(stringify!($ty), "({})"),
                    hex::encode(self.to_bytes())
                )
            }
        }

        impl std::hash::Hash for $ty {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.to_bytes().hash(state);
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&hex::encode(self.to_bytes()))
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(d)?;
                let bytes = $crate::codec::hex_array::<32>(&text, $field)
                    .map_err(serde::de::Error::custom)?;
                $ty::from_bytes(&bytes).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use point_traits;
