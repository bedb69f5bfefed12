/* Entry for the unicorn runs: the driver sets the stack pointer and the return address to a
 * stop address itself, then starts at hx_run; _start only names the ELF entry. */
	.section .text.entry, "ax"
	.globl	_start
_start:
	.byte 0, 0, 0, 0
