/*
 * libFuzzer target for the pure bundle parser (bundle.c). Each input is parsed three ways:
 * as is (exercises the early header checks and the CRC check), with its checksum field
 * recomputed (so mutations reach the segment rules past the CRC), and against a 64 KiB
 * running page size on a machine matching the bundle's arch. When the parser accepts an
 * input, the plan is checked against the format's rules; a violation aborts (a finding).
 * Built with KX_SEEDS: a SEEDS segment's device tree goes through the seed finder, and the
 * seed ranges it reports must lie inside that segment's data (the loader writes there).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"

static const char *const unames[] = { "x86_64", "ppc64le", "ppc64", "x86_64", "aarch64", "riscv64" };

static void check_plan(const struct kxb_plan *p, size_t len, const char *msg)
{
	uint32_t i, j, purg = 0;

	if (strcmp(msg, "ok") != 0 || p->nr_segments < 1 || p->nr_segments > KXB_MAX_SEGMENTS)
		abort();
	for (i = 0; i < p->nr_segments; i++) {
		const struct kxb_segment *s = &p->seg[i];

		if (s->offset > len || s->bufsz > len - s->offset || s->bufsz > s->memsz ||
		    !s->memsz || s->mem % p->page_size || s->memsz % p->page_size ||
		    s->memsz > UINT64_MAX - s->mem || !kxb_kind_name(s->kind) ||
		    s->name[KXB_NAME_SIZE - 1] != '\0')
			abort();
		if (i && p->seg[i - 1].mem + p->seg[i - 1].memsz > s->mem)
			abort();
		for (j = 0; j < i; j++)
			if (s->bufsz && p->seg[j].bufsz && s->offset < p->seg[j].offset + p->seg[j].bufsz &&
			    p->seg[j].offset < s->offset + s->bufsz)
				abort();
		if (s->flags & KXB_SEG_PURGATORY)
			purg++;
		if (s->flags & KXB_SEG_SEEDS) {
			if (s->kind != 3 || s->nr_fills < 1 || s->nr_fills > KXB_MAX_FILLS)
				abort();
			for (j = 0; j < s->nr_fills; j++)
				if (s->fill_off[j] > s->bufsz || s->fill_len[j] > s->bufsz - s->fill_off[j])
					abort();
		}
	}
	if (purg != 1 || p->entry < p->seg[p->purgatory].mem ||
	    p->entry - p->seg[p->purgatory].mem >= p->seg[p->purgatory].memsz)
		abort();
}

static void one(const unsigned char *d, size_t len, uint64_t page, const char *machine)
{
	static struct kxb_plan plan;
	char msg[256];
	enum kxb_err e;

	memset(msg, 0x55, sizeof(msg));
	e = kxb_parse(d, len, page, machine, &plan, msg, sizeof(msg));
	if (memchr(msg, '\0', sizeof(msg)) == NULL || (unsigned)e >= KXB_E_COUNT)
		abort();
	if (e == KXB_OK)
		check_plan(&plan, len, msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char zero[4];
	const char *machine = "x86_64";
	unsigned char *copy;
	uint32_t crc;

	one(data, size, 4096, machine);
	if (size < 64)
		return 0;
	if (data[16] < 6 && !data[17] && !data[18] && !data[19])
		machine = unames[data[16]];
	/* an exact-size heap copy so ASan sees reads past the end */
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	crc = kxb_crc32(0, copy, 48);
	crc = kxb_crc32(crc, zero, 4);
	crc = kxb_crc32(crc, copy + 52, size - 52);
	copy[48] = (unsigned char)crc;
	copy[49] = (unsigned char)(crc >> 8);
	copy[50] = (unsigned char)(crc >> 16);
	copy[51] = (unsigned char)(crc >> 24);
	one(copy, size, 4096, machine);
	one(copy, size, 0x10000, machine);
	free(copy);
	return 0;
}
