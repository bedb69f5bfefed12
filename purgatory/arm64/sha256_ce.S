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
	cbz	x3, .Lnone
	cbz	x2, .Lnone
	mrs	x4, CurrentEL
	ubfx	x4, x4, #2, #2
	cmp	x4, #2
	b.eq	.Lel2
	b.hi	.Lnone			/* EL3: leave it to the portable code */
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
