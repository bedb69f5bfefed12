/* See fmt.h. No libc calls, so the parser may use it and stay syscall-free. */
#include "fmt.h"

void kx_buf_init(struct kx_buf *b, char *storage, size_t cap)
{
	b->p = storage;
	b->cap = cap;
	b->len = 0;
	if (cap)
		storage[0] = '\0';
}

void kx_put_char(struct kx_buf *b, char c)
{
	if (b->cap && b->len + 1 < b->cap) {
		b->p[b->len++] = c;
		b->p[b->len] = '\0';
	}
}

void kx_put_str(struct kx_buf *b, const char *s)
{
	while (*s)
		kx_put_char(b, *s++);
}

void kx_put_dec(struct kx_buf *b, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		kx_put_char(b, tmp[--n]);
}

static const char hexdig[] = "0123456789abcdef";

void kx_put_hex(struct kx_buf *b, uint64_t v)
{
	char tmp[16];
	int n = 0;

	do {
		tmp[n++] = hexdig[v & 15];
		v >>= 4;
	} while (v);
	kx_put_str(b, "0x");
	while (n)
		kx_put_char(b, tmp[--n]);
}

void kx_put_escaped(struct kx_buf *b, const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		kx_put_char(b, '-');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || c == '\\' || (n == 1 && c == '-')) {
			kx_put_char(b, '\\');
			kx_put_char(b, 'x');
			kx_put_char(b, hexdig[c >> 4]);
			c = (unsigned char)hexdig[c & 15];
		}
		kx_put_char(b, (char)c);
	}
}

static size_t cstrlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

void kx_vfmt(struct kx_buf *b, const char *fmt, va_list ap)
{
	const char *s;

	for (; *fmt; fmt++) {
		if (*fmt != '%' || !fmt[1]) {
			kx_put_char(b, *fmt);
			continue;
		}
		switch (*++fmt) {
		case 'd':
			kx_put_dec(b, va_arg(ap, uint64_t));
			break;
		case 'x':
			kx_put_hex(b, va_arg(ap, uint64_t));
			break;
		case 'g':   /* "segment <uint64_t>: " */
			kx_put_str(b, "segment ");
			kx_put_dec(b, va_arg(ap, uint64_t));
			kx_put_str(b, ": ");
			break;
		case 's':
			kx_put_str(b, va_arg(ap, const char *));
			break;
		case 'e':
			s = va_arg(ap, const char *);
			kx_put_escaped(b, s, cstrlen(s));
			break;
		default:
			kx_put_char(b, *fmt);
			break;
		}
	}
}

void kx_fmt(struct kx_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kx_vfmt(b, fmt, ap);
	va_end(ap);
}
