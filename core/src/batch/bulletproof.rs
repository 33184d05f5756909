//! The verification equation of one aggregated `bulletproofs` 5 range proof, replayed outside the
//! crate so that many proofs can share one multiscalar multiplication.
//!
//! Everything here mirrors `RangeProof::verify_multiple_with_rng` and
//! `InnerProductProof::verification_scalars` of `bulletproofs` 5.0.0: the byte layout, the
//! transcript labels and domain separators, the order of the challenges and the coefficients of
//! the final check. The agreement tests in `core/tests/batch.rs` pin it: honest proofs of every
//! aggregation size verify here, and proofs the crate rejects are rejected here.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use merlin::Transcript;
use sha3::digest::{ExtendableOutput, Update, XofReader};
use sha3::Shake256;
use std::sync::OnceLock;

use crate::range::{padded_len, proof_len_bits, MAX_PARTIES, RANGE_BITS};

/// The flattened generators `G` and `H` of parties `0..MAX_PARTIES`, party-major: generator
/// `i` of party `j` is at `j·RANGE_BITS + i`, which is the order `BulletproofGens::G(n, m)` and
/// `H(n, m)` iterate in for `n = RANGE_BITS`. A proof aggregating `m` values uses the first
/// `RANGE_BITS·m` of each.
pub(crate) struct FlatGens {
    pub(crate) g: Vec<RistrettoPoint>,
    pub(crate) h: Vec<RistrettoPoint>,
}

/// `bulletproofs`' `GeneratorsChain`: SHAKE256 over `"GeneratorsChain" || label`, read 64 bytes at
/// a time, each mapped to a point with `from_uniform_bytes`. The labels are `b'G'` or `b'H'`
/// followed by the party index as a little-endian `u32`. `BulletproofGens::H` is private to the
/// crate, so the chain is re-derived here; a unit test checks `G` against the crate's public view.
fn chain(kind: u8, party: u32, count: usize) -> Vec<RistrettoPoint> {
    let mut label = [kind, 0, 0, 0, 0];
    label[1..].copy_from_slice(&party.to_le_bytes());
    let mut shake = Shake256::default();
    shake.update(b"GeneratorsChain");
    shake.update(&label);
    let mut reader = shake.finalize_xof();
    (0..count)
        .map(|_| {
            let mut uniform = [0u8; 64];
            reader.read(&mut uniform);
            RistrettoPoint::from_uniform_bytes(&uniform)
        })
        .collect()
}

/// The generators, derived once per process.
pub(crate) fn flat_gens() -> &'static FlatGens {
    static GENS: OnceLock<FlatGens> = OnceLock::new();
    GENS.get_or_init(|| {
        let mut g = Vec::with_capacity(RANGE_BITS * MAX_PARTIES);
        let mut h = Vec::with_capacity(RANGE_BITS * MAX_PARTIES);
        for party in 0..MAX_PARTIES {
            let party = u32::try_from(party).expect("MAX_PARTIES is 64");
            g.extend(chain(b'G', party, RANGE_BITS));
            h.extend(chain(b'H', party, RANGE_BITS));
        }
        FlatGens { g, h }
    })
}

/// A parsed proof: the points already decompressed and checked not to be the identity (the crate's
/// `validate_and_append_point`), the scalars canonical.
struct Parsed {
    a: CompressedRistretto,
    s: CompressedRistretto,
    t1: CompressedRistretto,
    t2: CompressedRistretto,
    points: [RistrettoPoint; 4],
    t_x: Scalar,
    t_x_blinding: Scalar,
    e_blinding: Scalar,
    l: Vec<(CompressedRistretto, RistrettoPoint)>,
    r: Vec<(CompressedRistretto, RistrettoPoint)>,
    ipp_a: Scalar,
    ipp_b: Scalar,
}

fn read32(bytes: &[u8], at: usize) -> Option<[u8; 32]> {
    bytes.get(at..at + 32)?.try_into().ok()
}

/// The points of a proof: decompressed here, or the ones its decoding kept
/// ([`RangeProofBytes`](crate::range::RangeProofBytes)), which are the same points (decoding
/// decompressed them from these very bytes). Either way the identity is refused, from its
/// encoding, as the crate's `validate_and_append_point` does.
struct Points<'a> {
    bytes: &'a [u8],
    kept: Option<&'a [RistrettoPoint]>,
    next: usize,
}

