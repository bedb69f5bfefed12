/*
 * SHA-256 block function for the ppc64 purgatory, all in registers (FIPS 180-4, 6.2.2).
 *
 *   int kx_arch_sha256_blocks(u32 h[8], const u8 *p, u64 nblocks)    (ELFv2, leaf)
 *
 * Hashes nblocks 64-byte blocks at p (8-byte aligned, kx_sha256_update guarantees it) into
 * h and returns 1. It overrides the weak default in common/sha256_arch.c, so the portable C
 * core never runs on ppc64: the C core spills (about 1.7 data accesses per byte), this file
 * does 10 data accesses per 64-byte block (8 message loads, one store and one load of the
 * saved g/h pair). With caches off every instruction fetch and data access is a trip to
 * memory, which is what this is shaped for.
 *
 * No run-time detection: only base integer instructions are used, plus ldbrx (byte-reversed
 * doubleword load, Power ISA 2.06 = POWER7) on little-endian; every CPU the purgatory runs
 * on (built for POWER8) has it. Big-endian ppc64 uses plain ld. No VSX/AltiVec.
 *
 * Registers (29 usable: r0, r3-r12, r14-r31; r1 stack, r2 TOC and r13 untouched):
 *   a..h   r14-r21   working variables; the names rotate by one each round (macro
 *                    arguments), so nothing is moved. Never r0: addis/addi read rA=0 as 0.
 *   W0-W15 r0, r3-r12, r22-r26   the 16-word message schedule window, W[t] in W(t mod 16),
 *                    updated in place for t >= 16.
 *   T0/T1  r27, r28  one scratch and one carry, swapping roles every round (below).
 *   AB,CD,EF r29-r31 chaining value of the block, two words per register; g/h is packed
 *                    into one stack slot (the one value with no register left).
 *   LR = p (message pointer, advanced per block), CTR = blocks left, h[] pointer on stack.
 *
 * Every value is a 32-bit word in the low half of a 64-bit register; the high half may hold
 * garbage: rlwinm (rotlwi/rotrwi) reads only the low word, add/xor/and produce a correct low
 * word from correct low words, and stw stores the low word.
 *
 * One round, 24 instructions, one scratch register (T):
 *   Sigma1(e) = rotr(e ^ rotr(e ^ rotr(e,14), 5), 6)  = rotr6 ^ rotr11 ^ rotr25
 *   Sigma0(a) = rotr(a ^ rotr(a ^ rotr(a,9), 11), 2)  = rotr2 ^ rotr13 ^ rotr22
 *   Ch(e,f,g) = g ^ (e & (f ^ g))
 *   Maj(a,b,c) = b ^ ((a ^ b) & (b ^ c)): a ^ b of this round is b ^ c of the next, so it
 *              is kept (the carry Y) and Maj costs three instructions. The register that
 *              held the carry is free once Maj is formed and becomes the next scratch.
 *   the round constant is added with addis/addi (high-adjusted/low halves): no table.
 * Schedule, 13 instructions, W[t] = W[t-16] + s0(W[t-15]) + W[t-7] + s1(W[t-2]):
 *   s0(x) = rotr7 ^ rotr18 ^ (x >> 3)  = rotr(x ^ rotr(x ^ rotl(x >> 3, 18), 11), 7)
 *   s1(x) = rotr17 ^ rotr19 ^ (x >> 10) = rotr(x ^ rotr(x ^ rotl(x >> 10, 19), 2), 17)
 *   where rotl(x >> 3, 18) = rotl(x, 15) with bits 15..17 cleared = rlwinm x,15,17,13 and
 *   rotl(x >> 10, 19) = rotl(x, 9) with bits 9..18 cleared = rlwinm x,9,23,12 (wrapping
 *   masks, IBM bit numbering), so each sigma is 5 instructions with one scratch register.
 */

#define A 14
#define B 15
#define C 16
#define D 17
#define E 18
#define F 19
#define G 20
#define H 21
#define W0 0
#define W1 3
#define W2 4
#define W3 5
#define W4 6
#define W5 7
#define W6 8
#define W7 9
#define W8 10
#define W9 11
#define W10 12
#define W11 22
#define W12 23
#define W13 24
#define W14 25
#define W15 26
#define T0 27
#define T1 28
#define AB 29
#define CD 30
#define EF 31

/* Stack frame: ELFv2 header (32 bytes), h[] pointer, packed g/h, r14-r31. */
#define FR_STATE 32
#define FR_GH 40
#define FR_GPR 48
#define FRAME (FR_GPR + 18 * 8)		/* 192, a multiple of 16 */

	.abiversion 2

/* One round: t is free on entry and holds a ^ b (the next carry) on exit; y (b ^ c) is used
 * up. d += T1, h = T1 + Sigma0(a) + Maj(a,b,c). */
.macro RND a, b, c, d, e, f, g, h, k, w, t, y
	rotrwi	\t, \e, 14
	xor	\t, \t, \e
	rotrwi	\t, \t, 5
	xor	\t, \t, \e
	rotrwi	\t, \t, 6
	add	\h, \h, \t
	xor	\t, \f, \g
	and	\t, \t, \e
	xor	\t, \t, \g
	add	\h, \h, \t
	addis	\h, \h, \k@ha
	addi	\h, \h, \k@l
	add	\h, \h, \w
	add	\d, \d, \h
	rotrwi	\t, \a, 9
	xor	\t, \t, \a
	rotrwi	\t, \t, 11
	xor	\t, \t, \a
	rotrwi	\t, \t, 2
	add	\h, \h, \t
	xor	\t, \a, \b
	and	\y, \y, \t
	xor	\y, \y, \b
	add	\h, \h, \y
.endm

/* w0 = W[t-16] becomes W[t]; w1 = W[t-15], w9 = W[t-7], w14 = W[t-2]; t is scratch. */
.macro SCHED w0, w1, w9, w14, t
	add	\w0, \w0, \w9
	rlwinm	\t, \w1, 15, 17, 13
	xor	\t, \t, \w1
	rotrwi	\t, \t, 11
	xor	\t, \t, \w1
	rotrwi	\t, \t, 7
	add	\w0, \w0, \t
	rlwinm	\t, \w14, 9, 23, 12
	xor	\t, \t, \w14
	rotrwi	\t, \t, 2
	xor	\t, \t, \w14
	rotrwi	\t, \t, 17
	add	\w0, \w0, \t
.endm

/* Eight rounds; afterwards the names a..h and T0/T1 are back where they started. */
.macro R8 ka, kb, kc, kd, ke, kf, kg, kh, wa, wb, wc, wd, we, wf, wg, wh
	RND	A, B, C, D, E, F, G, H, \ka, \wa, T0, T1
	RND	H, A, B, C, D, E, F, G, \kb, \wb, T1, T0
	RND	G, H, A, B, C, D, E, F, \kc, \wc, T0, T1
	RND	F, G, H, A, B, C, D, E, \kd, \wd, T1, T0
	RND	E, F, G, H, A, B, C, D, \ke, \we, T0, T1
	RND	D, E, F, G, H, A, B, C, \kf, \wf, T1, T0
	RND	C, D, E, F, G, H, A, B, \kg, \wg, T0, T1
	RND	B, C, D, E, F, G, H, A, \kh, \wh, T1, T0
.endm

/* Eight rounds that first extend the window: W(j) for j = i..i+7, i = 0 or 8 (mod 16). */
.macro SR8 ka, kb, kc, kd, ke, kf, kg, kh, x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15
	SCHED	\x0, \x1, \x9, \x14, T0
	RND	A, B, C, D, E, F, G, H, \ka, \x0, T0, T1
	SCHED	\x1, \x2, \x10, \x15, T1
	RND	H, A, B, C, D, E, F, G, \kb, \x1, T1, T0
	SCHED	\x2, \x3, \x11, \x0, T0
	RND	G, H, A, B, C, D, E, F, \kc, \x2, T0, T1
	SCHED	\x3, \x4, \x12, \x1, T1
	RND	F, G, H, A, B, C, D, E, \kd, \x3, T1, T0
	SCHED	\x4, \x5, \x13, \x2, T0
	RND	E, F, G, H, A, B, C, D, \ke, \x4, T0, T1
	SCHED	\x5, \x6, \x14, \x3, T1
	RND	D, E, F, G, H, A, B, C, \kf, \x5, T1, T0
	SCHED	\x6, \x7, \x15, \x4, T0
	RND	C, D, E, F, G, H, A, B, \kg, \x6, T0, T1
	SCHED	\x7, \x8, \x0, \x5, T1
	RND	B, C, D, E, F, G, H, A, \kh, \x7, T1, T0
.endm

