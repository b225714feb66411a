/* The restorer's page crc32c (native/helpers/page_crc.h) against a bitwise reference, on the
 * zero page, an all-ones page and random pages, with the crc32 instruction (where the CPU has
 * it) and with the table. Prints "ok insn N" / "ok table N"; exits 1 at the first mismatch. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint8_t u8;
typedef uint32_t u32;
typedef uint64_t u64;
#include "../../native/helpers/page_crc.h"

static u32 reference(const u8 *p)
{
	u32 c = 0xffffffffu;
	for (size_t i = 0; i < PAGE_CRC_BYTES; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
	}
	return ~c;
}

static int check(const char *how, u8 *page)
{
	srand(7);
	for (int r = 0; r < 1000; r++) {
		if (r == 0)
			memset(page, 0, PAGE_CRC_BYTES);
		else if (r == 1)
			memset(page, 0xff, PAGE_CRC_BYTES);
		else
			for (size_t i = 0; i < PAGE_CRC_BYTES; i++)
				page[i] = (u8)rand();
		if (crc32c_page(page) != reference(page)) {
			printf("mismatch %s page %d: %08x, reference %08x\n", how, r, crc32c_page(page), reference(page));
			return 1;
		}
	}
	printf("ok %s 1000\n", how);
	return 0;
}

int main(void)
{
	static u8 page[PAGE_CRC_BYTES] __attribute__((aligned(4096)));
	page_crc_init();
	int had_insn = have_crc32_insn;
	if (had_insn && check("insn", page))
		return 1;
	have_crc32_insn = 0;
	if (check("table", page))
		return 1;
	if (!had_insn)
		printf("no crc32 instruction on this CPU\n");
	return 0;
}
