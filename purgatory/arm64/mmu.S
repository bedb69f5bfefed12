/*
 * arm64, EXPERIMENTAL: hash with the MMU and caches on (recipe /purgatory/mmu = true).
 *
 * Why: with the MMU off every data access is Device-nGnRnE and every instruction fetch is
 * non-cacheable, so hashing tens of MiB takes minutes on hardware. With an identity map
 * (VA == PA) of Normal Write-Back memory the same code runs from the caches.
 *
 * QEMU and unicorn model no caches: they run this functionally (tests/purgatory/
 * test_arm64_mmu_*.py) but can neither show the gain nor prove the cache maintenance. The
 * sequences below are argued from the Arm Architecture Reference Manual (ARMv8-A, DDI 0487:
 * D5/D8 "VMSAv8-64", D7 "caches", B2 "memory model") in the comments; they have not run on
 * hardware yet.
 *
 * The translation tables are built by the toolchain (toolchain/arm64_mmu.py) into a segment
 * of their own; the toolchain patches:
 *   kx_mmu           u32  1 = turn the MMU on for hashing (only ever set when verifying)
 *   kx_mmu_ttbr_el1  u64  root of the EL1&0-regime tree (EL1, and EL2 with HCR_EL2.E2H = 1)
 *   kx_mmu_ttbr_el2  u64  root of the EL2-regime tree (EL2 without VHE)
 * Map: RAM (recipe /memory minus /reserved) Normal WB inner shareable, read/write,
 * execute-never except the purgatory's own window; everything else in the low 512 GiB
 * Device-nGnRE, execute-never (the PL011 console works).
 *
 * Hooks: entry.S calls kx_mmu_on once sp is set (before kx_main: nothing has been written
 * yet); handoff.S calls kx_mmu_off first thing in kx_arch_handoff. With kx_mmu = 0 both
 * return after one load: no behaviour change.
 *
 * ---- Turning it on (kx_mmu_on), step by step -------------------------------------------
 *  1. ID_AA64MMFR0_EL1.TGran4 != 0b1111 (4 KiB granule implemented), else stay MMU-off.
 *     TCR.IPS/PS = min(PARange, 0b010 = 40 bits): the map covers 2^39 bytes, and IPS must
 *     not exceed the implemented PA size.
 *  2. Pick the regime from CurrentEL (and HCR_EL2.E2H at EL2): EL1 -> *_EL1 registers,
 *     TCR in the EL1 layout (T0SZ, IRGN0/ORGN0/SH0/TG0, EPD1 = 1 so TTBR1 is never walked,
 *     TG1 = 4 KiB, IPS in bits 34:32). EL2 without VHE -> *_EL2, TCR_EL2 in its own layout
 *     (PS in bits 18:16, bits 31 and 23 RES1). EL2 with E2H = 1 (VHE) -> *_EL2, but TCR_EL2
 *     has the EL1 layout and the EL2&0 regime uses the EL1 descriptor format (PXN/UXN).
 *  3. Cache maintenance with the MMU still off, by VA (== PA) to the Point of Coherency:
 *     a. DC IVAC over the purgatory image and stack [kx_image_start, kx_image_end).
 *        Everything we will write (data, stack) is written with caches off until now, and
 *        after step 5 a cacheable read would hit any line the cache still holds for those
 *        addresses (from the old kernel's use of that RAM) instead of memory. Invalidate,
 *        not clean: a clean could write such a stale line *over* the memory contents
 *        (D7 "data cache maintenance", the rule for memory updated with caches off;
 *        Linux's own boot code does the same for what it wrote with the MMU off).
 *        The image's initial bytes came from the old kernel, which cleaned them to PoC
 *        (booting requirement for loaded images), so dropping its lines loses nothing.
 *     b. DC CIVAC over every hashed region (the kernel, initrd, DTB, blobs and the tables
 *        segment itself). The boot contract only promises these were cleaned to PoC; if the
 *        old kernel copied them with caches off, clean but *stale* lines could remain and
 *        would shadow memory once we read cacheable. Clean+invalidate removes them and, if a
 *        line were unexpectedly dirty, writes it back instead of losing it. Not needed under
 *        Linux's current relocation path (which leaves memory coherent), but it makes the
 *        result independent of how the old kernel copied; cost: one DC per cache line with
 *        no allocation (a few ms for 40 MiB), small next to the hash.
 *     c. DSB SY: DC operations are only guaranteed complete after a DSB (D7: completion of
 *        cache maintenance). IC IALLU + DSB + ISB: no stale instruction lines for our code
 *        once SCTLR.I = 1 (the old kernel should have done it; it costs nothing).
 *  4. MAIR (Attr0 = 0x04 Device-nGnRE, Attr1 = 0xff Normal WB RW-allocate), TCR, TTBR0, ISB
 *     (context-synchronise the register writes before they are used, D5/D8: "changes to
 *     system registers are only guaranteed visible after a context synchronization event"),
 *     then TLBI VMALLE1 (EL1) / TLBI ALLE2 (EL2, either layout): turning the MMU off does not
 *     empty the TLBs, which may still hold the old kernel's translations for the same
 *     ASID/VMID; DSB to complete the invalidation (D8: TLB maintenance completes at a DSB), ISB.
 *  5. SCTLR |= M | C | I, clear A (no alignment faults on Normal memory) and WXN (the
 *     window must be writable and executable), ISB. The identity map means the next
 *     instruction's address is the same with translation on (D8: "enabling the MMU
 *     requires the code doing it to be identity-mapped or at the same VA").
 *  6. A console line "kx: mmu on el=N" (tests use it to see the mode was taken).
 *
 * ---- Turning it off (kx_mmu_off, a leaf that stores nothing to memory) ---------------------
 *  1. DSB SY: earlier stores complete under the cacheable attributes.
 *  2. SCTLR &= ~(M | C | I), ISB. From here our data accesses are Device/non-cacheable: any
 *     store now would go to memory *under* a possibly dirty line of the same address, and
 *     the later clean would overwrite it. Hence no stack, no stores until step 3 is done.
 *  3. DC CIVAC over [kx_image_start, kx_image_end) (our data, .bss and stack were written
 *     with caches on: dirty lines must reach memory before the new kernel reuses that RAM,
 *     or a late eviction would overwrite what it writes with its MMU off) and over every
 *     hashed region (we only read them: their lines are clean, but removing them leaves the
 *     caches as we found them; the kernel image must be clean to PoC at entry, booting.rst).
 *     TLBI of our regime, DSB SY (completes the DCs and the TLBI), IC IALLU (the I-cache was
 *     on; only the purgatory window was executable so only our code can be there), DSB, ISB.
 *  4. Return: kx_arch_handoff reads kx_dtb/kx_kernel_entry (patched data we never wrote,
 *     so memory is right) and branches with the MMU and D-cache off, as booting.rst asks.
 *
 * Not done: restoring MAIR/TCR/TTBR (the new kernel programs them before it enables its
 * MMU); set/way maintenance (cannot be used safely with system caches or under a hypervisor;
 * by-VA over what we touched is the architected way).
 */

