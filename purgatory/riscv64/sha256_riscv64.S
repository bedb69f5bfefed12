/*
 * SHA-256 block function for riscv64 (RV64GC base only: no Zbb rotates, no rev8), written
 * from FIPS 180-4 section 6.2.2 and the RISC-V unprivileged ISA manual.
 *
 *   int kx_arch_sha256_blocks(u32 h[8], const u8 *p, u64 nblocks);   (LP64)
 *
 * Overrides the weak hook of purgatory/common/sha256_arch.c: hashes nblocks whole 64-byte
 * blocks at p (8-byte aligned, kx.h) into h and returns 1.
 *
 * Register resident, for caches-off cost (instructions + data accesses per byte):
 *   - the working state a..h, the 16-word message window and three temporaries all live in
 *     registers (30 of them: every GPR except zero and sp; ra, gp, tp and s0-s11 are saved
 *     once per call and restored);
 *   - each block is read with 8 `ld` and byte-swapped in registers (two mask steps on the
 *     64-bit word: bytes within halfwords, then halfwords within words);
 *   - the state at block start (for the final addition) is kept packed two words per
 *     64-bit register: a,b in gp and c,d in tp; e,f and g,h go to two stack doublewords;
 *     with the block end pointer (one ld) that is 8 + 5 data accesses per 64-byte block;
 *   - round constants are immediates (lui + addiw), no table;
 *   - 32-bit rotates: a word x is duplicated into both halves of a 64-bit register
 *     (X = x << 32 | zext(x)); then the low 32 bits of X >> n are rotr32(x, n), and sums of
 *     rotates factor:  Sigma1(e) = (X ^ X>>5 ^ X>>19) >> 6,  Sigma0(a) = (X ^ X>>11 ^ X>>20) >> 2,
 *     sigma0(w) = (X ^ X>>11) >> 7 ^ w>>3,  sigma1(w) = (X ^ X>>2) >> 17 ^ w>>10;
 *   - only the low 32 bits of every value matter: all sums are addw, and the rotate helpers
 *     start with a shift left by 32, so message words may carry junk in bits 63..32;
 *   - Maj(a,b,c) = b ^ ((a ^ b) & (b ^ c)), with a ^ b carried to the next round as its b ^ c.
 * The 64 rounds are unrolled; the state registers are renamed instead of moved.
 */

/* W[t] (in w16, the register of W[t-16]) += sigma0(W[t-15]) + W[t-7] + sigma1(W[t-2]). */
.macro SCHED w16, w15, w7, w2, x, y
	slli	\x, \w15, 32
	srli	\y, \x, 32
	or	\x, \x, \y		/* X = W[t-15] in both halves */
	srli	\y, \x, 11
	xor	\x, \x, \y
	srli	\x, \x, 7		/* rotr 7 ^ rotr 18 */
	srliw	\y, \w15, 3
	xor	\x, \x, \y
	addw	\w16, \w16, \x
	slli	\x, \w2, 32
	srli	\y, \x, 32
	or	\x, \x, \y		/* X = W[t-2] in both halves */
	srli	\y, \x, 2
	xor	\x, \x, \y
	srli	\x, \x, 17		/* rotr 17 ^ rotr 19 */
	srliw	\y, \w2, 10
	xor	\x, \x, \y
	addw	\w16, \w16, \x
	addw	\w16, \w16, \w7
.endm

/*
 * One round: d += T1, h = T1 + T2 (the caller renames: h is the next a, d the next e).
 * On entry m = b ^ c; on exit y = a ^ b (the next round's b ^ c) and m is free.
 */
.macro ROUND a, b, c, d, e, f, g, h, w, k, x, y, m
	addw	\h, \h, \w
	li	\x, ((\k ^ 0x80000000) - 0x80000000)
	addw	\h, \h, \x
	slli	\x, \e, 32
	srli	\y, \x, 32
	or	\x, \x, \y		/* X = e in both halves */
	srli	\y, \x, 5
	xor	\y, \y, \x
	srli	\x, \x, 19
	xor	\x, \x, \y
	srli	\x, \x, 6		/* Sigma1(e) */
	addw	\h, \h, \x
	xor	\x, \f, \g
	and	\x, \x, \e
	xor	\x, \x, \g		/* Ch(e,f,g) */
	addw	\h, \h, \x		/* T1 */
	addw	\d, \d, \h
	slli	\x, \a, 32
	srli	\y, \x, 32
	or	\x, \x, \y		/* X = a in both halves */
	srli	\y, \x, 11
	xor	\y, \y, \x
	srli	\x, \x, 20
	xor	\x, \x, \y
	srli	\x, \x, 2		/* Sigma0(a) */
	addw	\h, \h, \x
	xor	\y, \a, \b
	and	\m, \m, \y
	xor	\m, \m, \b		/* Maj(a,b,c) */
	addw	\h, \h, \m
