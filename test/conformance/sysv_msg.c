/* A SysV message queue (lowered msg_qbytes) with messages of several types and sizes, an
 * empty one included, and an IPC_PRIVATE queue with one. After restart: same ids, keys, mode
 * and limits, IPC_STAT counts match, and msgrcv gives them back in order with their types. */
#include "conformance.h"
#include <sys/ipc.h>
#include <sys/msg.h>

struct m { long type; char text[4000]; };

static const struct { long type; size_t len; } sent[] = { { 3, 5 }, { 1, 3000 }, { 7, 0 }, { 3, 17 }, { 2, 1 } };
#define N (sizeof sent / sizeof sent[0])

static char byte(size_t k, size_t i) { return (char)(k * 31 + i * 5 + 1); }

int main(void)
{
	cf_start();
	/* Ids with a sequence number: restored exactly, not just allocated again. */
	for (int i = 0; i < 3; i++)
		OK(msgctl(OK(msgget(IPC_PRIVATE, 0600)), IPC_RMID, NULL));
	const key_t key = 0x35a90001;
	const int id = OK(msgget(key, IPC_CREAT | IPC_EXCL | 0620));
	struct msqid_ds ds;
	OK(msgctl(id, IPC_STAT, &ds));
	ds.msg_qbytes = 9000;   /* lowering needs no privilege */
	OK(msgctl(id, IPC_SET, &ds));
	static struct m msg;
	size_t bytes = 0;
	for (size_t k = 0; k < N; k++) {
		msg.type = sent[k].type;
		for (size_t i = 0; i < sent[k].len; i++)
			msg.text[i] = byte(k, i);
		OK(msgsnd(id, &msg, sent[k].len, IPC_NOWAIT));
		bytes += sent[k].len;
	}
	const int priv = OK(msgget(IPC_PRIVATE, 0600));
	msg.type = 42;
	memcpy(msg.text, "private", 7);
	OK(msgsnd(priv, &msg, 7, IPC_NOWAIT));
	cf_wait();

	OK(msgctl(id, IPC_STAT, &ds));
	CHECK(ds.msg_perm.__key == key, "key is %#x, was %#x", (unsigned)ds.msg_perm.__key, (unsigned)key);
	CHECK((ds.msg_perm.mode & 0777) == 0620, "mode is %o, was 620", ds.msg_perm.mode & 0777);
	CHECK(ds.msg_qnum == N, "msg_qnum is %lu, expected %zu", (unsigned long)ds.msg_qnum, N);
	CHECK(ds.msg_cbytes == bytes, "msg_cbytes is %lu, expected %zu", (unsigned long)ds.msg_cbytes, bytes);
	CHECK(ds.msg_qbytes == 9000, "msg_qbytes is %lu, was 9000", (unsigned long)ds.msg_qbytes);
	CHECK(msgget(key, 0) == id, "msgget(key) gives %d, the id was %d", msgget(key, 0), id);
	for (size_t k = 0; k < N; k++) {
		ssize_t n = msgrcv(id, &msg, sizeof msg.text, 0, IPC_NOWAIT);
		CHECK(n >= 0, "msgrcv of message %zu: %s", k, strerror(errno));
		CHECK(msg.type == sent[k].type && (size_t)n == sent[k].len, "message %zu: type %ld, %zd bytes; expected type %ld, %zu bytes",
		      k, msg.type, n, sent[k].type, sent[k].len);
		for (size_t i = 0; i < (size_t)n; i++)
			CHECK(msg.text[i] == byte(k, i), "message %zu byte %zu differs", k, i);
	}
	CHECK(msgrcv(id, &msg, sizeof msg.text, 0, IPC_NOWAIT) < 0 && errno == ENOMSG, "a message too many");
	ssize_t n = msgrcv(priv, &msg, sizeof msg.text, 0, IPC_NOWAIT);
	CHECK(n == 7 && msg.type == 42 && !memcmp(msg.text, "private", 7), "the private queue gave %zd bytes of type %ld", n, msg.type);
	return cf_pass();
}
