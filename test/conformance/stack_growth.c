/* The main stack ([stack], MAP_GROWSDOWN): its content survives and it still grows
 * downward by several MiB after restore. */
#include "conformance.h"
#include <sys/resource.h>

static char *deepest;

__attribute__((noinline)) static uint64_t recurse(int depth, uint64_t acc)
{
	volatile char frame[16384];
	for (size_t i = 0; i < sizeof frame; i += 512) frame[i] = (char)(depth + i);
	if ((char *)frame < deepest || !deepest) deepest = (char *)frame;
	uint64_t r = depth ? recurse(depth - 1, acc * 31 + frame[depth % sizeof frame]) : acc;
	for (size_t i = 0; i < sizeof frame; i += 512) CHECK(frame[i] == (char)(depth + i), "stack frame at depth %d overwritten", depth);
	return r + 1;
}

int main(void)
{
	cf_start();
	volatile uint64_t local[4096];
	for (int i = 0; i < 4096; i++) local[i] = cf_nonce ^ (uint64_t)i;
	recurse(16, 1); /* 256 KiB: the stack is a little grown before the checkpoint */
	char *before = deepest;
	cf_wait();
	for (int i = 0; i < 4096; i++) CHECK(local[i] == (cf_nonce ^ (uint64_t)i), "stack word %d lost its content", i);
	deepest = NULL;
	recurse(300, 1); /* 4.7 MiB: far below what was mapped at checkpoint */
	CHECK(deepest < before - (4 << 20), "stack did not grow (deepest frame %p, before %p)", deepest, before);
	return cf_pass();
}
