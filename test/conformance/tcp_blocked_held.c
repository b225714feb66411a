/* env: CAIRN_TEST_REFILL_AT_ONCE=1000 */
/* tcp_blocked_sender with cairn putting back at most 1000 drained bytes at once: the rest is
 * sent while the writing process is held frozen, at checkpoint (the job runs on) and at
 * restart, and the reader still gets every byte in order. */
#include "tcp_blocked_sender.c"
