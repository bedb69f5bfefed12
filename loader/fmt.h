/* Tiny bounded string builder: enough formatting for kxload's messages without stdio. */
#ifndef KX_FMT_H
#define KX_FMT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct kx_buf {
	char *p;      /* storage, always NUL-terminated */
	size_t cap;   /* bytes available in p, including the NUL */
	size_t len;   /* characters written so far (excluding the NUL) */
};

void kx_buf_init(struct kx_buf *b, char *storage, size_t cap);
void kx_put_char(struct kx_buf *b, char c);
void kx_put_str(struct kx_buf *b, const char *s);
void kx_put_dec(struct kx_buf *b, uint64_t v);
void kx_put_hex(struct kx_buf *b, uint64_t v);   /* "0x" followed by lowercase digits */
/* s[0..n) with anything outside printable ASCII (and '\\') written as \xHH; "-" when n == 0. */
void kx_put_escaped(struct kx_buf *b, const char *s, size_t n);

/*
 * Append fmt with directives taking these argument types (nothing else is understood):
 *   %d uint64_t in decimal   %x uint64_t as 0x-hex   %s const char *   %e const char *, escaped
 *   %g uint64_t i, written as "segment <i>: "
 * Numbers MUST be passed as uint64_t (use KX_U()).
 */
#define KX_U(v) ((uint64_t)(v))
void kx_fmt(struct kx_buf *b, const char *fmt, ...);
void kx_vfmt(struct kx_buf *b, const char *fmt, va_list ap);

#endif
