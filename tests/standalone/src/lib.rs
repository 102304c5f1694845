//! Depends on `einsum` alone: the expansions must resolve with no `ndarray`
//! or `einsum_runtime` in scope, and stay clean under strict lints.

#![deny(
    warnings,
    unused_qualifications,
    unused_results,
    unsafe_code,
    missing_docs
)]
#![deny(clippy::all, clippy::pedantic)]

use einsum::ndarray::{Array, Array2, ArrayD, Dimension, Ix2, IxDyn};
use einsum::{einsum, einsum_into, try_einsum, try_einsum_into, EinsumError};

/// Every form on a 2×2 matrix; returns the results' sums.
///
/// # Errors
/// Never, for these shapes.
pub fn every_form(m: &Array2<i64>) -> Result<[i64; 4], EinsumError> {
    let product = einsum!("ij,jk->ik", m, m);
    let implicit = try_einsum!("ij,jk", m, m.view(); j = 2)?;
    let mut transposed = Array2::<i64>::zeros((2, 2));
    einsum_into!(&mut transposed, "ij->ji", m);
    let mut rows = ArrayD::<i64>::zeros(IxDyn(&[2]));
    try_einsum_into!(&mut rows, "...i,i->...", m, &[1, 1][..])?;
    let trace: i64 = einsum!("ii", m);
    Ok([
        product.sum(),
        implicit.sum(),
        transposed.sum() + trace,
        rows.sum(),
    ])
}

/// Sums every element, for any dimension type: a term that is only `...`
/// takes operands of a generic dimension.
pub fn total<D: Dimension>(a: &Array<i64, D>) -> i64 {
    einsum!("...->", a)
}

/// Expansions that must not trip over the caller's names or lints: a
/// constant named like a binding of the expansion, a braced size, a cast to a
/// generic type as an operand.
#[must_use]
pub fn awkward_calls(m: &Array2<i64>) -> [i64; 2] {
    #[allow(non_upper_case_globals)]
    const value: i64 = 1;
    #[allow(non_upper_case_globals)]
    const error: i64 = 2;
    let trace: i64 = einsum!("ii", m as &Array<i64, Ix2>; i = { 1 + 1 });
    [trace + value, error]
}

#[cfg(test)]
mod tests {
    use super::{awkward_calls, every_form, total};
    use einsum::ndarray::{Array3, ArrayD, IxDyn};

    #[test]
    fn generic_and_awkward_calls() {
        let m = einsum::ndarray::array![[1, 2], [3, 4]];
        assert_eq!(awkward_calls(&m), [6, 2]);
        assert_eq!(total(&m), 10);
        assert_eq!(total(&Array3::<i64>::ones((2, 3, 4))), 24);
        assert_eq!(total(&ArrayD::<i64>::ones(IxDyn(&[2, 2, 2, 2, 2]))), 32);
    }

    use einsum::ndarray::array;

    #[test]
    fn forms_compute() {
        let m = array![[1, 2], [3, 4]];
        // m·m = [[7, 10], [15, 22]]; sum(m) = 10; trace = 5; row sums 3 + 7.
        assert_eq!(every_form(&m).unwrap(), [54, 54, 15, 10]);
    }
}
