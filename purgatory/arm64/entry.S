/*
 * arm64 purgatory entry and exception vectors.
 *
 * The old kernel jumps to the first byte of the image with the MMU and caches off and
 * interrupts masked, at EL2 (if it was booted at EL2, through its hypervisor stub) or EL1.
 * Only the boot cpu gets here: Linux takes the other cpus offline (PSCI CPU_OFF) first.
 *
 * Order of work:
 *  1. mask DAIF again (cheap, and the protocol wants it masked at the kernel entry too);
 *  2. point VBAR_ELx of the current EL at our own vectors: the old kernel's VBAR holds
 *     virtual addresses that mean nothing with the MMU off, so any fault would vanish;
 *  3. allow FP/SIMD at the current EL (EL1: CPACR_EL1.FPEN = 0b11; EL2: CPTR_EL2.TFP = 0,
 *     or CPTR_EL2.FPEN = 0b11 when HCR_EL2.E2H selects the VHE layout). The portable C
 *     never uses FP/SIMD (-mgeneral-regs-only); this keeps a later SHA2-instruction path and
 *     the new kernel's expectations safe;
 *  4. sp = top of our own stack (its own 4 KiB pages, see link.ld.in);
 *     then kx_mmu_on (mmu.S): returns at once unless the recipe asked for MMU-on hashing;
 *  5. kx_main(0): arm64 has no boot cpu number to pass on.
 *
 * All addresses are formed PC-relative (adrp/add), so nothing here needs relocation.
 */
#define CPACR_FPEN	(3 << 20)
#define CPTR_EL2_TFP	(1 << 10)
#define HCR_EL2_E2H_BIT	34

	.section .text.entry, "ax", %progbits
	.globl	_start
	.globl	kx_entry
	.type	kx_entry, %function
	/* _start names the same byte: zig passes --entry _start to lld. */
_start:
kx_entry:
	msr	daifset, #0xf
	adrp	x9, kx_vectors
	add	x9, x9, :lo12:kx_vectors
	mrs	x10, CurrentEL
	ubfx	x10, x10, #2, #2
	cmp	x10, #2
	b.eq	.Lel2
	b.hi	.Lel3

.Lel1:
	msr	vbar_el1, x9
	mrs	x11, cpacr_el1
	orr	x11, x11, #CPACR_FPEN
	msr	cpacr_el1, x11
	b	.Lstack

.Lel2:
	msr	vbar_el2, x9
	mrs	x11, cptr_el2
	mrs	x12, hcr_el2
	tbnz	x12, #HCR_EL2_E2H_BIT, 1f
	bic	x11, x11, #CPTR_EL2_TFP		/* nVHE layout */
	b	2f
1:	orr	x11, x11, #CPACR_FPEN		/* VHE: CPTR_EL2 has the CPACR_EL1 layout */
2:	msr	cptr_el2, x11
	b	.Lstack

.Lel3:
	/* Not a kexec case (Linux never runs at EL3), but do not leave a hole. */
	msr	vbar_el3, x9
	mrs	x11, cptr_el3
	bic	x11, x11, #CPTR_EL2_TFP		/* CPTR_EL3.TFP is bit 10 too */
	msr	cptr_el3, x11

.Lstack:
	isb
	adrp	x9, kx_stack_top
	add	x9, x9, :lo12:kx_stack_top
	mov	sp, x9
	bl	kx_mmu_on			/* experimental, no-op unless kx_mmu (mmu.S) */
	mov	x29, #0
	mov	x30, #0
	mov	x0, #0
	bl	kx_main
	b	kx_arch_halt			/* kx_main does not return */
	.size	kx_entry, . - kx_entry

/*
 * Vector table: 16 entries of 0x80 bytes, 2 KiB aligned (VBAR_ELx bits 10:0 are RES0).
 * Groups: current EL with SP_EL0, current EL with SP_ELx, lower EL AArch64, lower EL
 * AArch32; in each: synchronous, IRQ, FIQ, SError. Every entry leaves its index in x0 and
 * the syndrome and fault address in x1/x2, then spins in kx_arch_fault (a debugger or the
 * unicorn tests recognise the PC).
 */
	.macro	kx_vector index
	.balign	0x80
	mov	x0, #\index
	b	kx_vector_common
	.endm

	.section .vectors, "ax", %progbits
	.balign	0x800
	.globl	kx_vectors
	.type	kx_vectors, %object
kx_vectors:
	kx_vector 0
	kx_vector 1
	kx_vector 2
	kx_vector 3
	kx_vector 4
	kx_vector 5
	kx_vector 6
	kx_vector 7
	kx_vector 8
	kx_vector 9
	kx_vector 10
	kx_vector 11
	kx_vector 12
	kx_vector 13
	kx_vector 14
	kx_vector 15
	.balign	0x80
	.size	kx_vectors, . - kx_vectors

	.section .text, "ax", %progbits
	.type	kx_vector_common, %function
kx_vector_common:
	mrs	x3, CurrentEL
	ubfx	x3, x3, #2, #2
	cmp	x3, #2
	b.eq	1f
	b.hi	2f
	mrs	x1, esr_el1
	mrs	x2, far_el1
	b	kx_arch_fault
1:	mrs	x1, esr_el2
	mrs	x2, far_el2
	b	kx_arch_fault
2:	mrs	x1, esr_el3
	mrs	x2, far_el3
	b	kx_arch_fault
	.size	kx_vector_common, . - kx_vector_common

	.globl	kx_arch_fault
	.type	kx_arch_fault, %function
kx_arch_fault:
	wfe
	b	kx_arch_fault
	.size	kx_arch_fault, . - kx_arch_fault