#define SCTLR_M		(1 << 0)
#define SCTLR_A		(1 << 1)
#define SCTLR_C		(1 << 2)
#define SCTLR_I		(1 << 12)
#define SCTLR_WXN	(1 << 19)

/* TCR fields shared by TCR_EL1 and TCR_EL2: T0SZ = 25 (39-bit VA), IRGN0 = ORGN0 = 0b01
 * (walks Write-Back Read/Write-Allocate), SH0 = 0b11 (Inner Shareable), TG0 = 0b00 (4 KiB). */
#define TCR_LOW		0x3519
/* bits 31:16 of the EL1 layout: TG1 = 0b10 (4 KiB, bits 31:30) | EPD1 (bit 23). Of the
 * non-VHE EL2 layout: RES1 bits 31 and 23. The same value, by coincidence of the layouts. */
#define TCR_EL1_HIGH	0x8080
#define TCR_EL2_HIGH	0x8080
#define TCR_EL1_IPS	32
#define TCR_EL2_PS	16
#define MAIR_VALUE	0xff04
#define HCR_EL2_E2H	34

	/* bytes in the smallest D-cache line: 4 << CTR_EL0.DminLine (bits 19:16) */
	.macro	dline, reg, tmp
	mrs	\tmp, ctr_el0
	ubfx	\tmp, \tmp, #16, #4
	mov	\reg, #4
	lsl	\reg, \reg, \tmp
	.endm

	/* DC <op> for every line of [start, end); start and tmp are clobbered */
	.macro	dcache_range, op, start, end, line, tmp
	sub	\tmp, \line, #1
	bic	\start, \start, \tmp
1:	dc	\op, \start
	add	\start, \start, \line
	cmp	\start, \end
	b.lo	1b
	.endm

	/* DC <op> over every non-empty kx_regions entry (16 of {start, len}) */
	.macro	dcache_regions, op, line, p, n, s, e, tmp
	adrp	\p, kx_regions
	add	\p, \p, :lo12:kx_regions
	mov	\n, #16
