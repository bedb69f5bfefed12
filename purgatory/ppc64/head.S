/*
 * First 0x100 bytes of the ppc64 purgatory, and its entry code.
 *
 * The old kernel jumps to the first byte of this image (the kexec entry point) in real
 * mode, 64-bit, interrupts off, with MSR[LE] = 1 on ppc64le and r3 = the physical id of the
 * cpu doing the kexec. Before that, it copies the first 0x100 bytes at the entry point to
 * physical 0 and releases the other cpus to 0x60 there (big-endian). So bytes 4..0x100 of
 * this image must be the new kernel's own bytes 4..0x100 (its secondary hold loop is at
 * 0x60): the toolchain writes them into kx_kernel_head. Word 0 is ours: a branch to the
 * real entry below.
 *
 * Nothing here depends on the byte order: the same source serves ppc64 big-endian.
 */
	.section .head, "ax", @progbits
	.globl	kx_head
	.type	kx_head, @function
	/*
	 * _start names the same byte: zig's link step passes "--entry _start" to lld, which
	 * overrides the linker script's ENTRY(); with this alias e_entry is right either way.
	 */
	.globl	_start
_start:
kx_head:
	b	kx_entry
	.size	kx_head, . - kx_head

	.globl	kx_kernel_head
	.type	kx_kernel_head, @object
kx_kernel_head:
	.fill	0xfc, 1, 0
	.size	kx_kernel_head, . - kx_kernel_head

/*
 * Entry: find our own address with bcl/mflr (the "branch always and link" form that does
 * not disturb the link stack prediction), derive the TOC pointer and the stack from it,
 * and call kx_main(r3). The linker script places kx_stack_top at the top of a 16 KiB stack
 * in its own pages.
 */
	.section .text.entry, "ax", @progbits
	.globl	kx_entry
	.type	kx_entry, @function
kx_entry:
	bcl	20, 31, 1f
1:	mflr	12
	addis	2, 12, (.TOC. - 1b)@ha
	addi	2, 2, (.TOC. - 1b)@l
	addis	1, 12, (kx_stack_top - 1b)@ha
	addi	1, 1, (kx_stack_top - 1b)@l
	clrrdi	1, 1, 4			/* 16-byte aligned */
	li	0, 0
	stdu	0, -32(1)		/* minimal ELFv2 frame, back chain = 0 ends the chain */
	std	0, 8(1)
	std	0, 16(1)
	std	0, 24(1)
	/* r3 still holds the boot cpu id */
	bl	kx_main
	nop
	b	kx_arch_halt		/* kx_main does not return */
	.size	kx_entry, . - kx_entry