.endm

/* W[2i] (w0) and W[2i+1] (w1) from the doubleword at off(a1); m8, m16 = the byte masks. */
.macro LOADW w0, w1, off, m8, m16
	ld	\w0, \off(a1)
	srli	\w1, \w0, 8
	and	\w1, \w1, \m8
	and	\w0, \w0, \m8
	slli	\w0, \w0, 8
	or	\w0, \w0, \w1		/* bytes swapped within each halfword */
	srli	\w1, \w0, 16
	and	\w1, \w1, \m16
	and	\w0, \w0, \m16
	slli	\w0, \w0, 16
	or	\w0, \w0, \w1		/* W[2i+1] << 32 | W[2i] */
	srli	\w1, \w0, 32
.endm

/* p = x << 32 | zext(y) (t is scratch). */
.macro PACK p, x, y, t
	slli	\p, \x, 32
	slli	\t, \y, 32
	srli	\t, \t, 32
	or	\p, \p, \t
.endm

/* x += p >> 32, y += low(p) (t is scratch). */
.macro UNPACKADD p, x, y, t
	srli	\t, \p, 32
	addw	\x, \x, \t
	addw	\y, \y, \p
.endm

	.section .text.kx_arch_sha256_blocks, "ax", @progbits
	.globl	kx_arch_sha256_blocks
	.type	kx_arch_sha256_blocks, @function
	.p2align 2
kx_arch_sha256_blocks:
	beqz	a2, 9f
	addi	sp, sp, -160
	sd	ra, 0(sp)
	sd	gp, 8(sp)
	sd	tp, 16(sp)
	sd	s0, 24(sp)
	sd	s1, 32(sp)
	sd	s2, 40(sp)
	sd	s3, 48(sp)
	sd	s4, 56(sp)
	sd	s5, 64(sp)
	sd	s6, 72(sp)
	sd	s7, 80(sp)
	sd	s8, 88(sp)
	sd	s9, 96(sp)
	sd	s10, 104(sp)
	sd	s11, 112(sp)
	sd	a0, 120(sp)		/* h */
	slli	a2, a2, 6
	add	a2, a1, a2
	sd	a2, 128(sp)		/* end of the blocks */
	lw	s0, 0(a0)
	lw	s1, 4(a0)
	lw	s2, 8(a0)
	lw	s3, 12(a0)
	lw	s4, 16(a0)
	lw	s5, 20(a0)
	lw	s6, 24(a0)
	lw	s7, 28(a0)
