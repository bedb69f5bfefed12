/*
 * arm64 jump into the new kernel, and the halt used after a failed check.
 *
 * Linux arm64 boot protocol (Documentation/arch/arm64/booting.rst): primary cpu entered at
 * the Image's first byte with x0 = physical address of the device tree, x1 = x2 = x3 = 0
 * (reserved), MMU off, D-cache off, interrupts masked (DAIF
 * set since entry.S), at EL2 or EL1 - we stay at the EL we were entered at. With the
 * experimental MMU-on hashing, kx_mmu_off first restores that state and cleans to PoC. The new kernel
 * installs its own VBAR, so our vectors need no undoing.
 */
	.section .text, "ax", %progbits

	.globl	kx_arch_handoff
	.type	kx_arch_handoff, %function
kx_arch_handoff:
	bl	kx_mmu_off			/* MMU, caches off + clean (mmu.S); no-op unless kx_mmu */
	adrp	x9, kx_dtb
	ldr	x0, [x9, :lo12:kx_dtb]
	adrp	x9, kx_kernel_entry
	ldr	x4, [x9, :lo12:kx_kernel_entry]
	mov	x1, xzr
	mov	x2, xzr
	mov	x3, xzr
	dsb	sy
	isb
	br	x4
	.size	kx_arch_handoff, . - kx_arch_handoff

	.globl	kx_arch_halt
	.type	kx_arch_halt, %function
kx_arch_halt:
	wfe
	b	kx_arch_halt
	.size	kx_arch_halt, . - kx_arch_halt
