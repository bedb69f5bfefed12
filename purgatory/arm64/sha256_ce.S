/*
 * arm64 hardware SHA-256 (ARMv8 SHA2 instructions) for kx_arch_sha256_blocks (kx.h).
 *
 * int kx_arch_sha256_blocks(u32 h[8], const u8 *p, u64 nblocks)
 *   Returns 0 without touching h when ID_AA64ISAR0_EL1.SHA2 (bits 15:12) is 0, so the
 *   portable core runs; otherwise enables FP/SIMD for the current EL (CPACR_EL1.FPEN at EL1;
 *   CPTR_EL2.TFP, or FPEN when HCR_EL2.E2H is set, at EL2), hashes the blocks and returns 1.
 *
 * The 64 round constants are loaded once per call into v16-v31; the state lives in v0/v1
 * (a,b,c,d / e,f,g,h: h[] loads straight into the lanes), the block's starting state in
 * v2/v3, the message in v4-v7 (byte-element loads: no alignment fault on Device memory),
 * temporaries in v8/v9 (callee-saved low halves: saved on the stack once per call).
 * Per block: one 64-byte load, four rev32, and per 4 rounds add + mov + sha256h + sha256h2
 * (+ sha256su0/su1 for the first 12 groups).
 */
	.arch	armv8-a
	.arch_extension	sha2

	.text
	.balign	4
	.globl	kx_arch_sha256_blocks
	.type	kx_arch_sha256_blocks, %function
kx_arch_sha256_blocks:
	mrs	x3, ID_AA64ISAR0_EL1
	ubfx	x3, x3, #12, #4
	cbz	x2, .Lnone
	cbz	x3, .Lscalar
	mrs	x4, CurrentEL
	ubfx	x4, x4, #2, #2
	cmp	x4, #2
	b.eq	.Lel2
	b.hi	.Lscalar		/* EL3: leave FP/SIMD alone */
	mrs	x5, CPACR_EL1
	orr	x5, x5, #(3 << 20)	/* FPEN = 3: no FP/SIMD traps at EL1/EL0 */
	msr	CPACR_EL1, x5
	b	.Lfp_on
.Lel2:
	mrs	x5, HCR_EL2
	tbnz	x5, #34, .Lvhe		/* E2H: CPTR_EL2 has the CPACR layout */
	mrs	x5, CPTR_EL2
	and	x5, x5, #~(1 << 10)	/* TFP = 0 */
	msr	CPTR_EL2, x5
	b	.Lfp_on
.Lvhe:
	mrs	x5, CPTR_EL2
	orr	x5, x5, #(3 << 20)
	msr	CPTR_EL2, x5
