fn expansion() {
    let _ = match (w, k) {
        (__einsum_op0, __einsum_op1) => {
            #[diagnostic::on_unimplemented(
                message = "operand 0 has the wrong number of axes: its term \"xyij\" in \"xyij,ij->xy\" needs 4 axes, but its dimension type is `{Self}`",
                label = "dimension type `{Self}`",
                note = "an operand of dynamic rank (`IxDyn`) is checked when the call runs"
            )]
            trait Operand0NeedsRank4 {}
            #[diagnostic::do_not_recommend]
            impl Operand0NeedsRank4 for ::einsum::__private::Ix4 {}
            #[diagnostic::do_not_recommend]
            impl Operand0NeedsRank4 for ::einsum::__private::IxDyn {}
            trait CheckOperand0 {
                type Elem;
                fn check_operand_0(
                    &self,
                ) -> ::einsum::__private::RawOperand<'_, Self::Elem>;
            }
            impl<O: ::einsum::__private::Operand + ?::core::marker::Sized> CheckOperand0
            for O
            where
                <O as ::einsum::__private::Operand>::Dim: Operand0NeedsRank4,
            {
                type Elem = <O as ::einsum::__private::Operand>::Elem;
                #[inline(always)]
                fn check_operand_0(
                    &self,
                ) -> ::einsum::__private::RawOperand<'_, Self::Elem> {
                    ::einsum::__private::Operand::einsum_operand(self)
                }
            }
            #[diagnostic::on_unimplemented(
                message = "operand 1 has the wrong number of axes: its term \"ij\" in \"xyij,ij->xy\" needs 2 axes, but its dimension type is `{Self}`",
                label = "dimension type `{Self}`",
                note = "an operand of dynamic rank (`IxDyn`) is checked when the call runs"
            )]
            trait Operand1NeedsRank2 {}
            #[diagnostic::do_not_recommend]
            impl Operand1NeedsRank2 for ::einsum::__private::Ix2 {}
            #[diagnostic::do_not_recommend]
            impl Operand1NeedsRank2 for ::einsum::__private::IxDyn {}
            trait CheckOperand1<O: ?::core::marker::Sized> {
                type Elem;
                fn check_operand_1(
                    self,
                    operand: &O,
                ) -> ::einsum::__private::RawOperand<'_, Self::Elem>;
            }
            impl<
                T,
                O: ::einsum::__private::Operand + ?::core::marker::Sized,
            > CheckOperand1<O> for ::einsum::__private::PhantomData<T>
            where
                <O as ::einsum::__private::Operand>::Dim: Operand1NeedsRank2,
                <O as ::einsum::__private::Operand>::Elem: ::einsum::__private::SameElem<
                    T,
                >,
            {
                type Elem = T;
                #[inline(always)]
                fn check_operand_1(
                    self,
                    operand: &O,
                ) -> ::einsum::__private::RawOperand<'_, T> {
                    <<O as ::einsum::__private::Operand>::Elem as ::einsum::__private::SameElem<
                        T,
                    >>::same_operand(
                        ::einsum::__private::Operand::einsum_operand(operand),
                    )
                }
            }
            const __EINSUM_SPEC: ::einsum::__private::Spec = ::einsum::__private::Spec::new(
                "xyij,ij->xy",
                b"xyij",
                &[
                    ::einsum::__private::Term::new(
                        "xyij",
                        &[0, 1, 2, 3],
                        ::core::option::Option::None,
                    ),
                    ::einsum::__private::Term::new(
                        "ij",
                        &[2, 3],
                        ::core::option::Option::None,
                    ),
                ],
                ::einsum::__private::Term::new(
                    "xy",
                    &[0, 1],
                    ::core::option::Option::None,
                ),
            );
            #[allow(unused_braces)]
            let __einsum_fixed0: usize = const { 3 };
            #[allow(unused_braces)]
            let __einsum_fixed1: usize = const { 3 };
            let __einsum_v0 = CheckOperand0::check_operand_0(&__einsum_op0);
            let __einsum_elem = ::einsum::__private::elem_of(&__einsum_v0);
            let __einsum_v1 = CheckOperand1::check_operand_1(
                __einsum_elem,
                &__einsum_op1,
            );
            let __einsum_small_value = '__einsum_small: {
                let __einsum_n2: usize = __einsum_fixed0;
                let __einsum_n3: usize = __einsum_fixed1;
                let ::core::option::Option::Some(__einsum_sh0) = __einsum_v0
                    .shape_of::<4>() else {
                    break '__einsum_small <::core::option::Option<_>>::None
                };
                let __einsum_n0: usize = __einsum_sh0[0];
                let __einsum_n1: usize = __einsum_sh0[1];
                let ::core::option::Option::Some(__einsum_sh1) = __einsum_v1
                    .shape_of::<2>() else {
                    break '__einsum_small <::core::option::Option<_>>::None
                };
                let ::core::option::Option::Some(__einsum_s0) = __einsum_v0
                    .small([__einsum_n0, __einsum_n1, __einsum_n2, __einsum_n3]) else {
                    break '__einsum_small <::core::option::Option<_>>::None
                };
                let ::core::option::Option::Some(__einsum_s1) = __einsum_v1
                    .small([__einsum_n2, __einsum_n3]) else {
                    break '__einsum_small <::core::option::Option<_>>::None
                };
                let __einsum_rows_value = '__einsum_rows: {
                    if !::einsum::__private::rows_fit(__einsum_n1) {
                        break '__einsum_rows <::core::option::Option<_>>::None;
                    }
                    let ::core::option::Option::Some(__einsum_f0) = __einsum_s0
                        .lines::<1>() else {
                        break '__einsum_rows <::core::option::Option<_>>::None
                    };
                    struct __EinsumRows<'__einsum_a, __EinsumT> {
                        __einsum_f0: ::einsum::__private::Lines<
                            '__einsum_a,
                            __EinsumT,
                            4,
                            1,
                        >,
                        __einsum_f1: ::einsum::__private::Small<
                            '__einsum_a,
                            __EinsumT,
                            2,
                        >,
                        __einsum_sizes: [usize; 4],
                    }
                    impl<
                        '__einsum_a,
                        __EinsumT: ::einsum::__private::Scalar,
                    > ::einsum::__private::RowKernel<__EinsumT, 2>
                    for __EinsumRows<'__einsum_a, __EinsumT> {
                        #[inline(always)]
                        fn rows<const B: u8>(
                            &self,
                            __einsum_out: &mut ::einsum::__private::RowsOut<
                                '_,
                                __EinsumT,
                                2,
                            >,
                            __einsum_lo: usize,
                            __einsum_hi: usize,
                        ) {
                            let __einsum_n0: usize = self.__einsum_sizes[0];
                            let __einsum_n1: usize = self.__einsum_sizes[1];
                            for __einsum_i0 in __einsum_lo..__einsum_hi {
                                let __einsum_r0_0_0 = &self
                                    .__einsum_f0
                                    .line([__einsum_i0, 0, 0, 0])[..__einsum_n1];
                                let __einsum_r1_0_0 = self.__einsum_f1.get([0, 0]);
                                let __einsum_r0_0_1 = &self
                                    .__einsum_f0
                                    .line([__einsum_i0, 0, 0, 1])[..__einsum_n1];
                                let __einsum_r1_0_1 = self.__einsum_f1.get([0, 1]);
                                let __einsum_r0_0_2 = &self
                                    .__einsum_f0
                                    .line([__einsum_i0, 0, 0, 2])[..__einsum_n1];
                                let __einsum_r1_0_2 = self.__einsum_f1.get([0, 2]);
                                let __einsum_r0_1_0 = &self
                                    .__einsum_f0
                                    .line([__einsum_i0, 0, 1, 0])[..__einsum_n1];
                                let __einsum_r1_1_0 = self.__einsum_f1.get([1, 0]);
                                let __einsum_r0_1_1 = &self
                                    .__einsum_f0
                                    .line([__einsum_i0, 0, 1, 1])[..__einsum_n1];
                                let __einsum_r1_1_1 = self.__einsum_f1.get([1, 1]);
                                let __einsum_r0_1_2 = &self
                                    .__einsum_f0
                                    .line([__einsum_i0, 0, 1, 2])[..__einsum_n1];
                                let __einsum_r1_1_2 = self.__einsum_f1.get([1, 2]);
                                let __einsum_r0_2_0 = &self
                                    .__einsum_f0
                                    .line([__einsum_i0, 0, 2, 0])[..__einsum_n1];
                                let __einsum_r1_2_0 = self.__einsum_f1.get([2, 0]);
                                let __einsum_r0_2_1 = &self
                                    .__einsum_f0
                                    .line([__einsum_i0, 0, 2, 1])[..__einsum_n1];
                                let __einsum_r1_2_1 = self.__einsum_f1.get([2, 1]);
                                let __einsum_r0_2_2 = &self
                                    .__einsum_f0
                                    .line([__einsum_i0, 0, 2, 2])[..__einsum_n1];
                                let __einsum_r1_2_2 = self.__einsum_f1.get([2, 2]);
                                __einsum_out
                                    .set_row(
                                        [__einsum_i0, 0],
                                        __einsum_n1,
                                        |__einsum_i1| {
                                            let mut __einsum_acc = ::einsum::__private::Scalar::zero();
                                            __einsum_acc = ::einsum::__private::madd::<
                                                B,
                                                _,
                                            >(
                                                __einsum_acc,
                                                __einsum_r0_0_0[__einsum_i1],
                                                __einsum_r1_0_0,
                                            );
                                            __einsum_acc = ::einsum::__private::madd::<
                                                B,
                                                _,
                                            >(
                                                __einsum_acc,
                                                __einsum_r0_0_1[__einsum_i1],
                                                __einsum_r1_0_1,
                                            );
                                            __einsum_acc = ::einsum::__private::madd::<
                                                B,
                                                _,
                                            >(
                                                __einsum_acc,
                                                __einsum_r0_0_2[__einsum_i1],
                                                __einsum_r1_0_2,
                                            );
                                            __einsum_acc = ::einsum::__private::madd::<
                                                B,
                                                _,
                                            >(
                                                __einsum_acc,
                                                __einsum_r0_1_0[__einsum_i1],
                                                __einsum_r1_1_0,
                                            );
                                            __einsum_acc = ::einsum::__private::madd::<
                                                B,
                                                _,
                                            >(
                                                __einsum_acc,
                                                __einsum_r0_1_1[__einsum_i1],
                                                __einsum_r1_1_1,
                                            );
                                            __einsum_acc = ::einsum::__private::madd::<
                                                B,
                                                _,
                                            >(
                                                __einsum_acc,
                                                __einsum_r0_1_2[__einsum_i1],
                                                __einsum_r1_1_2,
                                            );
                                            __einsum_acc = ::einsum::__private::madd::<
                                                B,
                                                _,
                                            >(
                                                __einsum_acc,
                                                __einsum_r0_2_0[__einsum_i1],
                                                __einsum_r1_2_0,
                                            );
                                            __einsum_acc = ::einsum::__private::madd::<
                                                B,
                                                _,
                                            >(
                                                __einsum_acc,
                                                __einsum_r0_2_1[__einsum_i1],
                                                __einsum_r1_2_1,
                                            );
                                            __einsum_acc = ::einsum::__private::madd::<
                                                B,
                                                _,
                                            >(
                                                __einsum_acc,
                                                __einsum_r0_2_2[__einsum_i1],
                                                __einsum_r1_2_2,
                                            );
                                            __einsum_acc
                                        },
                                    );
                            }
                        }
                    }
                    let __einsum_kernel = __EinsumRows {
                        __einsum_f0,
                        __einsum_f1: __einsum_s1,
                        __einsum_sizes: [
                            __einsum_n0,
                            __einsum_n1,
                            __einsum_n2,
                            __einsum_n3,
                        ],
                    };
                    ::einsum::__private::run_rows_new::<
                        _,
                        ::einsum::__private::Ix2,
                        _,
                        2,
                        4,
                    >(
                        &__einsum_kernel,
                        [__einsum_n0, __einsum_n1],
                        [__einsum_n0, __einsum_n1, __einsum_n2, __einsum_n3],
                    )
                };
                if ::core::option::Option::is_some(&__einsum_rows_value) {
                    break '__einsum_small __einsum_rows_value;
                }
                if !::einsum::__private::small_enough([
                    __einsum_n0,
                    __einsum_n1,
                    __einsum_n2,
                    __einsum_n3,
                ]) {
                    break '__einsum_small <::core::option::Option<_>>::None;
                }
                let ::core::option::Option::Some(mut __einsum_o) = ::einsum::__private::SmallOut::<
                    _,
                    ::einsum::__private::Ix2,
                    2,
                >::new([__einsum_n0, __einsum_n1]) else {
                    break '__einsum_small <::core::option::Option<_>>::None
                };
                for __einsum_i0 in 0..__einsum_n0 {
                    for __einsum_i1 in 0..__einsum_n1 {
                        __einsum_o
                            .set(
                                [__einsum_i0, __einsum_i1],
                                {
                                    let mut __einsum_acc = ::einsum::__private::Scalar::zero();
                                    for __einsum_i2 in 0..__einsum_n2 {
                                        for __einsum_i3 in 0..__einsum_n3 {
                                            __einsum_acc = ::einsum::__private::Scalar::add(
                                                __einsum_acc,
                                                ::einsum::__private::Scalar::mul(
                                                    __einsum_s0
                                                        .get([__einsum_i0, __einsum_i1, __einsum_i2, __einsum_i3]),
                                                    __einsum_s1.get([__einsum_i2, __einsum_i3]),
                                                ),
                                            );
                                        }
                                    }
                                    __einsum_acc
                                },
                            );
                    }
                }
                ::core::option::Option::Some(__einsum_o.finish())
            };
            match __einsum_small_value {
                ::core::option::Option::Some(__einsum_value) => __einsum_value,
                ::core::option::Option::None => {
                    match ::einsum::__private::einsum_owned::<
                        _,
                        ::einsum::__private::Ix2,
                        2,
                        4,
                    >(
                        &__EINSUM_SPEC,
                        [__einsum_v0, __einsum_v1],
                        &[(2, __einsum_fixed0), (3, __einsum_fixed1)],
                        ::core::option::Option::None,
                    ) {
                        ::core::result::Result::Ok(__einsum_value) => __einsum_value,
                        ::core::result::Result::Err(__einsum_error) => {
                            ::core::panic!("{}", __einsum_error)
                        }
                    }
                }
            }
        }
    };
}
