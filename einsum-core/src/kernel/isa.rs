//! The instruction sets the hot kernels are built for, the one this CPU
//! runs, and [`multiversion!`], which builds a kernel body for each.

/// Defines `unsafe fn $name`, which runs `$body` (an `#[inline(always)]`
/// function of the same signature and safety contract, plus a last const
/// parameter `B: u8`, one of [`BASELINE`], [`AVX2`] and [`AVX512`]) built
/// for AVX-512, for AVX2 or for the build's own target, whichever this CPU
/// runs ([`isa`]): one `#[target_feature]` wrapper per instruction set, as
/// matrixmultiply does, written once here.
///
/// Each build is then its own instance of the body, with its own copies of
/// the closures inside, which the compiler inlines into that build and
/// compiles with its registers. One shared closure, called from three
/// builds, would stay out of line, in baseline code.
///
/// With `=> $body, x86_64 baseline $portable`, an x86-64 CPU without AVX2
/// (and FMA) runs `$portable`, a function of the same signature and
/// contract, instead of a baseline build of the body: such CPUs are rare,
/// and the build is not worth its share of this crate's. Miri and other
/// architectures still run the body's baseline build.
///
/// With `, widest avx2` at the end, no AVX-512 build is made: AVX-512 CPUs
/// run the AVX2 build, for bodies where the wider build is no faster.
#[doc(hidden)]
#[macro_export]
macro_rules! multiversion {
    // The `_` arm: the portable function on x86-64 when one is given, else
    // the body's baseline build.
    (@baseline [] $body:ident [$($g:tt)*] ($($arg:ident),*)) => {
        // SAFETY: the caller's promise.
        unsafe { $body::<$($g,)* { $crate::support::isa::BASELINE }>($($arg),*) }
    };
    (@baseline [$portable:ident] $body:ident [$($g:tt)*] ($($arg:ident),*)) => {{
        // SAFETY (both): the caller's promise, which `$portable` shares.
        #[cfg(all(target_arch = "x86_64", not(miri)))]
        let done = unsafe { $portable::<$($g),*>($($arg),*) };
        #[cfg(not(all(target_arch = "x86_64", not(miri))))]
        let done = unsafe { $body::<$($g,)* { $crate::support::isa::BASELINE }>($($arg),*) };
        done
    }};
    // The AVX-512 CPU's build: its own, or with `widest avx2` the AVX2 one.
    (@widest [] [$($g:tt)*] ($($arg:ident),*)) => {
        // SAFETY: `isa` found the CPU has these features; the caller's
        // promise is passed on.
        unsafe { avx512::<$($g),*>($($arg),*) }
    };
    (@widest [avx2] [$($g:tt)*] ($($arg:ident),*)) => {
        // SAFETY: AVX-512 CPUs have AVX2 and FMA (`isa`); the caller's
        // promise is passed on.
        unsafe { avx2::<$($g),*>($($arg),*) }
    };
    (
        $(#[$meta:meta])*
        $vis:vis unsafe fn $name:ident<$($g:ident: $bound:path),* $(; const $c:ident: $ct:ty)?>(
            $($arg:ident: $ty:ty),* $(,)?
        ) => $body:ident $(, x86_64 baseline $portable:ident)? $(, widest $widest:ident)?;
    ) => {
        $(#[$meta])*
        $vis unsafe fn $name<$($g: $bound),* $(, const $c: $ct)?>($($arg: $ty),*) {
            // Never instantiated, so never compiled, with `widest avx2`.
            #[cfg(all(target_arch = "x86_64", not(miri)))]
            #[allow(dead_code)]
            #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
            unsafe fn avx512<$($g: $bound),* $(, const $c: $ct)?>($($arg: $ty),*) {
                // SAFETY: the caller's promise.
                unsafe { $body::<$($g,)* $($c,)? { $crate::support::isa::AVX512 }>($($arg),*) }
            }
            #[cfg(all(target_arch = "x86_64", not(miri)))]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2<$($g: $bound),* $(, const $c: $ct)?>($($arg: $ty),*) {
                // SAFETY: the caller's promise.
                unsafe { $body::<$($g,)* $($c,)? { $crate::support::isa::AVX2 }>($($arg),*) }
            }
            match $crate::support::isa::isa() {
                #[cfg(all(target_arch = "x86_64", not(miri)))]
                $crate::support::isa::Isa::Avx512 => {
                    $crate::multiversion!(@widest [$($widest)?] [$($g)* $($c)?] ($($arg),*))
                }
                // SAFETY: `isa` found the CPU has these features; the
                // caller's promise is passed on.
                #[cfg(all(target_arch = "x86_64", not(miri)))]
                $crate::support::isa::Isa::Avx2 => unsafe { avx2::<$($g,)* $($c)?>($($arg),*) },
                _ => $crate::multiversion!(@baseline [$($portable)?] $body [$($g)* $($c)?] ($($arg),*)),
            }
        }
    };
}

/// The build for the target's own baseline: other machines, and Miri.
pub const BASELINE: u8 = 0;
/// The AVX2 build, with FMA.
pub const AVX2: u8 = 1;
/// The AVX-512 build (F, DQ, VL and BW; FMA included).
pub const AVX512: u8 = 2;

/// Whether build `b` fuses multiply-adds: the baseline has no FMA
/// instruction, where a fused multiply-add is a slow library call.
#[inline(always)]
pub const fn fuses(b: u8) -> bool {
    b != BASELINE
}

/// The instruction sets the hot kernels are also built for, each behind a
/// `#[target_feature]` wrapper around an `#[inline(always)]` body, as
/// matrixmultiply does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
// Under Miri and off x86-64 only the baseline is ever picked.
#[cfg_attr(any(miri, not(target_arch = "x86_64")), allow(dead_code))]
pub enum Isa {
    /// AVX-512 F, DQ, VL and BW.
    Avx512,
    /// AVX2 with FMA.
    Avx2,
    /// The build's own target, and everything under Miri.
    Baseline,
}

/// The widest of [`Isa`] this CPU runs (detected once, then cached by std).
#[inline]
pub fn isa() -> Isa {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512bw")
        {
            return Isa::Avx512;
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Isa::Avx2;
        }
    }
    Isa::Baseline
}
