/*
 * Linux user-mode entry for qemu-ppc64le-static: read the job and the message from stdin,
 * hash, write the 32-byte digest to stdout, exit 0.
 * stdin: struct hx_job (8 * 18 bytes), then the message bytes (hx_job.offset bytes of
 * padding first are not sent: the message is read straight to hx_data + offset).
 */
	.section .text.entry, "ax", @progbits
	.globl	_start
	.type	_start, @function
_start:
	bcl	20, 31, 1f
1:	mflr	12
	addis	2, 12, (.TOC. - 1b)@ha
	addi	2, 2, (.TOC. - 1b)@l
	addis	1, 12, (hx_stack_top - 1b)@ha
	addi	1, 1, (hx_stack_top - 1b)@l
	clrrdi	1, 1, 4
	li	0, 0
	stdu	0, -64(1)
	bl	hx_linux_main
	nop
	li	0, 234		/* exit_group(r3) */
	sc
	b	.
	.size	_start, . - _start

/* long hx_syscall(long nr, long a0, long a1, long a2) */
	.section .text.hx, "ax", @progbits
	.globl	hx_syscall
	.type	hx_syscall, @function
hx_syscall:
	mr	0, 3
	mr	3, 4
	mr	4, 5
	mr	5, 6
	sc
	bns+	2f
	neg	3, 3
2:	blr
	.size	hx_syscall, . - hx_syscall