impl Points<'_> {
    /// The point encoded at `at`, the `next`-th of the proof.
    fn point(&mut self, at: usize) -> Option<(CompressedRistretto, RistrettoPoint)> {
        let c = CompressedRistretto(read32(self.bytes, at)?);
        if c.is_identity() {
            return None;
        }
        let p = match self.kept {
            Some(kept) => *kept.get(self.next)?,
            None => c.decompress()?,
        };
        self.next += 1;
        Some((c, p))
    }
}

fn scalar(bytes: &[u8], at: usize) -> Option<Scalar> {
    Option::from(Scalar::from_canonical_bytes(read32(bytes, at)?))
}

/// Parses the layout `A, S, T1, T2, t_x, t_x_blinding, e_blinding, (L_i, R_i)*, a, b`, requiring
/// exactly the number of rounds a proof over `m` values of `bits` bits has (any other length
/// fails the crate's `lg_n` check). `kept` are the points decoding kept, if any (used only when
/// there is exactly one per point of the layout).
fn parse(
    bytes: &[u8],
    kept: Option<&[RistrettoPoint]>,
    outputs: usize,
    bits: usize,
) -> Option<Parsed> {
    if bytes.len() != proof_len_bits(outputs, bits) {
        return None;
    }
    let rounds = (bytes.len() / 32 - 9) / 2;
    let mut points = Points {
        bytes,
        kept: kept.filter(|k| k.len() == 4 + 2 * rounds),
        next: 0,
    };
    let (a, pa) = points.point(0)?;
    let (s, ps) = points.point(32)?;
    let (t1, pt1) = points.point(64)?;
    let (t2, pt2) = points.point(96)?;
    let t_x = scalar(bytes, 128)?;
    let t_x_blinding = scalar(bytes, 160)?;
    let e_blinding = scalar(bytes, 192)?;
    let mut l = Vec::with_capacity(rounds);
    let mut r = Vec::with_capacity(rounds);
    for k in 0..rounds {
        let at = 224 + 64 * k;
        l.push(points.point(at)?);
        r.push(points.point(at + 32)?);
    }
    let at = 224 + 64 * rounds;
    Some(Parsed {
        a,
        s,
        t1,
        t2,
        points: [pa, ps, pt1, pt2],
        t_x,
        t_x_blinding,
        e_blinding,
        l,
        r,
        ipp_a: scalar(bytes, at)?,
        ipp_b: scalar(bytes, at + 32)?,
    })
}

/// Where one proof's weighted equation goes: coefficients of the shared generators are added in
/// place, the proof's own points are pushed.
pub(crate) struct Accumulator {
    /// Coefficients of the flattened `G` generators.
    pub(crate) g: Vec<Scalar>,
    /// Coefficients of the flattened `H` generators.
    pub(crate) h: Vec<Scalar>,
    /// Coefficient of `B` (the value base).
    pub(crate) b: Scalar,
    /// Coefficient of `B_blinding`.
    pub(crate) b_blinding: Scalar,
    /// The per-proof scalars, paired with `points`.
    pub(crate) scalars: Vec<Scalar>,
    /// The per-proof points.
    pub(crate) points: Vec<RistrettoPoint>,
}

impl Accumulator {
    pub(crate) fn new() -> Self {
        let len = RANGE_BITS * MAX_PARTIES;
        Accumulator {
            g: vec![Scalar::ZERO; len],
            h: vec![Scalar::ZERO; len],
            b: Scalar::ZERO,
            b_blinding: Scalar::ZERO,
            scalars: Vec::new(),
            points: Vec::new(),
        }
    }
}

/// The terms one range proof adds to the batch, computed before anything is added so that a proof
/// that fails to parse leaves the accumulator untouched.
pub(crate) struct RangeTerms {
    parsed: Parsed,
    x: Scalar,
    y_inv: Scalar,
    z: Scalar,
    w: Scalar,
    delta: Scalar,
    u_sq: Vec<Scalar>,
    u_inv_sq: Vec<Scalar>,
    s: Vec<Scalar>,
    m: usize,
    /// Bits per value (64 for amounts, 16 for disclosed limbs).
    bits: usize,
    commitments: Vec<RistrettoPoint>,
}

