/*
 * x86_64 purgatory entry.
 *
 * The old kernel's kexec code jumps here in 64-bit long mode, on its identity-mapped page
 * tables, with interrupts disabled, and no stack we may rely on. Mask interrupts again
 * (cheap, and the hand-off must not be interrupted), clear the direction flag the C ABI
 * assumes, switch to our own stack (its own pages, see link.ld.in) and call
 * kx_main(boot_cpu = 0): on x86 the boot cpu needs no hand-off.
 *
 * All references are RIP-relative or rel32, so this stub does not care where it is linked;
 * the C code is built with -mcmodel=large and linked at its final address.
 */
	.section .text.entry, "ax", @progbits
	.globl	_start
	.globl	kx_entry
	.type	kx_entry, @function
	/* zig's link step passes --entry _start; both names are the same byte. */
_start:
kx_entry:
	cli
	cld
	leaq	kx_stack_top(%rip), %rsp
	andq	$-16, %rsp
	xorl	%ebp, %ebp
	xorl	%edi, %edi		/* boot_cpu = 0 */
	call	kx_main
	jmp	kx_arch_halt		/* kx_main does not return */
	.size	kx_entry, . - kx_entry