2:	ldp	\s, \e, [\p], #16
	cbz	\e, 3f
	add	\e, \s, \e
	dcache_range \op, \s, \e, \line, \tmp
3:	subs	\n, \n, #1
	b.ne	2b
	.endm

	.section .data.kx, "aw", %progbits
	.balign	8
	.globl	kx_mmu_ttbr_el1
	.type	kx_mmu_ttbr_el1, %object
	.size	kx_mmu_ttbr_el1, 8
kx_mmu_ttbr_el1:
	.quad	0
	.globl	kx_mmu_ttbr_el2
	.type	kx_mmu_ttbr_el2, %object
	.size	kx_mmu_ttbr_el2, 8
kx_mmu_ttbr_el2:
	.quad	0
	.globl	kx_mmu
	.type	kx_mmu, %object
	.size	kx_mmu, 4
kx_mmu:
	.word	0

	.section .rodata, "a", %progbits
.Lmsg_on:
	.asciz	"kx: mmu on el="
.Lmsg_no4k:
	.asciz	"kx: mmu: no 4 KiB granule, hashing with the MMU off el="
.Lmsg_noel:
	.asciz	"kx: mmu: unexpected exception level, hashing with the MMU off el="
.Lmsg_nl:
	.asciz	"\n"

	.section .text, "ax", %progbits

/*
 * void kx_mmu_on(void): entry.S, sp valid, nothing on the stack yet. Clobbers x0-x17.
 */
	.globl	kx_mmu_on
	.type	kx_mmu_on, %function
kx_mmu_on:
	adrp	x9, kx_mmu
	ldr	w10, [x9, :lo12:kx_mmu]
	cbz	w10, .Lon_ret
	mrs	x12, CurrentEL
	ubfx	x12, x12, #2, #2
	mov	x17, x12			/* x17 = EL, for the message */
	mrs	x11, id_aa64mmfr0_el1
	ubfx	x10, x11, #28, #4		/* TGran4: 0b1111 = not implemented */
	cmp	x10, #0xf
	b.eq	.Lno4k
	and	x13, x11, #0xf			/* PARange */
	mov	x10, #2
	cmp	x13, x10
	csel	x13, x13, x10, lo		/* x13 = IPS = min(PARange, 40 bits) */
	mov	x14, #TCR_LOW

	cmp	x12, #1
	b.eq	.Lsel_el1
	cmp	x12, #2
	b.ne	.Lnoel
	mrs	x10, hcr_el2
	tbnz	x10, #HCR_EL2_E2H, .Lsel_vhe
	/* EL2, non-VHE: EL2 tree, TCR_EL2 layout */
	adrp	x9, kx_mmu_ttbr_el2
	ldr	x15, [x9, :lo12:kx_mmu_ttbr_el2]
	movk	x14, #TCR_EL2_HIGH, lsl #16
	orr	x14, x14, x13, lsl #TCR_EL2_PS
	mov	x16, #2				/* x16 = regime: 1 EL1, 2 EL2, 3 EL2 VHE */
	b	.Lsel_done
.Lsel_vhe:
	/* EL2 with E2H = 1: EL2&0 regime, EL1 register layout and descriptor format */
	adrp	x9, kx_mmu_ttbr_el1
	ldr	x15, [x9, :lo12:kx_mmu_ttbr_el1]
	movk	x14, #TCR_EL1_HIGH, lsl #16
	orr	x14, x14, x13, lsl #TCR_EL1_IPS
	mov	x16, #3
	b	.Lsel_done
.Lsel_el1:
	adrp	x9, kx_mmu_ttbr_el1
	ldr	x15, [x9, :lo12:kx_mmu_ttbr_el1]
	movk	x14, #TCR_EL1_HIGH, lsl #16
	orr	x14, x14, x13, lsl #TCR_EL1_IPS
	mov	x16, #1
