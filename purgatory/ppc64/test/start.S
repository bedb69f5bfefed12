/*
 * User-mode stand-in for head.S, for running the purgatory's C code under
 * qemu-ppc64le-static (Linux user mode). Not part of the real purgatory: build_purgatory
 * only compiles the top of purgatory/ppc64.
 *
 * _start sets r2 and r1 exactly as kx_entry does (PC-relative, own stack, zeroed back
 * chain) and calls kx_main with the cpu id stored in kx_test_cpu (patched by the tests).
 */
	.section .text.entry, "ax", @progbits
	.globl	_start
	.type	_start, @function
_start:
	bcl	20, 31, 1f
1:	mflr	12
	addis	2, 12, (.TOC. - 1b)@ha
	addi	2, 2, (.TOC. - 1b)@l
	addis	1, 12, (kx_stack_top - 1b)@ha
	addi	1, 1, (kx_stack_top - 1b)@l
	clrrdi	1, 1, 4
	li	0, 0
	stdu	0, -32(1)
	std	0, 8(1)
	std	0, 16(1)
	std	0, 24(1)
	addis	9, 2, kx_test_cpu@toc@ha
	lwz	3, kx_test_cpu@toc@l(9)
	bl	kx_main
	nop
	b	kx_arch_halt
	.size	_start, . - _start

/* long kx_test_syscall(long nr, long a0, long a1, long a2): Linux "sc", r0 = number. */
	.section .text, "ax", @progbits
	.globl	kx_test_syscall
	.type	kx_test_syscall, @function
kx_test_syscall:
	mr	0, 3
	mr	3, 4
	mr	4, 5
	mr	5, 6
	sc
	blr
	.size	kx_test_syscall, . - kx_test_syscall
