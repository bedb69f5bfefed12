/*
 * x86_64 hardware SHA-256 (SHA extensions) for kx_arch_sha256_blocks (kx.h).
 *
 * int kx_arch_sha256_blocks(u32 h[8], const u8 *p, u64 nblocks)   (SysV: rdi, rsi, rdx)
 *   Uses the SHA extensions when CPUID says SHA (leaf 7 EBX bit 29) and SSSE3 (leaf 1 ECX
 *   bit 9, for pshufb); otherwise kx_sha256_blocks_sse (sha256_sse.S, baseline SSE2, which
 *   every x86_64 CPU has). Either way, at CPL 0 (the purgatory) it first makes sure SSE is
 *   usable (CR0.EM = CR0.TS = 0, CR0.MP = 1, CR4.OSFXSR = CR4.OSXMMEXCPT = 1; .Lsse_enable);
 *   at CPL 3 (host tests) the OS already did that. Hashes the blocks and returns 1 (0 only
 *   for nblocks = 0, h untouched).
 *
 * The rest of the purgatory is built with -mno-sse; only this file uses xmm registers, all of
 * them caller-saved in the SysV ABI. State: xmm1 = (A,B,E,F), xmm2 = (C,D,G,H) in the lane
 * order sha256rnds2 wants; xmm3/xmm4 the block's starting state; xmm5-xmm8 the message
 * (unaligned loads, byte-swapped by pshufb with the mask in xmm10); xmm0 = W + K for
 * sha256rnds2; xmm9 scratch. The round constants are read from memory (16 x 16 bytes per
 * block): sixteen xmm registers cannot hold them beside the state and message.
 */
	.text
	.globl	kx_arch_sha256_blocks
	.type	kx_arch_sha256_blocks, @function
kx_arch_sha256_blocks:
	xorl	%eax, %eax
	testq	%rdx, %rdx
	jz	.Lret
	pushq	%rbx
	movq	%rdx, %r8
	xorl	%eax, %eax
	cpuid
	cmpl	$7, %eax
	jb	.Lnone
	movl	$1, %eax
	cpuid
	btl	$9, %ecx		/* SSSE3 */
	jnc	.Lnone
	movl	$7, %eax
	xorl	%ecx, %ecx
	cpuid
	btl	$29, %ebx		/* SHA */
	jnc	.Lnone
	popq	%rbx
	call	.Lsse_enable
	leaq	.Lk(%rip), %rcx
	movdqa	.Lbswap(%rip), %xmm10
	movdqu	(%rdi), %xmm9		/* A B C D (lane 0 first) */
	movdqu	16(%rdi), %xmm2		/* E F G H */
	movdqa	%xmm2, %xmm1
	shufps	$0x11, %xmm9, %xmm1	/* F E B A = (A,B,E,F) */
	shufps	$0xbb, %xmm9, %xmm2	/* H G D C = (C,D,G,H) */

	/* Four rounds on message register \m with constants at \i*16(%rcx); with \s, then
	 * \m becomes the four words sixteen later, from \m, \m1 (next), \m2, \m3. */
	.macro	quad i, m, m1, m2, m3, s
	movdqa	\m, %xmm0
	paddd	\i*16(%rcx), %xmm0
	sha256rnds2	%xmm0, %xmm1, %xmm2	/* xmm2 = new ABEF; xmm1 = new CDGH */
	pshufd	$0x0e, %xmm0, %xmm0
	sha256rnds2	%xmm0, %xmm2, %xmm1	/* xmm1 = ABEF, xmm2 = CDGH again */
	.if \s
	sha256msg1	\m1, \m
	movdqa	\m3, %xmm9
	palignr	$4, \m2, %xmm9
	paddd	%xmm9, \m
	sha256msg2	\m3, \m
	.endif
	.endm

.Lblock:
	movdqu	(%rsi), %xmm5
	movdqu	16(%rsi), %xmm6
	movdqu	32(%rsi), %xmm7
	movdqu	48(%rsi), %xmm8
	movdqa	%xmm1, %xmm3
	movdqa	%xmm2, %xmm4
	pshufb	%xmm10, %xmm5
	pshufb	%xmm10, %xmm6
	pshufb	%xmm10, %xmm7
	pshufb	%xmm10, %xmm8
	quad	0, %xmm5, %xmm6, %xmm7, %xmm8, 1
	quad	1, %xmm6, %xmm7, %xmm8, %xmm5, 1
	quad	2, %xmm7, %xmm8, %xmm5, %xmm6, 1
	quad	3, %xmm8, %xmm5, %xmm6, %xmm7, 1
	quad	4, %xmm5, %xmm6, %xmm7, %xmm8, 1
	quad	5, %xmm6, %xmm7, %xmm8, %xmm5, 1
	quad	6, %xmm7, %xmm8, %xmm5, %xmm6, 1
	quad	7, %xmm8, %xmm5, %xmm6, %xmm7, 1
	quad	8, %xmm5, %xmm6, %xmm7, %xmm8, 1
	quad	9, %xmm6, %xmm7, %xmm8, %xmm5, 1
	quad	10, %xmm7, %xmm8, %xmm5, %xmm6, 1
	quad	11, %xmm8, %xmm5, %xmm6, %xmm7, 1
	quad	12, %xmm5, %xmm6, %xmm7, %xmm8, 0
	quad	13, %xmm6, %xmm7, %xmm8, %xmm5, 0
	quad	14, %xmm7, %xmm8, %xmm5, %xmm6, 0
	quad	15, %xmm8, %xmm5, %xmm6, %xmm7, 0
	paddd	%xmm3, %xmm1
	paddd	%xmm4, %xmm2
	addq	$64, %rsi
	decq	%r8
	jnz	.Lblock

	movdqa	%xmm1, %xmm9
	shufps	$0xbb, %xmm2, %xmm9	/* A B C D */
	shufps	$0x11, %xmm2, %xmm1	/* E F G H */
	movdqu	%xmm9, (%rdi)
	movdqu	%xmm1, 16(%rdi)
	movl	$1, %eax
.Lret:
	ret
.Lnone:	/* no SHA extensions (or no SSSE3): the SSE2 path, sha256_sse.S */
	popq	%rbx
	call	.Lsse_enable
	movq	%r8, %rdx
	call	kx_sha256_blocks_sse
	movl	$1, %eax
	ret
.Lsse_enable:	/* clobbers rax only */
	movw	%cs, %ax
	testb	$3, %al
	jnz	1f			/* not CPL 0: the OS owns CR0/CR4 */
	movq	%cr0, %rax
	andq	$~0xc, %rax		/* EM = TS = 0 */
	orq	$0x2, %rax		/* MP = 1 */
	movq	%rax, %cr0
	movq	%cr4, %rax
	orq	$0x600, %rax		/* OSFXSR, OSXMMEXCPT */
	movq	%rax, %cr4
1:	ret
	.size	kx_arch_sha256_blocks, . - kx_arch_sha256_blocks

	.section .rodata, "a"
	.balign	16
.Lbswap:	/* pshufb mask: reverse the bytes of each 32-bit lane */
	.byte	3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12
	/* FIPS 180-4, 4.2.2: first 32 bits of the fractional parts of the cube roots of the
	 * first 64 primes. */
.Lk:
	.long	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5
	.long	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174
	.long	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da
	.long	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967
	.long	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85
	.long	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070
	.long	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3
	.long	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
