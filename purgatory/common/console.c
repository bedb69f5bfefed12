/*
 * Tiny formatted output over kx_arch_putc. Everything is silent unless the toolchain set
 * kx_console, so a quiet purgatory never touches the arch console at all.
 */
#include "kx.h"

void kx_puts(const char *s)
{
	if (!kx_console)
		return;
	while (*s)
		kx_arch_putc(*s++);
}

void kx_put_dec(u64 v)
{
	char buf[21];
	int i = sizeof(buf) - 1;

	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	kx_puts(&buf[i]);
}

void kx_put_hex(u64 v)
{
	static const char digits[] = "0123456789abcdef";
	char buf[19];
	int i = sizeof(buf) - 1;

	buf[i] = 0;
	do {
		buf[--i] = digits[v & 15];
		v >>= 4;
	} while (v);
	buf[--i] = 'x';
	buf[--i] = '0';
	kx_puts(&buf[i]);
}
