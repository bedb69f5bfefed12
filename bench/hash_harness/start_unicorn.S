/* Entry for the unicorn runs: the driver sets the stack pointer and the return address to a
 * stop address itself, then starts at hx_run; hx_entry only names the ELF entry. */
	.section .text.entry, "ax"
	.globl	hx_entry
hx_entry:
	.byte 0, 0, 0, 0
