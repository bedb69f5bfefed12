/*
 * x86_64 jump into the new kernel (64-bit boot protocol), and the halt after a failed check.
 *
 * The 64-bit entry (boot.rst, "64-bit Boot Protocol") expects: long mode with an identity
 * map covering the kernel, boot_params and command line; interrupts off; a GDT with
 * __BOOT_CS (0x10) a flat 64-bit code segment and __BOOT_DS (0x18) a flat data segment,
 * CS = __BOOT_CS and DS/ES/SS = __BOOT_DS; rsi = boot_params. The old kernel's GDT lives in
 * its own (virtual) memory, so we install our own table first, reload every data segment
 * register, and reload CS with a far return. rbx, rbp and rdi are cleared so nothing of
 * ours leaks into the kernel's early code.
 */
	.section .text, "ax", @progbits

	.globl	kx_arch_handoff
	.type	kx_arch_handoff, @function
kx_arch_handoff:
	cli
	lgdt	kx_gdt_desc(%rip)
	movl	$0x18, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	leaq	1f(%rip), %rax
	pushq	$0x10
	pushq	%rax
	lretq
1:
	movq	kx_boot_params(%rip), %rsi
	movq	kx_kernel_entry(%rip), %rax
	xorl	%ebx, %ebx
	xorl	%ebp, %ebp
	xorl	%edi, %edi
	jmp	*%rax
	.size	kx_arch_handoff, . - kx_arch_handoff

	.globl	kx_arch_halt
	.type	kx_arch_halt, @function
kx_arch_halt:
	cli
1:	hlt
	jmp	1b
	.size	kx_arch_halt, . - kx_arch_halt

/*
 * The GDT: entries 0 and 1 unused, 0x10 flat 64-bit code (L = 1, D = 0, present, ring 0,
 * execute/read), 0x18 flat 4 GiB data (present, ring 0, read/write). In writable data: the
 * cpu sets a descriptor's accessed bit when it loads it.
 */
	.section .data, "aw", @progbits
	.balign	16
	.globl	kx_gdt
	.type	kx_gdt, @object
kx_gdt:
	.quad	0
	.quad	0
	.quad	0x00af9a000000ffff
	.quad	0x00cf92000000ffff
kx_gdt_end:
	.size	kx_gdt, . - kx_gdt

	.balign	8
	.globl	kx_gdt_desc
	.type	kx_gdt_desc, @object
kx_gdt_desc:
	.word	kx_gdt_end - kx_gdt - 1
	.quad	kx_gdt
	.size	kx_gdt_desc, . - kx_gdt_desc
