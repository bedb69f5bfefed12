/*
 * arm64 test payload: an Image header (Documentation/arch/arm64/booting.rst) and the
 * entry code. The whole file is linked to a flat binary (link.ld, OUTPUT_FORMAT(binary)),
 * so build/payload/arm64/payload.img is an arm64 Image, not an ELF.
 *
 * Header: code0 = branch over the header, code1 = 0, text_offset = 0, image_size = bytes
 * from the start to the end of the stack, flags = 0b010 (little-endian, 4 KiB pages, 2 MiB
 * aligned base), res2-4 = 0, magic "ARM\x64", res5 = 0.
 *
 * Entry: keep x0-x3 as the boot protocol delivered them, read CurrentEL, set up our own
 * stack (PC-relative), call kxp_main(x0, x1, x2, x3, el). Everything is PC-relative.
 */
	.section .text.head, "ax", %progbits
	.globl	_start
_start:
	b	kxp_entry		/* code0 */
	.long	0			/* code1 */
	.quad	0			/* text_offset */
	.quad	kxp_image_size		/* image_size, from link.ld */
	.quad	0x2			/* flags: LE, 4K pages, base anywhere 2 MiB aligned */
	.quad	0			/* res2 */
	.quad	0			/* res3 */
	.quad	0			/* res4 */
	.ascii	"ARM\x64"		/* magic */
	.long	0			/* res5 */

kxp_entry:
	msr	daifset, #0xf
	mrs	x4, CurrentEL
	ubfx	x4, x4, #2, #2
	adrp	x9, kxp_stack_top
	add	x9, x9, :lo12:kxp_stack_top
	mov	sp, x9
	mov	x29, #0
	mov	x30, #0
	bl	kxp_main
1:	wfe
	b	1b

/*
 * PSCI SYSTEM_OFF (function id 0x84000008): hvc from EL1 (QEMU virt's conduit without
 * virtualization), smc from EL2 (with virtualization=on QEMU's PSCI is reached by smc).
 * Returns only if nothing answered.
 */
	.section .text, "ax", %progbits
	.globl	kxp_system_off
	.type	kxp_system_off, %function
kxp_system_off:
	mov	x1, x0			/* x0 = exception level */
	movz	x0, #0x0008
	movk	x0, #0x8400, lsl #16
	cmp	x1, #2
	b.ge	1f
	hvc	#0
	ret
1:	.inst	0xd4000003		/* smc #0 (the assembler wants +el3 for the mnemonic) */
	ret
	.size	kxp_system_off, . - kxp_system_off