.Lsel_done:
	cbz	x15, .Lon_ret

	/* step 3a: invalidate our image and stack (written with caches off) to PoC */
	dline	x4, x5
	adrp	x6, kx_image_start
	add	x6, x6, :lo12:kx_image_start
	adrp	x7, kx_image_end
	add	x7, x7, :lo12:kx_image_end
	dcache_range ivac, x6, x7, x4, x5
	/* step 3b: clean+invalidate every hashed region (and thereby the tables) to PoC */
	dcache_regions civac, x4, x6, x7, x8, x9, x5
	/* step 3c */
	dsb	sy
	ic	iallu
	dsb	sy
	isb

	/* step 4 */
	mov	x10, #MAIR_VALUE
	cmp	x16, #1
	b.ne	.Lon_el2
	msr	mair_el1, x10
	msr	tcr_el1, x14
	msr	ttbr0_el1, x15
	isb
	tlbi	vmalle1
	dsb	sy
	isb
	/* step 5 */
	mrs	x10, sctlr_el1
	orr	x10, x10, #SCTLR_M
	orr	x10, x10, #SCTLR_C
	orr	x10, x10, #SCTLR_I
	bic	x10, x10, #SCTLR_A
	bic	x10, x10, #SCTLR_WXN
	msr	sctlr_el1, x10
	isb
	b	.Lon_said

.Lon_el2:
	msr	mair_el2, x10
	msr	tcr_el2, x14
	msr	S3_4_C2_C0_0, x15		/* TTBR0_EL2 (this assembler wants FEAT_EL2VMSA for the name) */
	isb
	tlbi	alle2
	dsb	sy
	isb
	mrs	x10, sctlr_el2
	orr	x10, x10, #SCTLR_M
	orr	x10, x10, #SCTLR_C
	orr	x10, x10, #SCTLR_I
	bic	x10, x10, #SCTLR_A
	bic	x10, x10, #SCTLR_WXN
	msr	sctlr_el2, x10
	isb

.Lon_said:
	adrp	x0, .Lmsg_on
	add	x0, x0, :lo12:.Lmsg_on
	b	.Lsay
.Lno4k:
	adrp	x0, .Lmsg_no4k
	add	x0, x0, :lo12:.Lmsg_no4k
	b	.Lsay
.Lnoel:
	adrp	x0, .Lmsg_noel
	add	x0, x0, :lo12:.Lmsg_noel
.Lsay:
	/* x0 = message, x17 = EL; prints "<message><EL>\n" (no-op unless kx_console) */
	stp	x29, x30, [sp, #-32]!
	mov	x29, sp
	str	x17, [sp, #16]
	bl	kx_puts
	ldr	x0, [sp, #16]
	bl	kx_put_dec
	adrp	x0, .Lmsg_nl
	add	x0, x0, :lo12:.Lmsg_nl
	bl	kx_puts
	ldp	x29, x30, [sp], #32
.Lon_ret:
	ret
	.size	kx_mmu_on, . - kx_mmu_on

/*
 * void kx_mmu_off(void): first thing in kx_arch_handoff. A leaf: no stack, no stores.
 * Clobbers x4-x13. Returns at once when kx_mmu = 0 or the MMU is not on.
 */
	.globl	kx_mmu_off
	.type	kx_mmu_off, %function
kx_mmu_off:
	adrp	x9, kx_mmu
	ldr	w10, [x9, :lo12:kx_mmu]
	cbz	w10, .Loff_ret
	mrs	x12, CurrentEL
	ubfx	x12, x12, #2, #2
	cmp	x12, #1
	b.eq	.Loff_el1
	cmp	x12, #2
	b.ne	.Loff_ret

	mrs	x10, sctlr_el2
	tbz	x10, #0, .Loff_ret		/* SCTLR_EL2.M clear: never turned on */
	dsb	sy				/* step 1 */
	bic	x10, x10, #SCTLR_M		/* step 2 */
	bic	x10, x10, #SCTLR_C
	bic	x10, x10, #SCTLR_I
	msr	sctlr_el2, x10
	isb
	tlbi	alle2				/* completed by the DSB below */
	b	.Loff_clean

.Loff_el1:
	mrs	x10, sctlr_el1
	tbz	x10, #0, .Loff_ret
	dsb	sy
	bic	x10, x10, #SCTLR_M
	bic	x10, x10, #SCTLR_C
	bic	x10, x10, #SCTLR_I
	msr	sctlr_el1, x10
	isb
	tlbi	vmalle1

.Loff_clean:
	/* step 3: registers only from here to the return */
	dline	x4, x5
	adrp	x6, kx_image_start
	add	x6, x6, :lo12:kx_image_start
	adrp	x7, kx_image_end
	add	x7, x7, :lo12:kx_image_end
	dcache_range civac, x6, x7, x4, x5
	dcache_regions civac, x4, x6, x7, x8, x9, x5
	dsb	sy
	ic	iallu
	dsb	sy
	isb
.Loff_ret:
	ret
	.size	kx_mmu_off, . - kx_mmu_off