.Lfp_on:
	isb
	stp	d8, d9, [sp, #-16]!
	adr	x3, .Lk
	ld1	{v16.4s-v19.4s}, [x3], #64
	ld1	{v20.4s-v23.4s}, [x3], #64
	ld1	{v24.4s-v27.4s}, [x3], #64
	ld1	{v28.4s-v31.4s}, [x3]
	ld1	{v0.4s, v1.4s}, [x0]

	/* Four rounds with constants \k on message words \m0; with \s, then extend the schedule:
	 * \m0 becomes the words 16 later, from \m0..\m3. */
	.macro	quad k, m0, m1, m2, m3, s
	add	v8.4s, \m0\().4s, \k\().4s
	.if \s
	sha256su0	\m0\().4s, \m1\().4s
	.endif
	mov	v9.16b, v0.16b
	sha256h	q0, q1, v8.4s
	sha256h2	q1, q9, v8.4s
	.if \s
	sha256su1	\m0\().4s, \m2\().4s, \m3\().4s
	.endif
	.endm

.Lblock:
	ld1	{v4.16b-v7.16b}, [x1], #64
	mov	v2.16b, v0.16b
	mov	v3.16b, v1.16b
	rev32	v4.16b, v4.16b
	rev32	v5.16b, v5.16b
	rev32	v6.16b, v6.16b
	rev32	v7.16b, v7.16b
	quad	v16, v4, v5, v6, v7, 1
	quad	v17, v5, v6, v7, v4, 1
	quad	v18, v6, v7, v4, v5, 1
	quad	v19, v7, v4, v5, v6, 1
	quad	v20, v4, v5, v6, v7, 1
	quad	v21, v5, v6, v7, v4, 1
	quad	v22, v6, v7, v4, v5, 1
	quad	v23, v7, v4, v5, v6, 1
	quad	v24, v4, v5, v6, v7, 1
	quad	v25, v5, v6, v7, v4, 1
	quad	v26, v6, v7, v4, v5, 1
	quad	v27, v7, v4, v5, v6, 1
	quad	v28, v4, v5, v6, v7, 0
	quad	v29, v5, v6, v7, v4, 0
	quad	v30, v6, v7, v4, v5, 0
	quad	v31, v7, v4, v5, v6, 0
	add	v0.4s, v0.4s, v2.4s
	add	v1.4s, v1.4s, v3.4s
	subs	x2, x2, #1
	b.ne	.Lblock

	st1	{v0.4s, v1.4s}, [x0]
	ldp	d8, d9, [sp], #16
	mov	w0, #1
	ret
.Lnone:
	mov	w0, #0
	ret

/*
 * Scalar path when the SHA2 instructions are absent (or at EL3): the portable C core spills
 * (clang keeps ~30 live values in 31 registers badly: ~0.7 data accesses/byte), so this is the
 * same algorithm with the allocation done by hand and nothing spilled per block but one load:
 *   w3-w10 a..h, w11-w17/w19-w27 the 16-word schedule window,
 *   w28/w29 scratch and Maj carry, swapping roles every round: the carry holds this round's
 *     b^c (the last round's a^b); the round computes its a^b in its scratch, which becomes the
 *     next round's carry, and the spent carry becomes the next round's scratch,
 *   x0/x2/x18/x30 the block's starting state packed two words a register (a|b<<32, ...),
 *   x1 the message; round constants are movz/movk immediates.
 * h (the state pointer) and the end of the message live in a stack slot for the whole call.
 * Per block: 8 message loads (ldr x + rev + lsr gives two words) and one load of the end
 * pointer for the loop test: 9 data accesses per 64 bytes, no stores.
 */
	/* h += K + W + S1(e) + Ch(e,f,g); d += h; h += S0(a) + Maj(a,b,c).
	 * s: scratch (left holding a^b, the next round's carry); c: carry b^c (left spent). */
	.macro	rnd a, b, c, d, e, f, g, h, s, cy, k, w
	movz	\s, #((\k) & 0xffff)
	movk	\s, #((\k) >> 16), lsl #16
	add	\h, \h, \s
	add	\h, \h, \w
	eor	\s, \e, \e, ror #5
	eor	\s, \s, \e, ror #19
	ror	\s, \s, #6
	add	\h, \h, \s
	bic	\s, \g, \e
	add	\h, \h, \s
	and	\s, \f, \e
	add	\h, \h, \s
	add	\d, \d, \h
	eor	\s, \a, \a, ror #11
	eor	\s, \s, \a, ror #20
	ror	\s, \s, #2
	add	\h, \h, \s
	eor	\s, \a, \b
	and	\cy, \cy, \s
	eor	\cy, \cy, \b
	add	\h, \h, \cy
	.endm

	/* w0 += s0(w1) + w9 + s1(w14), with the scratch s */
	.macro	sched w0, w1, w9, w14, s
	ror	\s, \w1, #7
	eor	\s, \s, \w1, ror #18
	eor	\s, \s, \w1, lsr #3
	add	\w0, \w0, \s
	ror	\s, \w14, #17
	eor	\s, \s, \w14, ror #19
	eor	\s, \s, \w14, lsr #10
	add	\w0, \w0, \s
	add	\w0, \w0, \w9
	.endm

	/* Words i and i+1 of the block: one 8-byte load, byte-reversed; hi = w[i], lo = w[i+1]. */
	.macro	ld2 ra, rb, off
	ldr	x\rb, [x1, #\off]
	rev	x\rb, x\rb
	lsr	x\ra, x\rb, #32
	.endm

	/* Final addition: two state words from one packed register (which it consumes). */
	.macro	unpk lo, hi, x
	add	\lo, \lo, w\x
	lsr	x\x, x\x, #32
	add	\hi, \hi, w\x
	.endm

.Lscalar:
	stp	x19, x20, [sp, #-112]!
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	add	x2, x1, x2, lsl #6	/* end of the message */
	stp	x0, x2, [sp, #96]
	ldp	w3, w4, [x0]
	ldp	w5, w6, [x0, #8]
	ldp	w7, w8, [x0, #16]
	ldp	w9, w10, [x0, #24]
.Lsblock:
	orr	x0, x3, x4, lsl #32
	orr	x2, x5, x6, lsl #32
	orr	x18, x7, x8, lsl #32
	orr	x30, x9, x10, lsl #32
	eor	w29, w4, w5		/* b ^ c: the first round's carry */
	ld2	11, 12, 0
	rnd	w3, w4, w5, w6, w7, w8, w9, w10, w28, w29, 0x428a2f98, w11
	rnd	w10, w3, w4, w5, w6, w7, w8, w9, w29, w28, 0x71374491, w12
	ld2	13, 14, 8
	rnd	w9, w10, w3, w4, w5, w6, w7, w8, w28, w29, 0xb5c0fbcf, w13
	rnd	w8, w9, w10, w3, w4, w5, w6, w7, w29, w28, 0xe9b5dba5, w14
	ld2	15, 16, 16
	rnd	w7, w8, w9, w10, w3, w4, w5, w6, w28, w29, 0x3956c25b, w15
	rnd	w6, w7, w8, w9, w10, w3, w4, w5, w29, w28, 0x59f111f1, w16
	ld2	17, 19, 24
	rnd	w5, w6, w7, w8, w9, w10, w3, w4, w28, w29, 0x923f82a4, w17
	rnd	w4, w5, w6, w7, w8, w9, w10, w3, w29, w28, 0xab1c5ed5, w19
	ld2	20, 21, 32
	rnd	w3, w4, w5, w6, w7, w8, w9, w10, w28, w29, 0xd807aa98, w20
	rnd	w10, w3, w4, w5, w6, w7, w8, w9, w29, w28, 0x12835b01, w21
	ld2	22, 23, 40
	rnd	w9, w10, w3, w4, w5, w6, w7, w8, w28, w29, 0x243185be, w22
	rnd	w8, w9, w10, w3, w4, w5, w6, w7, w29, w28, 0x550c7dc3, w23
	ld2	24, 25, 48
	rnd	w7, w8, w9, w10, w3, w4, w5, w6, w28, w29, 0x72be5d74, w24
	rnd	w6, w7, w8, w9, w10, w3, w4, w5, w29, w28, 0x80deb1fe, w25
	ld2	26, 27, 56
	rnd	w5, w6, w7, w8, w9, w10, w3, w4, w28, w29, 0x9bdc06a7, w26
	rnd	w4, w5, w6, w7, w8, w9, w10, w3, w29, w28, 0xc19bf174, w27
	sched	w11, w12, w21, w26, w28
	rnd	w3, w4, w5, w6, w7, w8, w9, w10, w28, w29, 0xe49b69c1, w11
	sched	w12, w13, w22, w27, w29
	rnd	w10, w3, w4, w5, w6, w7, w8, w9, w29, w28, 0xefbe4786, w12
	sched	w13, w14, w23, w11, w28
	rnd	w9, w10, w3, w4, w5, w6, w7, w8, w28, w29, 0x0fc19dc6, w13
	sched	w14, w15, w24, w12, w29
	rnd	w8, w9, w10, w3, w4, w5, w6, w7, w29, w28, 0x240ca1cc, w14
	sched	w15, w16, w25, w13, w28
	rnd	w7, w8, w9, w10, w3, w4, w5, w6, w28, w29, 0x2de92c6f, w15
	sched	w16, w17, w26, w14, w29
	rnd	w6, w7, w8, w9, w10, w3, w4, w5, w29, w28, 0x4a7484aa, w16
	sched	w17, w19, w27, w15, w28
	rnd	w5, w6, w7, w8, w9, w10, w3, w4, w28, w29, 0x5cb0a9dc, w17
	sched	w19, w20, w11, w16, w29
	rnd	w4, w5, w6, w7, w8, w9, w10, w3, w29, w28, 0x76f988da, w19
	sched	w20, w21, w12, w17, w28
	rnd	w3, w4, w5, w6, w7, w8, w9, w10, w28, w29, 0x983e5152, w20
	sched	w21, w22, w13, w19, w29
	rnd	w10, w3, w4, w5, w6, w7, w8, w9, w29, w28, 0xa831c66d, w21
	sched	w22, w23, w14, w20, w28
	rnd	w9, w10, w3, w4, w5, w6, w7, w8, w28, w29, 0xb00327c8, w22
	sched	w23, w24, w15, w21, w29
	rnd	w8, w9, w10, w3, w4, w5, w6, w7, w29, w28, 0xbf597fc7, w23
	sched	w24, w25, w16, w22, w28
	rnd	w7, w8, w9, w10, w3, w4, w5, w6, w28, w29, 0xc6e00bf3, w24
	sched	w25, w26, w17, w23, w29
	rnd	w6, w7, w8, w9, w10, w3, w4, w5, w29, w28, 0xd5a79147, w25
	sched	w26, w27, w19, w24, w28
	rnd	w5, w6, w7, w8, w9, w10, w3, w4, w28, w29, 0x06ca6351, w26
	sched	w27, w11, w20, w25, w29
	rnd	w4, w5, w6, w7, w8, w9, w10, w3, w29, w28, 0x14292967, w27
	sched	w11, w12, w21, w26, w28
	rnd	w3, w4, w5, w6, w7, w8, w9, w10, w28, w29, 0x27b70a85, w11
	sched	w12, w13, w22, w27, w29
	rnd	w10, w3, w4, w5, w6, w7, w8, w9, w29, w28, 0x2e1b2138, w12
	sched	w13, w14, w23, w11, w28
	rnd	w9, w10, w3, w4, w5, w6, w7, w8, w28, w29, 0x4d2c6dfc, w13
	sched	w14, w15, w24, w12, w29
	rnd	w8, w9, w10, w3, w4, w5, w6, w7, w29, w28, 0x53380d13, w14
	sched	w15, w16, w25, w13, w28
	rnd	w7, w8, w9, w10, w3, w4, w5, w6, w28, w29, 0x650a7354, w15
	sched	w16, w17, w26, w14, w29
	rnd	w6, w7, w8, w9, w10, w3, w4, w5, w29, w28, 0x766a0abb, w16
	sched	w17, w19, w27, w15, w28
	rnd	w5, w6, w7, w8, w9, w10, w3, w4, w28, w29, 0x81c2c92e, w17
	sched	w19, w20, w11, w16, w29
	rnd	w4, w5, w6, w7, w8, w9, w10, w3, w29, w28, 0x92722c85, w19
	sched	w20, w21, w12, w17, w28
	rnd	w3, w4, w5, w6, w7, w8, w9, w10, w28, w29, 0xa2bfe8a1, w20
	sched	w21, w22, w13, w19, w29
	rnd	w10, w3, w4, w5, w6, w7, w8, w9, w29, w28, 0xa81a664b, w21
	sched	w22, w23, w14, w20, w28
	rnd	w9, w10, w3, w4, w5, w6, w7, w8, w28, w29, 0xc24b8b70, w22
	sched	w23, w24, w15, w21, w29
	rnd	w8, w9, w10, w3, w4, w5, w6, w7, w29, w28, 0xc76c51a3, w23
	sched	w24, w25, w16, w22, w28
	rnd	w7, w8, w9, w10, w3, w4, w5, w6, w28, w29, 0xd192e819, w24
	sched	w25, w26, w17, w23, w29
	rnd	w6, w7, w8, w9, w10, w3, w4, w5, w29, w28, 0xd6990624, w25
	sched	w26, w27, w19, w24, w28
	rnd	w5, w6, w7, w8, w9, w10, w3, w4, w28, w29, 0xf40e3585, w26
	sched	w27, w11, w20, w25, w29
	rnd	w4, w5, w6, w7, w8, w9, w10, w3, w29, w28, 0x106aa070, w27
	sched	w11, w12, w21, w26, w28
	rnd	w3, w4, w5, w6, w7, w8, w9, w10, w28, w29, 0x19a4c116, w11
	sched	w12, w13, w22, w27, w29
	rnd	w10, w3, w4, w5, w6, w7, w8, w9, w29, w28, 0x1e376c08, w12
	sched	w13, w14, w23, w11, w28
	rnd	w9, w10, w3, w4, w5, w6, w7, w8, w28, w29, 0x2748774c, w13
	sched	w14, w15, w24, w12, w29
	rnd	w8, w9, w10, w3, w4, w5, w6, w7, w29, w28, 0x34b0bcb5, w14
	sched	w15, w16, w25, w13, w28
	rnd	w7, w8, w9, w10, w3, w4, w5, w6, w28, w29, 0x391c0cb3, w15
	sched	w16, w17, w26, w14, w29
	rnd	w6, w7, w8, w9, w10, w3, w4, w5, w29, w28, 0x4ed8aa4a, w16
	sched	w17, w19, w27, w15, w28
	rnd	w5, w6, w7, w8, w9, w10, w3, w4, w28, w29, 0x5b9cca4f, w17
	sched	w19, w20, w11, w16, w29
	rnd	w4, w5, w6, w7, w8, w9, w10, w3, w29, w28, 0x682e6ff3, w19
	sched	w20, w21, w12, w17, w28
	rnd	w3, w4, w5, w6, w7, w8, w9, w10, w28, w29, 0x748f82ee, w20
	sched	w21, w22, w13, w19, w29
	rnd	w10, w3, w4, w5, w6, w7, w8, w9, w29, w28, 0x78a5636f, w21
	sched	w22, w23, w14, w20, w28
	rnd	w9, w10, w3, w4, w5, w6, w7, w8, w28, w29, 0x84c87814, w22
	sched	w23, w24, w15, w21, w29
	rnd	w8, w9, w10, w3, w4, w5, w6, w7, w29, w28, 0x8cc70208, w23
	sched	w24, w25, w16, w22, w28
	rnd	w7, w8, w9, w10, w3, w4, w5, w6, w28, w29, 0x90befffa, w24
	sched	w25, w26, w17, w23, w29
	rnd	w6, w7, w8, w9, w10, w3, w4, w5, w29, w28, 0xa4506ceb, w25
	sched	w26, w27, w19, w24, w28
	rnd	w5, w6, w7, w8, w9, w10, w3, w4, w28, w29, 0xbef9a3f7, w26
	sched	w27, w11, w20, w25, w29
	rnd	w4, w5, w6, w7, w8, w9, w10, w3, w29, w28, 0xc67178f2, w27
	unpk	w3, w4, 0
	unpk	w5, w6, 2
	unpk	w7, w8, 18
	unpk	w9, w10, 30
	ldr	x28, [sp, #104]
	add	x1, x1, #64
	cmp	x1, x28
	b.ne	.Lsblock
	ldr	x0, [sp, #96]
	stp	w3, w4, [x0]
	stp	w5, w6, [x0, #8]
	stp	w7, w8, [x0, #16]
	stp	w9, w10, [x0, #24]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	x19, x20, [sp], #112
	mov	w0, #1
	ret
	.size	kx_arch_sha256_blocks, . - kx_arch_sha256_blocks

	/* FIPS 180-4, 4.2.2: first 32 bits of the fractional parts of the cube roots of the
	 * first 64 primes. Kept in .text beside the code (PC-relative adr, no relocation). */
	.balign	16
.Lk:
	.word	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5
	.word	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174
	.word	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da
	.word	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967
	.word	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85
	.word	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070
	.word	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3
	.word	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