/// 1 + x + … + x^(n−1).
fn sum_of_powers(x: &Scalar, n: usize) -> Scalar {
    let mut sum = Scalar::ZERO;
    let mut power = Scalar::ONE;
    for _ in 0..n {
        sum += power;
        power *= x;
    }
    sum
}

/// Parses the proof over `commitments` (the transaction's outputs, before padding) and replays its
/// transcript from `transcript` (the transaction's range transcript). `None` if the proof cannot
/// verify for a reason the crate's verifier also refuses: bad size, bad encoding, identity points.
/// `kept` are the proof's points as its decoding kept them (`RangeProofBytes::points`), so that
/// they are not decompressed a second time; `None` decompresses them here.
pub(crate) fn prepare(
    transcript: &mut Transcript,
    commitments: &[(CompressedRistretto, RistrettoPoint)],
    proof: &[u8],
    kept: Option<&[RistrettoPoint]>,
    padding: &CompressedRistretto,
) -> Option<RangeTerms> {
    prepare_bits(transcript, commitments, proof, kept, padding, RANGE_BITS)
}

/// [`prepare`] for a proof over values of `bits` bits (8, 16, 32 or 64, as the crate accepts):
/// the 16-bit proof over a disclosure's limbs. Party `j`'s bit `i` uses the flattened generator
/// `j·RANGE_BITS + i` (the crate's `G(n, m)` takes the first `n` of each party's chain).
pub(crate) fn prepare_bits(
    transcript: &mut Transcript,
    commitments: &[(CompressedRistretto, RistrettoPoint)],
    proof: &[u8],
    kept: Option<&[RistrettoPoint]>,
    padding: &CompressedRistretto,
    bits: usize,
) -> Option<RangeTerms> {
    if commitments.is_empty()
        || commitments.len() > MAX_PARTIES
        || !matches!(bits, 8 | 16 | 32 | 64)
    {
        return None;
    }
    let parsed = parse(proof, kept, commitments.len(), bits)?;
    let m = padded_len(commitments.len());
    let nm = bits * m;

    // RangeProof::verify_multiple_with_rng: domain separator, V…, A, S, y, z, T1, T2, x, the three
    // scalars, w.
    transcript.append_message(b"dom-sep", b"rangeproof v1");
    transcript.append_u64(b"n", bits as u64);
    transcript.append_u64(b"m", m as u64);
    for (c, _) in commitments {
        transcript.append_message(b"V", c.as_bytes());
    }
    for _ in commitments.len()..m {
        transcript.append_message(b"V", padding.as_bytes());
    }
    transcript.append_message(b"A", parsed.a.as_bytes());
    transcript.append_message(b"S", parsed.s.as_bytes());
    let y = challenge(transcript, b"y");
    let z = challenge(transcript, b"z");
    transcript.append_message(b"T_1", parsed.t1.as_bytes());
    transcript.append_message(b"T_2", parsed.t2.as_bytes());
    let x = challenge(transcript, b"x");
    transcript.append_message(b"t_x", parsed.t_x.as_bytes());
    transcript.append_message(b"t_x_blinding", parsed.t_x_blinding.as_bytes());
    transcript.append_message(b"e_blinding", parsed.e_blinding.as_bytes());
    let w = challenge(transcript, b"w");

    // InnerProductProof::verification_scalars.
    transcript.append_message(b"dom-sep", b"ipp v1");
    transcript.append_u64(b"n", nm as u64);
    let rounds = parsed.l.len();
    let mut u = Vec::with_capacity(rounds);
    for ((l, _), (r, _)) in parsed.l.iter().zip(&parsed.r) {
        transcript.append_message(b"L", l.as_bytes());
        transcript.append_message(b"R", r.as_bytes());
        u.push(challenge(transcript, b"u"));
    }
    // A zero challenge (probability 2^-252 per hash) would make the inversions meaningless; refuse
    // rather than let `batch_invert` divide by zero.
    if y == Scalar::ZERO || u.contains(&Scalar::ZERO) {
        return None;
    }
    let mut u_inv = u.clone();
    let all_inv = Scalar::batch_invert(&mut u_inv);
    let u_sq: Vec<Scalar> = u.iter().map(|v| v * v).collect();
    let u_inv_sq: Vec<Scalar> = u_inv.iter().map(|v| v * v).collect();
    let mut s = Vec::with_capacity(nm);
    s.push(all_inv);
    for i in 1..nm {
        let lg_i = usize::BITS - 1 - i.leading_zeros();
        let lg_i = usize::try_from(lg_i).expect("a bit index fits in usize");
        let k = 1usize << lg_i;
        s.push(s[i - k] * u_sq[(rounds - 1) - lg_i]);
    }

    let zz = z * z;
    let delta = (z - zz) * sum_of_powers(&y, nm)
        - zz * z * sum_of_powers(&Scalar::from(2u64), bits) * sum_of_powers(&z, m);

    Some(RangeTerms {
        parsed,
        x,
        y_inv: y.invert(),
        z,
        w,
        delta,
        u_sq,
        u_inv_sq,
        s,
        m,
        bits,
        commitments: commitments.iter().map(|(_, p)| *p).collect(),
    })
}

