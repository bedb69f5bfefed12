/*
 * x86_64 test kernel: the protected-mode part of a tiny bzImage (payloads/x86_64/build.py
 * adds the real-mode part with the setup header).
 *
 * Offset 0 is where a 32-bit loader would enter: we do not support that, so it only halts.
 * Offset 0x200 is the 64-bit entry of the boot protocol: long mode, identity map, interrupts
 * off, rsi = boot_params. We print on the COM1 16550 (port 0x3f8):
 *
 *   KXPAYLOAD rsi=0x... cs=0x.. ds=0x..
 *   KXPAYLOAD cmdline=...          (cmd_line_ptr | ext_cmd_line_ptr << 32)
 *   KXPAYLOAD initrd=0x...+0x...   (ramdisk_image/size with their ext_ halves)
 *   KXPAYLOAD e820=N               (e820_entries)
 *   KXPAYLOAD done
 *
 * then write 0x10 to port 0xf4 (QEMU's isa-debug-exit device, if present, exits with status
 * 0x21) and halt. Everything is RIP-relative: the image runs wherever it is loaded.
 */
#define COM1		0x3f8
#define LSR_THRE	0x20
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8
#define BP_RAMDISK_IMAGE	0x218
#define BP_RAMDISK_SIZE		0x21c
#define BP_CMD_LINE_PTR		0x228
#define CMDLINE_MAX		4096

	.section .head32, "ax", @progbits
	.code64
	.globl	startup_32_unsupported
startup_32_unsupported:
1:	cli
	hlt
	jmp	1b
	.fill	0x200 - (. - startup_32_unsupported), 1, 0xf4	/* hlt */

	.section .text.entry64, "ax", @progbits
	.globl	_start
	.globl	startup_64
_start:
startup_64:
	cli
	cld
	movq	%rsi, %r15			/* boot_params */
	leaq	stack_top(%rip), %rsp
	movw	%cs, %ax
	movzwl	%ax, %r13d
	movw	%ds, %ax
	movzwl	%ax, %r14d

	leaq	msg_rsi(%rip), %rsi
	call	puts
	movq	%r15, %rax
	call	puthex
	leaq	msg_cs(%rip), %rsi
	call	puts
	movq	%r13, %rax
	call	puthex
	leaq	msg_ds(%rip), %rsi
	call	puts
	movq	%r14, %rax
	call	puthex
	call	newline

	leaq	msg_cmdline(%rip), %rsi
	call	puts
	movl	BP_CMD_LINE_PTR(%r15), %eax
	movl	BP_EXT_CMD_LINE_PTR(%r15), %edx
	shlq	$32, %rdx
	orq	%rdx, %rax
	jz	1f
	movq	%rax, %rsi
	movl	$CMDLINE_MAX, %ecx
	call	putsn
1:	call	newline

	leaq	msg_initrd(%rip), %rsi
	call	puts
	movl	BP_RAMDISK_IMAGE(%r15), %eax
	movl	BP_EXT_RAMDISK_IMAGE(%r15), %edx
	shlq	$32, %rdx
	orq	%rdx, %rax
	call	puthex
	movb	$'+', %al
	call	putc
	movl	BP_RAMDISK_SIZE(%r15), %eax
	movl	BP_EXT_RAMDISK_SIZE(%r15), %edx
	shlq	$32, %rdx
	orq	%rdx, %rax
	call	puthex
	call	newline

	leaq	msg_e820(%rip), %rsi
	call	puts
	movzbl	BP_E820_ENTRIES(%r15), %eax
	call	putdec
	call	newline

	leaq	msg_done(%rip), %rsi
	call	puts
	call	newline

	movb	$0x10, %al
	outb	%al, $0xf4			/* isa-debug-exit: status (0x10 << 1) | 1 */
2:	cli
	hlt
	jmp	2b

/* putc: al = byte. Waits (bounded) for the transmit holding register. Clobbers ecx, edx. */
	.section .text, "ax", @progbits
putc:
	movb	%al, %ah
	movl	$100000, %ecx
	movw	$COM1 + 5, %dx
1:	inb	%dx, %al
	testb	$LSR_THRE, %al
	jnz	2f
	decl	%ecx
	jnz	1b
2:	movb	%ah, %al
	movw	$COM1, %dx
	outb	%al, %dx
	ret

newline:
	movb	$'\r', %al
	call	putc
	movb	$'\n', %al
	jmp	putc

/* puts: rsi = NUL-terminated string. putsn: at most ecx bytes. Clobber rax, rcx, rdx, rsi, r8. */
puts:
	movl	$0xffffffff, %ecx
putsn:
	movl	%ecx, %r8d
1:	testl	%r8d, %r8d
	jz	2f
	movb	(%rsi), %al
	testb	%al, %al
	jz	2f
	call	putc
	incq	%rsi
	decl	%r8d
	jmp	1b
2:	ret

/* puthex: rax = value, printed as 0x + hex digits without leading zeros. */
puthex:
	movq	%rax, %r9
	movb	$'0', %al
	call	putc
	movb	$'x', %al
	call	putc
	movl	$60, %r10d			/* shift of the current nibble */
1:	cmpl	$0, %r10d			/* skip leading zeros, keep the last digit */
	je	2f
	movq	%r9, %rax
	movl	%r10d, %ecx
	shrq	%cl, %rax
	testq	%rax, %rax
	jnz	2f
	subl	$4, %r10d
	jmp	1b
2:	movq	%r9, %rax
	movl	%r10d, %ecx
	shrq	%cl, %rax
	andl	$15, %eax
	leaq	hexdigits(%rip), %r11
	movb	(%r11, %rax), %al
	call	putc
	subl	$4, %r10d
	jns	2b
	ret

/* putdec: rax = value (< 2^64), decimal. */
putdec:
	leaq	decbuf_end(%rip), %rsi
	movb	$0, (%rsi)
	movl	$10, %r9d
1:	xorl	%edx, %edx
	divq	%r9
	addb	$'0', %dl
	decq	%rsi
	movb	%dl, (%rsi)
	testq	%rax, %rax
	jnz	1b
	jmp	puts

	.section .rodata, "a", @progbits
hexdigits:	.ascii	"0123456789abcdef"
msg_rsi:	.asciz	"KXPAYLOAD rsi="
msg_cs:		.asciz	" cs="
msg_ds:		.asciz	" ds="
msg_cmdline:	.asciz	"KXPAYLOAD cmdline="
msg_initrd:	.asciz	"KXPAYLOAD initrd="
msg_e820:	.asciz	"KXPAYLOAD e820="
msg_done:	.asciz	"KXPAYLOAD done"

	.section .bss, "aw", @nobits
	.balign	4096
decbuf:		.skip	24
decbuf_end:	.skip	8
	.balign	4096
stack:		.skip	4096
stack_top:
