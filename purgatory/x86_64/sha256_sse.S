/*
 * x86_64 SHA-256 block function for CPUs without the SHA extensions: general registers for
 * the rounds, SSE2 registers for the message schedule, the chaining value's copy and nothing
 * else. Written from FIPS 180-4 (sections 4.1.2, 4.2.2, 6.2.2) and the Intel SDM.
 *
 * void kx_sha256_blocks_sse(u32 h[8], const u8 *p, u64 nblocks)   (SysV: rdi, rsi, rdx)
 *   nblocks >= 1 (the caller, kx_arch_sha256_blocks in sha256_ni.S, only calls it so); p of
 *   any alignment. SSE must already be usable (sha256_ni.S enables it at CPL 0). Baseline
 *   x86_64 only: SSE2, no SSSE3/SSE4.1, so no CPUID check is needed.
 *
 * Why this shape: with the caches off every instruction fetch and data access is a memory
 * trip. The C core spills (15 usable GPRs cannot hold 8 state words, round temporaries and a
 * 16-word message window), so here the window lives in xmm0-xmm3 (four words each) and the
 * block's starting state in xmm8-xmm15 (one word each); memory is touched only to read the
 * message (four 16-byte loads per block), h[8] once per call and the six callee-saved pushes.
 * Round constants are 32-bit immediates (add $K, reg).
 *
 * Registers:
 *   eax ebx ecx ebp r8d r9d r10d r11d   working variables a..h (renamed by macro arguments)
 *   r12d                               Sigma temporary
 *   r13d / r14d                        Ch temporary, then a^b; the other one holds the
 *                                      previous round's a^b (= this round's b^c) for Maj:
 *                                      Maj(a,b,c) = ((a^b) & (b^c)) ^ b
 *   r15                                two message words (movq from xmm; shr $32 for the 2nd)
 *   rsi p, rdx end of message, rdi h
 *   xmm0-3 W window, xmm4-6 schedule temporaries, xmm7 upper half of a W quad,
 *   xmm8-15 the block's starting a..h
 */
	.text
	.globl	kx_sha256_blocks_sse
	.type	kx_sha256_blocks_sse, @function

/* One round (FIPS 180-4 6.2.2 step 3):
 *   T1 = h + Sigma1(e) + Ch(e,f,g) + K + W;  d += T1;  h = T1 + Sigma0(a) + Maj(a,b,c)
 * Sigma1(e) = ror(ror(ror(e,14)^e,5)^e,6) = ror6^ror11^ror25;
 * Sigma0(a) = ror(ror(ror(a,9)^a,11)^a,2) = ror2^ror13^ror22.
 * \wsel: which word of the quad \wx this round uses (0: movq low pair into r15; 1, 3: the
 * high word of r15; 2: movq the high pair). \cy holds b^c on entry, \tn is free on entry and
 * holds a^b on exit (the caller swaps the two names for the next round).
 * Order: the terms that do not depend on e (K, W, then Ch) go into h first, so the e -> e
 * path of the next round is Sigma1 plus two adds; Sigma0 + Maj are summed apart (in \cy,
 * free after Maj), one add onto T1. */
	.macro	RND a, b, c, d, e, f, g, h, k, wsel, wx, cy, tn
	addl	$\k, \h
	.if	\wsel == 0
	movq	\wx, %r15
	.elseif	\wsel == 2
	pshufd	$0x0e, \wx, %xmm7
	movq	%xmm7, %r15
	.else
	shrq	$32, %r15
	.endif
	addl	%r15d, \h
	movl	\f, \tn
	xorl	\g, \tn
	andl	\e, \tn
	xorl	\g, \tn
	addl	\tn, \h
	movl	\e, %r12d
	rorl	$14, %r12d
	xorl	\e, %r12d
	rorl	$5, %r12d
	xorl	\e, %r12d
	rorl	$6, %r12d
	addl	%r12d, \h
	addl	\h, \d
	movl	\a, %r12d
	rorl	$9, %r12d
	xorl	\a, %r12d
	rorl	$11, %r12d
	xorl	\a, %r12d
	rorl	$2, %r12d
	movl	\a, \tn
	xorl	\b, \tn
	andl	\tn, \cy
	xorl	\b, \cy
	addl	%r12d, \cy
	addl	\cy, \h
	.endm

/* Four rounds on the quad \wx (an even number, so every quad starts with r13d = b^c). */
	.macro	QUAD a, b, c, d, e, f, g, h, k0, k1, k2, k3, wx
	RND	\a, \b, \c, \d, \e, \f, \g, \h, \k0, 0, \wx, %r13d, %r14d
	RND	\h, \a, \b, \c, \d, \e, \f, \g, \k1, 1, \wx, %r14d, %r13d
	RND	\g, \h, \a, \b, \c, \d, \e, \f, \k2, 2, \wx, %r13d, %r14d
	RND	\f, \g, \h, \a, \b, \c, \d, \e, \k3, 3, \wx, %r14d, %r13d
	.endm

/* \s = the words \n, \n+1, \n+2, \n+3 of the (word-indexed, lane 0 first) 32-word sequence
 * \x, \y: movss puts \y's lane 0 into \x's lane 0, pshufd rotates the lanes down by one. */
	.macro	ALIGN1 x, y, s
	movdqa	\x, \s
	movss	\y, \s
	pshufd	$0x39, \s, \s
	.endm

/* \dst += sigma1 of lanes \sel of \src (pshufd \sel makes the two words w, w duplicated in
 * each 64-bit lane, so psrlq rotates), the two results placed in lanes 0,1 (\hi = 0) or
 * 2,3 (\hi = 1), the other lanes zero. sigma1(x) = ror17 ^ ror19 ^ shr10. */
	.macro	SIGMA1_HALF src, sel, hi, dst
	pshufd	$\sel, \src, %xmm4
	movdqa	%xmm4, %xmm5
	psrld	$10, %xmm5
	psrlq	$17, %xmm4
	pxor	%xmm4, %xmm5
	psrlq	$2, %xmm4
	pxor	%xmm4, %xmm5
	pshufd	$0x08, %xmm5, %xmm5	/* lanes 0, 2 -> 0, 1 */
	.if	\hi
	pslldq	$8, %xmm5		/* -> lanes 2, 3; zeros below */
	.else
	movq	%xmm5, %xmm5		/* zeros above */
	.endif
	paddd	%xmm5, \dst
	.endm

/* FIPS 180-4 6.2.2 step 1, four words at once: with A = W[t-16..t-13], B = W[t-12..t-9],
 * C = W[t-8..t-5], D = W[t-4..t-1], A becomes W[t..t+3] =
 *   sigma1(W[t+j-2]) + W[t+j-7] + sigma0(W[t+j-15]) + W[t+j-16],
 * sigma0(x) = ror7 ^ ror18 ^ shr3 (SSE2 has no rotate: shifts both ways). W[t+2], W[t+3]
 * need W[t], W[t+1]: the sigma1 part is done in two halves. */
	.macro	SCHED A, B, C, D
	ALIGN1	\A, \B, %xmm4		/* W[t-15..t-12] */
	movdqa	%xmm4, %xmm5
	psrld	$3, %xmm5
	movdqa	%xmm5, %xmm6		/* >>3 */
	psrld	$4, %xmm5
	pxor	%xmm5, %xmm6		/* >>7 */
	psrld	$11, %xmm5
	pxor	%xmm5, %xmm6		/* >>18 */
	pslld	$14, %xmm4
	pxor	%xmm4, %xmm6		/* <<14 */
	pslld	$11, %xmm4
	pxor	%xmm4, %xmm6		/* <<25 */
	paddd	%xmm6, \A
	ALIGN1	\C, \D, %xmm4		/* W[t-7..t-4] */
	paddd	%xmm4, \A
	SIGMA1_HALF \D, 0xfa, 0, \A	/* W[t-2], W[t-1] -> lanes 0, 1 */
	SIGMA1_HALF \A, 0x50, 1, \A	/* W[t], W[t+1] (just made) -> lanes 2, 3 */
	.endm

/* Byte-swap each 32-bit lane (SSE2: swap the 16-bit halves, then the bytes in each half). */
	.macro	BSWAP32 x
	pshuflw	$0xb1, \x, \x
	pshufhw	$0xb1, \x, \x
	movdqa	\x, %xmm4
	psrlw	$8, \x
	psllw	$8, %xmm4
	por	%xmm4, \x
	.endm