/* Sixteen scheduled rounds (t = 16..63, 16 at a time). */
.macro S16 k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, ka, kb, kc, kd, ke, kf
	SR8	\k0, \k1, \k2, \k3, \k4, \k5, \k6, \k7, W0, W1, W2, W3, W4, W5, W6, W7, W8, W9, W10, W11, W12, W13, W14, W15
	SR8	\k8, \k9, \ka, \kb, \kc, \kd, \ke, \kf, W8, W9, W10, W11, W12, W13, W14, W15, W0, W1, W2, W3, W4, W5, W6, W7
.endm

/* Two message words from one 8-byte big-endian load at (ra|0) + rb (hi = first word). */
.macro LOAD2 hi, lo, ra, rb
#if defined(__LITTLE_ENDIAN__)
	ldbrx	\lo, \ra, \rb
#else
	ldx	\lo, \ra, \rb
#endif
	srdi	\hi, \lo, 32
.endm

/* x = lo | hi << 32 (hi's word in the high half). */
.macro PACK x, lo, hi
	mr	\x, \lo
	rldimi	\x, \hi, 32, 0
.endm

/* lo += low word of x, hi += high word of x; t is scratch. */
.macro UNPACK_ADD x, lo, hi, t
	add	\lo, \lo, \x
	srdi	\t, \x, 32
	add	\hi, \hi, \t
.endm

	.section .text.kx_arch_sha256_blocks, "ax", @progbits
	.p2align 4
	.globl	kx_arch_sha256_blocks
	.type	kx_arch_sha256_blocks, @function
kx_arch_sha256_blocks:
	/* No TOC use: a single (local) entry point. */
	cmpdi	5, 0
	beq	.Ldone
	mflr	0
	std	0, 16(1)
	stdu	1, -FRAME(1)
	.irp	r, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	std	\r, FR_GPR + 8 * (\r - 14)(1)
	.endr
	std	3, FR_STATE(1)
	mtctr	5
	mtlr	4
	lwz	A, 0(3)
	lwz	B, 4(3)
	lwz	C, 8(3)
	lwz	D, 12(3)
	lwz	E, 16(3)
	lwz	F, 20(3)
	lwz	G, 24(3)
	lwz	H, 28(3)

.Lblock:
	/* The block's 16 words: p in T0, T1 = 8 as the second index (T1 is free until the
	 * carry is set below). Then p + 64 goes back to LR for the next block. */
	mflr	T0
	li	T1, 8
	LOAD2	W0, W1, 0, T0
	LOAD2	W2, W3, T0, T1
	addi	T0, T0, 16
	LOAD2	W4, W5, 0, T0
	LOAD2	W6, W7, T0, T1
	addi	T0, T0, 16
	LOAD2	W8, W9, 0, T0
	LOAD2	W10, W11, T0, T1
	addi	T0, T0, 16
	LOAD2	W12, W13, 0, T0
	LOAD2	W14, W15, T0, T1
	addi	T0, T0, 16
	mtlr	T0

	/* Chaining value for the final addition. */
	PACK	AB, A, B
	PACK	CD, C, D
	PACK	EF, E, F
	PACK	T0, G, H
	std	T0, FR_GH(1)
	xor	T1, B, C		/* the first round's carry: b ^ c */

	/* Round constants: FIPS 180-4, 4.2.2 (cube roots of the first 64 primes). */
	R8	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, W0, W1, W2, W3, W4, W5, W6, W7
	R8	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, W8, W9, W10, W11, W12, W13, W14, W15
	S16	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967
	S16	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070
	S16	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2

	UNPACK_ADD AB, A, B, T0
	UNPACK_ADD CD, C, D, T0
	UNPACK_ADD EF, E, F, T0
	ld	T1, FR_GH(1)
	UNPACK_ADD T1, G, H, T0
	bdnz	.Lblock

	ld	3, FR_STATE(1)
	stw	A, 0(3)
	stw	B, 4(3)
	stw	C, 8(3)
	stw	D, 12(3)
	stw	E, 16(3)
	stw	F, 20(3)
	stw	G, 24(3)
	stw	H, 28(3)
	.irp	r, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	ld	\r, FR_GPR + 8 * (\r - 14)(1)
	.endr
	addi	1, 1, FRAME
	ld	0, 16(1)
	mtlr	0
.Ldone:
	li	3, 1
	blr
	.size	kx_arch_sha256_blocks, . - kx_arch_sha256_blocks
