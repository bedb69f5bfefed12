/*
 * Entry of the ppc64le test payload (a stand-in for a Linux kernel).
 *
 * Entered like Linux/ppc64: real mode, r3 = device tree, r4 = our own load/entry address,
 * r5 = 0, and - after the purgatory's rfid - in BIG-endian mode, although this image is
 * little-endian code. We are loaded at whatever page-aligned address the toolchain picks,
 * so everything is computed from the program counter; no absolute addresses.
 *
 * Layout of the first 0x100 bytes (the purgatory also copies bytes 4..0x100 to physical 0,
 * where secondary cpus are released to 0x60 in big-endian mode):
 *   0x00  endian switch: one word that branches (big-endian view) or does nothing (LE view)
 *   0x04  LE: branch to 0x38
 *   0x08  big-endian sequence that sets MSR[LE] and rfid's to 0x30
 *   0x30  LE: r6 = 1 ("entered big-endian"), branch to the main entry
 *   0x38  LE: r6 = 0 ("entered little-endian"), branch to the main entry
 *   0x60  a hold loop for secondary cpus that spins in either byte order
 *   0x100 main entry (little-endian)
 *
 * Instruction encodings (Power ISA v3.0B, Book I/III). Fields are numbered from the most
 * significant bit (bit 0) of the 32-bit word; the primary opcode is bits 0:5, so it is
 * shifted left by 26. The words of the big-endian sequence are composed below from those
 * fields and stored most significant byte first with be_word, so a cpu running big-endian
 * reads them as written whatever byte order the assembler targets.
 */

/* I-form b target: opcode 18, LI (bits 6:29) = byte displacement, AA = LK = 0. */
#define ENC_B(disp)		((18 << 26) | ((disp) & 0x03fffffc))
/* B-form bc/bcl: opcode 16, BO bits 6:10, BI bits 11:15, BD bits 16:29, LK bit 31. */
#define ENC_BCL(bo, bi, disp)	((16 << 26) | ((bo) << 21) | ((bi) << 16) | ((disp) & 0xfffc) | 1)
/* X-form mfmsr RT: opcode 31, RT bits 6:10, extended opcode 83 in bits 21:30. */
#define ENC_MFMSR(rt)		((31 << 26) | ((rt) << 21) | (83 << 1))
/* X-form mtmsrd RS,L: opcode 31, RS bits 6:10, L bit 15, extended opcode 178. */
#define ENC_MTMSRD(rs, l)	((31 << 26) | ((rs) << 21) | ((l) << 16) | (178 << 1))
/* D-form ori RA,RS,UI: opcode 24, RS bits 6:10, RA bits 11:15, UI bits 16:31. */
#define ENC_ORI(ra, rs, ui)	((24 << 26) | ((rs) << 21) | ((ra) << 16) | ((ui) & 0xffff))
/* D-form addi RT,RA,SI: opcode 14 (RA = 0 means the value 0: "li"). */
#define ENC_ADDI(rt, ra, si)	((14 << 26) | ((rt) << 21) | ((ra) << 16) | ((si) & 0xffff))
/*
 * XFX-form mfspr/mtspr: opcode 31, RT/RS bits 6:10, the SPR number with its two 5-bit
 * halves swapped in bits 11:20, extended opcode 339 (mfspr) or 467 (mtspr).
 */
#define SPR_FIELD(spr)		((((spr) & 0x1f) << 16) | ((((spr) >> 5) & 0x1f) << 11))
#define ENC_MFSPR(rt, spr)	((31 << 26) | ((rt) << 21) | SPR_FIELD(spr) | (339 << 1))
#define ENC_MTSPR(spr, rs)	((31 << 26) | ((rs) << 21) | SPR_FIELD(spr) | (467 << 1))
#define SPR_LR			8
#define SPR_SRR0		26
#define SPR_SRR1		27
/* XL-form rfid: opcode 19, extended opcode 18. */
#define ENC_RFID		((19 << 26) | (18 << 1))

	.macro	be_word w
	.byte	((\w) >> 24) & 0xff, ((\w) >> 16) & 0xff, ((\w) >> 8) & 0xff, (\w) & 0xff
	.endm

	.section .text.head, "ax", @progbits
	.globl	_start
	.type	_start, @function
