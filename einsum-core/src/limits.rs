//! The limits every layer agrees on: how many axes a call may have, how
//! much work one loop nest may count, and the room of a call's tables.

/// The most axes one operand, or one expression (its distinct labels plus
/// `...` dimensions), may have: numpy's own limit on the number of
/// dimensions.
///
/// ```
/// use einsum::{try_einsum, ErrorKind, MAX_AXES};
/// use einsum::ndarray::{ArrayD, IxDyn};
///
/// let a = ArrayD::<f64>::ones(IxDyn(&[1; 65]));
/// let e = try_einsum!("...->", &a).unwrap_err();
/// assert_eq!(
///     e.kind(),
///     &ErrorKind::TooManyAxes { operand: Some(0), axes: 65, max: MAX_AXES }
/// );
/// assert_eq!(
///     e.to_string(),
///     "einsum \"...->\": operand 0 has 65 axes, more than the 64 an einsum supports"
/// );
/// ```
pub const MAX_AXES: usize = 64;

/// The most points one loop nest (or one pairwise step) may have: an
/// `isize` counts them, as numpy's iterator does. More could never finish,
/// and would overflow the kernels' counts and offsets.
pub(crate) const MAX_WORK: u128 = isize::MAX as u128;

/// The room for loop axes of a call whose call site has at most this many
/// (its labels, without a `...`); others have [`MAX_AXES`]. Room costs time
/// on every call: the tables are set up and moved whole, and a 5000-element
/// dot product paid 400 ns a call for tables of 64.
pub(crate) const SMALL_TABLE: usize = 8;

/// Calls of three up to this many operands share one instance of the call
/// per element type, its tables with room for this many; each count still
/// runs its own loop nest. Calls of more are compiled where they are made.
pub(crate) const MANY_OPERANDS: usize = 6;
