#include <stdio.h>
#include "parts.h"

int main(void)
{
	unsigned h = 1;
	for (unsigned i = 0; i < 100; i++)
		h = part5(part4(part3(part2(part1(h + i)))));
	printf("%08x\n", h);
	return 0;
}
