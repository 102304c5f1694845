//! Kernels: the code that reads operands and writes results, once every shape
//! has been checked.

mod gemm;
mod nest;
mod run;

pub(crate) use nest::contract;
