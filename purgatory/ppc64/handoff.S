/*
 * ppc64 jump into the new kernel, and the halt used after a failed check.
 *
 * Linux/ppc64 entry convention for a flattened tree: r3 = DT physical address,
 * r4 = the kernel's own physical load/entry address, r5 = 0 (no Open Firmware), real mode.
 * The kernel is entered big-endian, as kexec-tools does it: SRR1 = current MSR with LE (the
 * least significant MSR bit) cleared, SRR0 = entry, rfid. The kernel's first instructions
 * cope with either byte order. On big-endian ppc64 LE is already clear and the same code
 * applies unchanged.
 */
	.section .text, "ax", @progbits

	.globl	kx_arch_handoff
	.type	kx_arch_handoff, @function
kx_arch_handoff:
	/*
	 * Give the secondary cpus time to leave the old kernel's wait loop for the copy of
	 * our first 0x100 bytes at physical 0 before the new kernel reuses low memory.
	 */
	lis	9, 1			/* 0x10000 iterations */
	mtctr	9
1:	bdnz	1b

	addis	9, 2, kx_dtb@toc@ha
	ld	3, kx_dtb@toc@l(9)
	addis	9, 2, kx_kernel_entry@toc@ha
	ld	4, kx_kernel_entry@toc@l(9)
	li	5, 0

	mfmsr	10
	li	11, 1			/* MSR[LE] */
	andc	10, 10, 11
	sync
	mtsrr0	4
	mtsrr1	10
	rfid
	.size	kx_arch_handoff, . - kx_arch_handoff

	.globl	kx_arch_halt
	.type	kx_arch_halt, @function
kx_arch_halt:
1:	b	1b
	.size	kx_arch_halt, . - kx_arch_halt
