//! Note selection: which of the wallet's notes a payment spends. Pure, so online payments, redemptions
//! and a later offline purse share it.
//!
//! Rule: if one note covers the amount, spend the smallest such note (no extra notes are touched, and
//! large notes are kept for large payments). Otherwise take notes largest first until the amount is
//! covered: that uses the fewest inputs, so if it needs more than the input limit, no selection fits.

use dfc_core::{Amount, NoteId};

/// A spendable note as selection sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The note.
    pub id: NoteId,
    /// Its amount.
    pub amount: Amount,
}

/// The notes chosen and what they add up to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Chosen notes, in the order they will be spent.
    pub notes: Vec<Candidate>,
    /// Their sum (at least the target).
    pub total: Amount,
    /// `total - target`: the change back to the wallet.
    pub change: Amount,
}

/// Why no selection exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SelectError {
    /// The candidates do not add up to the target.
    Insufficient {
        /// Sum of all candidates.
        available: Amount,
        /// The target.
        asked: Amount,
    },
    /// The target needs more notes than allowed.
    TooManyInputs {
        /// Fewest notes that cover the target.
        needed: usize,
        /// The limit.
        limit: usize,
    },
}

/// Selects notes from `candidates` covering `target` with at most `max_inputs` notes. Zero-amount
/// notes are never chosen: they add an input and nothing else.
pub fn select(
    candidates: &[Candidate],
    target: Amount,
    max_inputs: usize,
) -> Result<Selection, SelectError> {
    let mut usable: Vec<Candidate> = candidates
        .iter()
        .copied()
        .filter(|c| c.amount > Amount::ZERO)
        .collect();
    // Deterministic order: by amount, then id.
    usable.sort_by(|a, b| a.amount.cmp(&b.amount).then(a.id.cmp(&b.id)));
    let available = Amount::sum(usable.iter().map(|c| c.amount)).unwrap_or(Amount::ZERO);
    if available < target || usable.is_empty() {
        return Err(SelectError::Insufficient {
            available,
            asked: target,
        });
    }
    let finish = |notes: Vec<Candidate>| {
        let total = Amount::sum(notes.iter().map(|c| c.amount))
            .expect("a subset of a summable set is summable");
        let change = total
            .checked_sub(target)
            .expect("selection covers the target");
        Selection {
            notes,
            total,
            change,
        }
    };
    if let Some(one) = usable.iter().find(|c| c.amount >= target) {
        return Ok(finish(vec![*one]));
    }
    let mut chosen = Vec::new();
    let mut sum = Amount::ZERO;
    for c in usable.iter().rev() {
        chosen.push(*c);
        sum = sum.checked_add(c.amount).expect("bounded by available");
        if sum >= target {
            break;
        }
    }
    if chosen.len() > max_inputs {
        return Err(SelectError::TooManyInputs {
            needed: chosen.len(),
            limit: max_inputs,
        });
    }
    Ok(finish(chosen))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfc_core::Hash32;
    use proptest::prelude::*;

    fn cands(amounts: &[u64]) -> Vec<Candidate> {
        amounts
            .iter()
            .enumerate()
            .map(|(i, a)| Candidate {
                id: Hash32([u8::try_from(i).unwrap_or(u8::MAX); 32]),
                amount: Amount::from_units(*a).expect("small"),
            })
            .collect()
    }
    fn amt(u: u64) -> Amount {
        Amount::from_units(u).expect("small")
    }

    #[test]
    fn smallest_sufficient_single_note() {
        let s = select(&cands(&[500, 100, 300, 1000]), amt(250), 16).expect("select");
        assert_eq!(s.notes.len(), 1);
        assert_eq!(s.total, amt(300));
        assert_eq!(s.change, amt(50));
    }

    #[test]
    fn largest_first_when_no_single_note_covers() {
        let s = select(&cands(&[100, 200, 300, 50]), amt(450), 16).expect("select");
        let picked: Vec<u64> = s.notes.iter().map(|c| c.amount.units()).collect();
        assert_eq!(picked, vec![300, 200]);
        assert_eq!(s.change, amt(50));
        let exact = select(&cands(&[100, 200]), amt(300), 2).expect("select");
        assert_eq!(exact.change, Amount::ZERO);
    }

    #[test]
    fn insufficient_names_available_and_asked() {
        assert_eq!(
            select(&cands(&[100, 200, 0]), amt(301), 16),
            Err(SelectError::Insufficient {
                available: amt(300),
                asked: amt(301)
            })
        );
        assert!(matches!(
            select(&[], amt(1), 16),
            Err(SelectError::Insufficient { .. })
        ));
    }

    #[test]
    fn input_limit() {
        assert_eq!(
            select(&cands(&[10; 5]), amt(45), 4),
            Err(SelectError::TooManyInputs {
                needed: 5,
                limit: 4
            })
        );
        assert!(select(&cands(&[10; 5]), amt(40), 4).is_ok());
    }

    proptest! {
        #[test]
        fn selection_covers_target_within_limit(amounts in proptest::collection::vec(0u64..10_000, 0..30), target in 1u64..50_000, limit in 1usize..16) {
            let c = cands(&amounts);
            match select(&c, amt(target), limit) {
                Ok(s) => {
                    prop_assert!(s.total >= amt(target));
                    prop_assert!(s.notes.len() <= limit && !s.notes.is_empty());
                    prop_assert_eq!(s.total.units() - target, s.change.units());
                    let mut ids: Vec<_> = s.notes.iter().map(|n| n.id).collect();
                    ids.dedup();
                    prop_assert_eq!(ids.len(), s.notes.len());
                }
                Err(SelectError::Insufficient { available, .. }) => prop_assert!(available.units() < target),
                Err(SelectError::TooManyInputs { needed, limit: l }) => prop_assert!(needed > l),
            }
        }
    }
}
