/*
 * Linux user-mode entry for the ppc64 SHA-256 assembly test harness, for both
 * qemu-ppc64le-static and qemu-ppc64-static (ELFv2 on both byte orders; nothing here depends
 * on the byte order). Not part of any purgatory image.
 */
	.abiversion 2

	.section .text.entry, "ax", @progbits
	.globl	_start
	.type	_start, @function
_start:
	bcl	20, 31, 1f
1:	mflr	12
	addis	2, 12, (.TOC. - 1b)@ha
	addi	2, 2, (.TOC. - 1b)@l
	addis	1, 12, (tx_stack_top - 1b)@ha
	addi	1, 1, (tx_stack_top - 1b)@l
	clrrdi	1, 1, 4
	li	0, 0
	stdu	0, -64(1)
	bl	tx_main
	nop
	li	0, 234		/* exit_group(r3) */
	sc
	b	.
	.size	_start, . - _start

/* long tx_syscall(long nr, long a0, long a1, long a2) */
	.text
	.globl	tx_syscall
	.type	tx_syscall, @function
tx_syscall:
	mr	0, 3
	mr	3, 4
	mr	4, 5
	mr	5, 6
	sc
	bns+	2f
	neg	3, 3
2:	blr
	.size	tx_syscall, . - tx_syscall

/*
 * u64 tx_checked_call(u32 h[8], const u8 *p, u64 nblocks)
 *
 * Calls kx_arch_sha256_blocks with every non-volatile GPR (r14-r31) and r2 set to a known
 * pattern and checks them afterwards (and r1): returns the hook's return value in the low
 * 32 bits and, in the high 32 bits, one bit per register that came back changed
 * (bit 0 = r1, bit 2 = r2, bit n = rn for n = 14..31).
 */
#define PAT(n) (0x5a5a0000 + (n) * 0x101)
	.globl	tx_checked_call
	.type	tx_checked_call, @function
tx_checked_call:
	mflr	0
	std	0, 16(1)
	stdu	1, -192(1)
	std	2, 24(1)
	.irp	r, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	std	\r, 48 + 8 * (\r - 14)(1)
	.endr
	std	1, 32(1)
	.irp	r, 2, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	lis	\r, PAT(\r)@ha
	addi	\r, \r, PAT(\r)@l
	.endr
	bl	kx_arch_sha256_blocks
	nop
	clrldi	3, 3, 32	/* the int return value */
	li	5, 0
	ld	4, 32(1)
	cmpd	4, 1
	beq	3f
	ori	5, 5, 1
3:
	.irp	r, 2, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	lis	4, PAT(\r)@ha
	addi	4, 4, PAT(\r)@l
	cmpd	4, \r
	beq	4f
	li	6, 1
	sldi	6, 6, \r
	or	5, 5, 6
4:
	.endr
	sldi	5, 5, 32
	or	3, 3, 5
	ld	2, 24(1)
	.irp	r, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	ld	\r, 48 + 8 * (\r - 14)(1)
	.endr
	addi	1, 1, 192
	ld	0, 16(1)
	mtlr	0
	blr
	.size	tx_checked_call, . - tx_checked_call
