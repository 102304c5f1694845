//! Kernels: the code that reads operands and writes results, once every
//! shape has been checked.
//!
//! - [`dispatch`](mod@dispatch): which kernel takes a contraction;
//! - [`nest`]: the general strided loop nest, and [`inner`], its innermost
//!   runs (sums, stores), and [`transpose`], tile by tile; [`many`]: the
//!   nest of three or more operands; [`walk`]: how a nest goes over its
//!   points;
//! - [`matrix`]: a two-operand contraction read as GEMM, and [`gemm`],
//!   which GEMM kernel takes it: the `gemm` crate, [`window`] (rows of A
//!   that overlap, as a convolution's windows do), [`dots`] (K in rows of
//!   both operands, small products), [`skinny`] and
//!   `skinny512` (a few output columns), [`blocked`] (integers), and
//!   [`pack`], B copied so that K is one dimension; [`product`]: a
//!   product the call site read from its expression, straight to `gemm`;
//! - [`scaled`]: a contraction with `alpha` and `beta`, blended into its
//!   output; [`extreme`]: `reduce = max` and `reduce = min`; [`scatter`]:
//!   a product, or a tile of results, added into windows that overlap;
//! - [`isa`]: a build of each hot kernel per instruction set; [`pool`]
//!   and [`scratch`]: threads and working memory.

#[macro_use]
pub mod isa;
mod blocked;
mod dispatch;
mod dots;
mod extreme;
mod gemm;
mod inner;
mod many;
mod matrix;
mod nest;
mod pack;
pub(crate) mod pool;
pub(crate) mod product;
mod scaled;
mod scatter;
mod scratch;
mod skinny;
#[cfg(all(target_arch = "x86_64", not(miri)))]
mod skinny512;
mod transpose;
mod walk;
mod window;
#[cfg(all(target_arch = "x86_64", not(miri)))]
mod window512;

pub(crate) use dispatch::{contract, dispatch};
pub(crate) use extreme::contract_extreme_erased;
pub(crate) use many::contract_many_erased;
pub(crate) use scaled::contract_scaled_erased;
pub(crate) use scatter::{add_product_erased, add_tile_erased};
pub(crate) use scratch::with_tile;