fn challenge(t: &mut Transcript, label: &'static [u8]) -> Scalar {
    let mut wide = [0u8; 64];
    t.challenge_bytes(label, &mut wide);
    Scalar::from_bytes_mod_order_wide(&wide)
}

impl RangeTerms {
    /// The number of values the proof aggregates after padding (the parties whose generators it
    /// uses).
    pub(crate) fn parties(&self) -> usize {
        self.m
    }

    /// Adds `weight` times the proof's check equation, with `c` combining its two parts (the
    /// crate's own random `c`), to `acc`. The padding commitments are `B_blinding`, so their terms
    /// go to its coefficient instead of adding points.
    pub(crate) fn add_to(&self, acc: &mut Accumulator, weight: Scalar, c: Scalar) {
        let p = &self.parsed;
        let (x, z, r) = (self.x, self.z, weight);
        let zz = z * z;
        let rc = r * c;

        acc.scalars.extend([r, r * x, rc * x, rc * x * x]);
        acc.points.extend(p.points);
        for (sq, (_, l)) in self.u_sq.iter().zip(&p.l) {
            acc.scalars.push(r * sq);
            acc.points.push(*l);
        }
        for (sq, (_, rp)) in self.u_inv_sq.iter().zip(&p.r) {
            acc.scalars.push(r * sq);
            acc.points.push(*rp);
        }
        acc.b_blinding += r * (-p.e_blinding - c * p.t_x_blinding);
        acc.b += r * (self.w * (p.t_x - p.ipp_a * p.ipp_b) + c * (self.delta - p.t_x));

        let nm = self.s.len();
        let rz = r * z;
        let ra = r * p.ipp_a;
        // For party j and bit i, with k = j·n + i: g_k = −z − a·s_k and
        // h_k = z + y^−k·(z²·z^j·2^i − b·s_{nm−1−k}); all times the weight. The generator of
        // (j, i) is at j·RANGE_BITS + i in the flattened lists (the same as k when n = 64).
        let mut z_party = zz;
        let mut y_inv_pow = r;
        for party in 0..self.m {
            let mut two_pow = z_party;
            for bit in 0..self.bits {
                let k = party * self.bits + bit;
                let i = party * RANGE_BITS + bit;
                acc.g[i] -= rz + ra * self.s[k];
                acc.h[i] += rz + y_inv_pow * (two_pow - p.ipp_b * self.s[nm - 1 - k]);
                two_pow += two_pow;
                y_inv_pow *= self.y_inv;
            }
            z_party *= z;
        }

        // V_k has coefficient c·z²·z^k.
        let mut zk = rc * zz;
        for k in 0..self.m {
            match self.commitments.get(k) {
                Some(v) => {
                    acc.scalars.push(zk);
                    acc.points.push(*v);
                }
                None => acc.b_blinding += zk,
            }
            zk *= z;
        }
    }
}
