/* crc32c of one 4 KiB page for cairn-restorer's page check (restorer.c: check_pages), in a
 * header of its own so that test/programs/page_crc_check.c checks it against a bitwise
 * reference. No libc: the includer defines u8, u32, u64. Call page_crc_init() first. */
#ifndef CAIRN_PAGE_CRC_H
#define CAIRN_PAGE_CRC_H

#define PAGE_CRC_BYTES 4096UL

/* crc32c (Castagnoli, as native/src/crc32c.cc): the crc32 instruction where the CPU has it
 * (SSE4.2), else a table. A page is three streams run side by side, joined by shifting (the
 * instruction's latency is three times its throughput): ~2.5x one stream. */
static int have_crc32_insn = -1;
static u32 crc_table[256];
#define STREAM_A 1368UL
#define STREAM_B 1368UL
#define STREAM_C (PAGE_CRC_BYTES - STREAM_A - STREAM_B)
static u32 shift_b[4][256], shift_c[4][256]; /* x^(8 len) per byte of the crc, len = STREAM_B, STREAM_C */

static u32 gf2_times(const u32 *mat, u32 vec)
{
	u32 sum = 0;
	for (; vec; vec >>= 1, mat++)
		if (vec & 1)
			sum ^= *mat;
	return sum;
}

static void gf2_square(u32 *square, const u32 *mat)
{
	for (int n = 0; n < 32; n++)
		square[n] = gf2_times(mat, mat[n]);
}

/* reg * x^(8 len) mod P: the crc register after len zero bytes (no inversions) */
static u32 crc_shift(u32 reg, u64 len)
{
	u32 even[32], odd[32];
	odd[0] = 0x82F63B78u;
	for (u32 n = 1, row = 1; n < 32; n++, row <<= 1)
		odd[n] = row;
	gf2_square(even, odd);
	gf2_square(odd, even);
	for (;;) {
		gf2_square(even, odd);
		if (len & 1)
			reg = gf2_times(even, reg);
		len >>= 1;
		if (!len)
			break;
		gf2_square(odd, even);
		if (len & 1)
			reg = gf2_times(odd, reg);
		len >>= 1;
		if (!len)
			break;
	}
	return reg;
}

static void shift_table(u32 t[4][256], u64 len)
{
	u32 m[32];
	for (int k = 0; k < 32; k++)
		m[k] = crc_shift(1u << k, len);
	for (int k = 0; k < 4; k++)
		for (u32 v = 0; v < 256; v++)
			t[k][v] = gf2_times(m, v << (8 * k));
}

static u32 shift_by(u32 t[4][256], u32 c) { return t[0][c & 255] ^ t[1][(c >> 8) & 255] ^ t[2][(c >> 16) & 255] ^ t[3][c >> 24]; }

static u32 crc32c_page(const u8 *p)
{
	if (!have_crc32_insn) {
		u32 c = 0xffffffffu;
		for (u64 i = 0; i < PAGE_CRC_BYTES; i++)
			c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
		return ~c;
	}
	u64 a = 0xffffffffu, b = 0, c = 0;
	for (u64 i = 0; i < STREAM_C; i += 8) {
		u64 x = *(const u64 *)(p + i), y = *(const u64 *)(p + STREAM_A + i), z = *(const u64 *)(p + STREAM_A + STREAM_B + i);
		__asm__("crc32q %1, %0" : "+r"(a) : "rm"(x));
		__asm__("crc32q %1, %0" : "+r"(b) : "rm"(y));
		__asm__("crc32q %1, %0" : "+r"(c) : "rm"(z));
	}
	for (u64 i = STREAM_C; i < STREAM_A; i += 8) { /* the first two streams' last bytes */
		u64 x = *(const u64 *)(p + i), y = *(const u64 *)(p + STREAM_A + i);
		__asm__("crc32q %1, %0" : "+r"(a) : "rm"(x));
		__asm__("crc32q %1, %0" : "+r"(b) : "rm"(y));
	}
	return ~(shift_by(shift_c, shift_by(shift_b, (u32)a) ^ (u32)b) ^ (u32)c);
}

static void page_crc_init(void)
{
	u32 a, b, c, d;
	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	have_crc32_insn = (c >> 20) & 1;
	for (u32 i = 0; i < 256; i++) {
		u32 x = i;
		for (int k = 0; k < 8; k++)
			x = (x >> 1) ^ (0x82F63B78u & (0u - (x & 1)));
		crc_table[i] = x;
	}
	shift_table(shift_b, STREAM_B);
	shift_table(shift_c, STREAM_C);
}

#endif
