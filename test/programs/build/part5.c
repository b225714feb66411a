#include "parts.h"
/* A little work the compiler cannot fold away entirely. */
unsigned part5(unsigned x)
{
	unsigned h = x * 2654435761u + 5;
	for (int k = 0; k < 1000 + 5; k++)
		h = (h ^ (h >> 13)) * 0x5bd1e995u + (unsigned)k;
	return h;
}