kx_sha256_blocks_sse:
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	shlq	$6, %rdx
	addq	%rsi, %rdx		/* end of the message */
	movl	(%rdi), %eax
	movl	4(%rdi), %ebx
	movl	8(%rdi), %ecx
	movl	12(%rdi), %ebp
	movl	16(%rdi), %r8d
	movl	20(%rdi), %r9d
	movl	24(%rdi), %r10d
	movl	28(%rdi), %r11d

.Lblock:
	movdqu	(%rsi), %xmm0
	movdqu	16(%rsi), %xmm1
	movdqu	32(%rsi), %xmm2
	movdqu	48(%rsi), %xmm3
	BSWAP32	%xmm0
	BSWAP32	%xmm1
	BSWAP32	%xmm2
	BSWAP32	%xmm3
	movd	%eax, %xmm8
	movd	%ebx, %xmm9
	movd	%ecx, %xmm10
	movd	%ebp, %xmm11
	movd	%r8d, %xmm12
	movd	%r9d, %xmm13
	movd	%r10d, %xmm14
	movd	%r11d, %xmm15
	movl	%ebx, %r13d
	xorl	%ecx, %r13d		/* b ^ c for the first Maj */

	/* Round constants: FIPS 180-4 4.2.2, the first 32 bits of the fractional parts of the
	 * cube roots of the first 64 primes. After each quad the names rotate by four. */
#define SA %eax, %ebx, %ecx, %ebp, %r8d, %r9d, %r10d, %r11d
#define SB %r8d, %r9d, %r10d, %r11d, %eax, %ebx, %ecx, %ebp
	QUAD	SA, 0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, %xmm0
	SCHED	%xmm0, %xmm1, %xmm2, %xmm3
	QUAD	SB, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, %xmm1
	SCHED	%xmm1, %xmm2, %xmm3, %xmm0
	QUAD	SA, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, %xmm2
	SCHED	%xmm2, %xmm3, %xmm0, %xmm1
	QUAD	SB, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, %xmm3
	SCHED	%xmm3, %xmm0, %xmm1, %xmm2
	QUAD	SA, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, %xmm0
	SCHED	%xmm0, %xmm1, %xmm2, %xmm3
	QUAD	SB, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, %xmm1
	SCHED	%xmm1, %xmm2, %xmm3, %xmm0
	QUAD	SA, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, %xmm2
	SCHED	%xmm2, %xmm3, %xmm0, %xmm1
	QUAD	SB, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, %xmm3
	SCHED	%xmm3, %xmm0, %xmm1, %xmm2
	QUAD	SA, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, %xmm0
	SCHED	%xmm0, %xmm1, %xmm2, %xmm3
	QUAD	SB, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, %xmm1
	SCHED	%xmm1, %xmm2, %xmm3, %xmm0
	QUAD	SA, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, %xmm2
	SCHED	%xmm2, %xmm3, %xmm0, %xmm1
	QUAD	SB, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, %xmm3
	SCHED	%xmm3, %xmm0, %xmm1, %xmm2
	QUAD	SA, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, %xmm0
	QUAD	SB, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, %xmm1
	QUAD	SA, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, %xmm2
	QUAD	SB, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2, %xmm3
#undef SA
#undef SB

	/* Step 4: add the block's starting value. */
	movd	%xmm8, %r12d
	addl	%r12d, %eax
	movd	%xmm9, %r12d
	addl	%r12d, %ebx
	movd	%xmm10, %r12d
	addl	%r12d, %ecx
	movd	%xmm11, %r12d
	addl	%r12d, %ebp
	movd	%xmm12, %r12d
	addl	%r12d, %r8d
	movd	%xmm13, %r12d
	addl	%r12d, %r9d
	movd	%xmm14, %r12d
	addl	%r12d, %r10d
	movd	%xmm15, %r12d
	addl	%r12d, %r11d
	addq	$64, %rsi
	cmpq	%rdx, %rsi
	jne	.Lblock

	movl	%eax, (%rdi)
	movl	%ebx, 4(%rdi)
	movl	%ecx, 8(%rdi)
	movl	%ebp, 12(%rdi)
	movl	%r8d, 16(%rdi)
	movl	%r9d, 20(%rdi)
	movl	%r10d, 24(%rdi)
	movl	%r11d, 28(%rdi)
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	ret
	.size	kx_sha256_blocks_sse, . - kx_sha256_blocks_sse
