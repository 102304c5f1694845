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

use einsum::ndarray::{Array2, ArrayD, IxDyn};
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

#[cfg(test)]
mod tests {
    use super::every_form;
    use einsum::ndarray::array;

    #[test]
    fn forms_compute() {
        let m = array![[1, 2], [3, 4]];
        // m·m = [[7, 10], [15, 22]]; sum(m) = 10; trace = 5; row sums 3 + 7.
        assert_eq!(every_form(&m).unwrap(), [54, 54, 15, 10]);
    }
}
