#include "parts.h"
/* A little work the compiler cannot fold away entirely. */
unsigned part2(unsigned x)
{
	unsigned h = x * 2654435761u + 2;
	for (int k = 0; k < 1000 + 2; k++)
		h = (h ^ (h >> 13)) * 0x5bd1e995u + (unsigned)k;
	return h;
}