1:
	/* The state at block start: a,b -> gp, c,d -> tp, e,f and g,h -> stack. */
	PACK	gp, s0, s1, a0
	PACK	tp, s2, s3, a0
	PACK	a0, s4, s5, a2
	sd	a0, 136(sp)
	PACK	a0, s6, s7, a2
	sd	a0, 144(sp)
	/* Byte masks: ra = 0x00ff00ff00ff00ff, s11 = 0x0000ffff0000ffff. */
	lui	ra, 0xff0
	addiw	ra, ra, 0xff
	slli	s10, ra, 32
	or	ra, ra, s10
	lui	s11, 0x10
	addiw	s11, s11, -1
	slli	s10, s11, 32
	or	s11, s11, s10
	LOADW	a0, a2, 0, ra, s11
	LOADW	a3, a4, 8, ra, s11
	LOADW	a5, a6, 16, ra, s11
	LOADW	a7, t0, 24, ra, s11
	LOADW	t1, t2, 32, ra, s11
	LOADW	t3, t4, 40, ra, s11
	LOADW	t5, t6, 48, ra, s11
	LOADW	s8, s9, 56, ra, s11
	xor	ra, s1, s2		/* b ^ c for the first Maj */
	ROUND	s0, s1, s2, s3, s4, s5, s6, s7, a0, 0x428a2f98, s10, s11, ra	/* t = 0 */
	ROUND	s7, s0, s1, s2, s3, s4, s5, s6, a2, 0x71374491, s10, ra, s11	/* t = 1 */
	ROUND	s6, s7, s0, s1, s2, s3, s4, s5, a3, 0xb5c0fbcf, s10, s11, ra	/* t = 2 */
	ROUND	s5, s6, s7, s0, s1, s2, s3, s4, a4, 0xe9b5dba5, s10, ra, s11	/* t = 3 */
	ROUND	s4, s5, s6, s7, s0, s1, s2, s3, a5, 0x3956c25b, s10, s11, ra	/* t = 4 */
	ROUND	s3, s4, s5, s6, s7, s0, s1, s2, a6, 0x59f111f1, s10, ra, s11	/* t = 5 */
	ROUND	s2, s3, s4, s5, s6, s7, s0, s1, a7, 0x923f82a4, s10, s11, ra	/* t = 6 */
	ROUND	s1, s2, s3, s4, s5, s6, s7, s0, t0, 0xab1c5ed5, s10, ra, s11	/* t = 7 */
	ROUND	s0, s1, s2, s3, s4, s5, s6, s7, t1, 0xd807aa98, s10, s11, ra	/* t = 8 */
	ROUND	s7, s0, s1, s2, s3, s4, s5, s6, t2, 0x12835b01, s10, ra, s11	/* t = 9 */
	ROUND	s6, s7, s0, s1, s2, s3, s4, s5, t3, 0x243185be, s10, s11, ra	/* t = 10 */
	ROUND	s5, s6, s7, s0, s1, s2, s3, s4, t4, 0x550c7dc3, s10, ra, s11	/* t = 11 */
	ROUND	s4, s5, s6, s7, s0, s1, s2, s3, t5, 0x72be5d74, s10, s11, ra	/* t = 12 */
	ROUND	s3, s4, s5, s6, s7, s0, s1, s2, t6, 0x80deb1fe, s10, ra, s11	/* t = 13 */
	ROUND	s2, s3, s4, s5, s6, s7, s0, s1, s8, 0x9bdc06a7, s10, s11, ra	/* t = 14 */
	ROUND	s1, s2, s3, s4, s5, s6, s7, s0, s9, 0xc19bf174, s10, ra, s11	/* t = 15 */
	SCHED	a0, a2, t2, s8, s10, s11
	ROUND	s0, s1, s2, s3, s4, s5, s6, s7, a0, 0xe49b69c1, s10, s11, ra	/* t = 16 */
	SCHED	a2, a3, t3, s9, s10, ra
	ROUND	s7, s0, s1, s2, s3, s4, s5, s6, a2, 0xefbe4786, s10, ra, s11	/* t = 17 */
	SCHED	a3, a4, t4, a0, s10, s11
	ROUND	s6, s7, s0, s1, s2, s3, s4, s5, a3, 0x0fc19dc6, s10, s11, ra	/* t = 18 */
	SCHED	a4, a5, t5, a2, s10, ra
	ROUND	s5, s6, s7, s0, s1, s2, s3, s4, a4, 0x240ca1cc, s10, ra, s11	/* t = 19 */
	SCHED	a5, a6, t6, a3, s10, s11
	ROUND	s4, s5, s6, s7, s0, s1, s2, s3, a5, 0x2de92c6f, s10, s11, ra	/* t = 20 */
	SCHED	a6, a7, s8, a4, s10, ra
	ROUND	s3, s4, s5, s6, s7, s0, s1, s2, a6, 0x4a7484aa, s10, ra, s11	/* t = 21 */
	SCHED	a7, t0, s9, a5, s10, s11
	ROUND	s2, s3, s4, s5, s6, s7, s0, s1, a7, 0x5cb0a9dc, s10, s11, ra	/* t = 22 */
	SCHED	t0, t1, a0, a6, s10, ra
	ROUND	s1, s2, s3, s4, s5, s6, s7, s0, t0, 0x76f988da, s10, ra, s11	/* t = 23 */
	SCHED	t1, t2, a2, a7, s10, s11
	ROUND	s0, s1, s2, s3, s4, s5, s6, s7, t1, 0x983e5152, s10, s11, ra	/* t = 24 */
	SCHED	t2, t3, a3, t0, s10, ra
	ROUND	s7, s0, s1, s2, s3, s4, s5, s6, t2, 0xa831c66d, s10, ra, s11	/* t = 25 */
	SCHED	t3, t4, a4, t1, s10, s11
	ROUND	s6, s7, s0, s1, s2, s3, s4, s5, t3, 0xb00327c8, s10, s11, ra	/* t = 26 */
	SCHED	t4, t5, a5, t2, s10, ra
	ROUND	s5, s6, s7, s0, s1, s2, s3, s4, t4, 0xbf597fc7, s10, ra, s11	/* t = 27 */
	SCHED	t5, t6, a6, t3, s10, s11
	ROUND	s4, s5, s6, s7, s0, s1, s2, s3, t5, 0xc6e00bf3, s10, s11, ra	/* t = 28 */
	SCHED	t6, s8, a7, t4, s10, ra
	ROUND	s3, s4, s5, s6, s7, s0, s1, s2, t6, 0xd5a79147, s10, ra, s11	/* t = 29 */
	SCHED	s8, s9, t0, t5, s10, s11
	ROUND	s2, s3, s4, s5, s6, s7, s0, s1, s8, 0x06ca6351, s10, s11, ra	/* t = 30 */
	SCHED	s9, a0, t1, t6, s10, ra
	ROUND	s1, s2, s3, s4, s5, s6, s7, s0, s9, 0x14292967, s10, ra, s11	/* t = 31 */
	SCHED	a0, a2, t2, s8, s10, s11
	ROUND	s0, s1, s2, s3, s4, s5, s6, s7, a0, 0x27b70a85, s10, s11, ra	/* t = 32 */
	SCHED	a2, a3, t3, s9, s10, ra
	ROUND	s7, s0, s1, s2, s3, s4, s5, s6, a2, 0x2e1b2138, s10, ra, s11	/* t = 33 */
	SCHED	a3, a4, t4, a0, s10, s11
	ROUND	s6, s7, s0, s1, s2, s3, s4, s5, a3, 0x4d2c6dfc, s10, s11, ra	/* t = 34 */
	SCHED	a4, a5, t5, a2, s10, ra
	ROUND	s5, s6, s7, s0, s1, s2, s3, s4, a4, 0x53380d13, s10, ra, s11	/* t = 35 */
	SCHED	a5, a6, t6, a3, s10, s11
	ROUND	s4, s5, s6, s7, s0, s1, s2, s3, a5, 0x650a7354, s10, s11, ra	/* t = 36 */
	SCHED	a6, a7, s8, a4, s10, ra
	ROUND	s3, s4, s5, s6, s7, s0, s1, s2, a6, 0x766a0abb, s10, ra, s11	/* t = 37 */
	SCHED	a7, t0, s9, a5, s10, s11
	ROUND	s2, s3, s4, s5, s6, s7, s0, s1, a7, 0x81c2c92e, s10, s11, ra	/* t = 38 */
	SCHED	t0, t1, a0, a6, s10, ra
	ROUND	s1, s2, s3, s4, s5, s6, s7, s0, t0, 0x92722c85, s10, ra, s11	/* t = 39 */
	SCHED	t1, t2, a2, a7, s10, s11
	ROUND	s0, s1, s2, s3, s4, s5, s6, s7, t1, 0xa2bfe8a1, s10, s11, ra	/* t = 40 */
	SCHED	t2, t3, a3, t0, s10, ra
	ROUND	s7, s0, s1, s2, s3, s4, s5, s6, t2, 0xa81a664b, s10, ra, s11	/* t = 41 */
	SCHED	t3, t4, a4, t1, s10, s11
	ROUND	s6, s7, s0, s1, s2, s3, s4, s5, t3, 0xc24b8b70, s10, s11, ra	/* t = 42 */
	SCHED	t4, t5, a5, t2, s10, ra
	ROUND	s5, s6, s7, s0, s1, s2, s3, s4, t4, 0xc76c51a3, s10, ra, s11	/* t = 43 */
	SCHED	t5, t6, a6, t3, s10, s11
	ROUND	s4, s5, s6, s7, s0, s1, s2, s3, t5, 0xd192e819, s10, s11, ra	/* t = 44 */
	SCHED	t6, s8, a7, t4, s10, ra
	ROUND	s3, s4, s5, s6, s7, s0, s1, s2, t6, 0xd6990624, s10, ra, s11	/* t = 45 */
	SCHED	s8, s9, t0, t5, s10, s11
	ROUND	s2, s3, s4, s5, s6, s7, s0, s1, s8, 0xf40e3585, s10, s11, ra	/* t = 46 */
	SCHED	s9, a0, t1, t6, s10, ra
	ROUND	s1, s2, s3, s4, s5, s6, s7, s0, s9, 0x106aa070, s10, ra, s11	/* t = 47 */
	SCHED	a0, a2, t2, s8, s10, s11
	ROUND	s0, s1, s2, s3, s4, s5, s6, s7, a0, 0x19a4c116, s10, s11, ra	/* t = 48 */
	SCHED	a2, a3, t3, s9, s10, ra
	ROUND	s7, s0, s1, s2, s3, s4, s5, s6, a2, 0x1e376c08, s10, ra, s11	/* t = 49 */
	SCHED	a3, a4, t4, a0, s10, s11
	ROUND	s6, s7, s0, s1, s2, s3, s4, s5, a3, 0x2748774c, s10, s11, ra	/* t = 50 */
	SCHED	a4, a5, t5, a2, s10, ra
	ROUND	s5, s6, s7, s0, s1, s2, s3, s4, a4, 0x34b0bcb5, s10, ra, s11	/* t = 51 */
	SCHED	a5, a6, t6, a3, s10, s11
	ROUND	s4, s5, s6, s7, s0, s1, s2, s3, a5, 0x391c0cb3, s10, s11, ra	/* t = 52 */
	SCHED	a6, a7, s8, a4, s10, ra
	ROUND	s3, s4, s5, s6, s7, s0, s1, s2, a6, 0x4ed8aa4a, s10, ra, s11	/* t = 53 */
	SCHED	a7, t0, s9, a5, s10, s11
	ROUND	s2, s3, s4, s5, s6, s7, s0, s1, a7, 0x5b9cca4f, s10, s11, ra	/* t = 54 */
	SCHED	t0, t1, a0, a6, s10, ra
	ROUND	s1, s2, s3, s4, s5, s6, s7, s0, t0, 0x682e6ff3, s10, ra, s11	/* t = 55 */
	SCHED	t1, t2, a2, a7, s10, s11
	ROUND	s0, s1, s2, s3, s4, s5, s6, s7, t1, 0x748f82ee, s10, s11, ra	/* t = 56 */
	SCHED	t2, t3, a3, t0, s10, ra
	ROUND	s7, s0, s1, s2, s3, s4, s5, s6, t2, 0x78a5636f, s10, ra, s11	/* t = 57 */
	SCHED	t3, t4, a4, t1, s10, s11
	ROUND	s6, s7, s0, s1, s2, s3, s4, s5, t3, 0x84c87814, s10, s11, ra	/* t = 58 */
	SCHED	t4, t5, a5, t2, s10, ra
	ROUND	s5, s6, s7, s0, s1, s2, s3, s4, t4, 0x8cc70208, s10, ra, s11	/* t = 59 */
	SCHED	t5, t6, a6, t3, s10, s11
	ROUND	s4, s5, s6, s7, s0, s1, s2, s3, t5, 0x90befffa, s10, s11, ra	/* t = 60 */
	SCHED	t6, s8, a7, t4, s10, ra
	ROUND	s3, s4, s5, s6, s7, s0, s1, s2, t6, 0xa4506ceb, s10, ra, s11	/* t = 61 */
	SCHED	s8, s9, t0, t5, s10, s11
	ROUND	s2, s3, s4, s5, s6, s7, s0, s1, s8, 0xbef9a3f7, s10, s11, ra	/* t = 62 */
	SCHED	s9, a0, t1, t6, s10, ra
	ROUND	s1, s2, s3, s4, s5, s6, s7, s0, s9, 0xc67178f2, s10, ra, s11	/* t = 63 */
	/* h += state at block start. */
	UNPACKADD gp, s0, s1, a0
	UNPACKADD tp, s2, s3, a0
	ld	a2, 136(sp)
	UNPACKADD a2, s4, s5, a0
	ld	a2, 144(sp)
	UNPACKADD a2, s6, s7, a0
	addi	a1, a1, 64
	ld	a2, 128(sp)
	bne	a1, a2, 1b

	ld	a0, 120(sp)
	sw	s0, 0(a0)
	sw	s1, 4(a0)
	sw	s2, 8(a0)
	sw	s3, 12(a0)
	sw	s4, 16(a0)
	sw	s5, 20(a0)
	sw	s6, 24(a0)
	sw	s7, 28(a0)
	ld	ra, 0(sp)
	ld	gp, 8(sp)
	ld	tp, 16(sp)
	ld	s0, 24(sp)
	ld	s1, 32(sp)
	ld	s2, 40(sp)
	ld	s3, 48(sp)
	ld	s4, 56(sp)
	ld	s5, 64(sp)
	ld	s6, 72(sp)
	ld	s7, 80(sp)
	ld	s8, 88(sp)
	ld	s9, 96(sp)
	ld	s10, 104(sp)
	ld	s11, 112(sp)
	addi	sp, sp, 160
9:
	li	a0, 1
	ret
	.size	kx_arch_sha256_blocks, . - kx_arch_sha256_blocks