_start:
	/*
	 * 0x00. Stored as the bytes 48 00 00 08.
	 * Big-endian view: 0x48000008 = opcode 18, "b .+8", to the sequence at 0x08.
	 * Little-endian view: 0x08000048 = opcode 2, "tdi 0,0,0x48": trap doubleword
	 * immediate with TO = 0, i.e. no trap condition selected - it never traps, so it is a
	 * no-op and execution falls through to 0x04.
	 */
	be_word	ENC_B(8)
	/* 0x04, little-endian only. */
	b	entered_le

	/*
	 * 0x08..0x2c, big-endian only: MSR with LE set goes to SRR1, the address of 0x30 to
	 * SRR0, and rfid switches byte order and jumps at once. MSR[EE] and MSR[RI] are
	 * cleared first (mtmsrd with L = 1 writes just those two bits) so that nothing can
	 * overwrite SRR0/SRR1 between mtspr and rfid; rfid restores them from SRR1.
	 * Clobbers r11, r12, LR; r3-r5 are kept.
	 */
	be_word	ENC_MFMSR(11)			/* 0x08 mfmsr  r11          */
	be_word	ENC_ORI(11, 11, 1)		/* 0x0c ori    r11,r11,1    MSR[LE] is the lowest bit */
	be_word	ENC_ADDI(12, 0, 0)		/* 0x10 li     r12,0        */
	be_word	ENC_MTMSRD(12, 1)		/* 0x14 mtmsrd r12,1        EE = RI = 0 */
	be_word	ENC_BCL(20, 31, 4)		/* 0x18 bcl    20,31,.+4    LR = 0x1c */
	be_word	ENC_MFSPR(12, SPR_LR)		/* 0x1c mflr   r12          */
	be_word	ENC_ADDI(12, 12, 0x30 - 0x1c)	/* 0x20 addi   r12,r12,0x14 -> 0x30 */
	be_word	ENC_MTSPR(SPR_SRR0, 12)		/* 0x24 mtsrr0 r12          */
	be_word	ENC_MTSPR(SPR_SRR1, 11)		/* 0x28 mtsrr1 r11          */
	be_word	ENC_RFID			/* 0x2c rfid                */
	/* 0x30, little-endian (after the rfid above). r6 tells C which way we came in. */
	li	6, 1
	b	kxp_entry
entered_le:				/* 0x38 */
	li	6, 0
	b	kxp_entry

	/*
	 * 0x60: hold loop for secondary cpus, safe in both byte orders.
	 * Big-endian: 0x60 "b .+8" -> 0x68, which is "b ." (bytes 48 00 00 00) forever.
	 * Little-endian: 0x60 is the no-op tdi as at 0x00, 0x64 is a native "b ." forever.
	 */
	.org	0x60
	be_word	ENC_B(8)
	b	.
	be_word	ENC_B(0)

	/* 0x100: main entry, little-endian, r3-r5 as received, r6 = entered big-endian. */
	.org	0x100
kxp_entry:
	bcl	20, 31, 1f
1:	mflr	12
	addis	2, 12, (.TOC. - 1b)@ha
	addi	2, 2, (.TOC. - 1b)@l
	addis	1, 12, (kxp_stack_top - 1b)@ha
	addi	1, 1, (kxp_stack_top - 1b)@l
	clrrdi	1, 1, 4
	li	0, 0
	stdu	0, -32(1)			/* back chain 0 */
	std	0, 8(1)
	std	0, 16(1)
	std	0, 24(1)
	bl	kxp_main
	nop
2:	b	2b
	.size	_start, . - _start
