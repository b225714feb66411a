/* ring_sum.c: a deterministic MPI job for checkpoint/restart tests.
 *   usage: ring_sum ITERATIONS [microseconds_per_iteration] [doubles_per_msg] [beat_every]
 * Each iteration: a token of N doubles goes around the ring (every rank adds
 * rank+iteration to element 0 and mixes element 1), then an MPI_Allreduce(SUM)
 * of values that depend on the rank and the iteration. Every value is checked
 * against its closed form each iteration (a mismatch aborts), and each rank
 * folds what it saw into a checksum. Rank 0 sleeps the given time per
 * iteration (so a run lasts long enough to be checkpointed; the values do not
 * depend on it) and appends a heartbeat line to ./heartbeat every beat_every
 * (default 100) iterations, through a descriptor kept open. At the end rank 0 gathers every
 * rank's checksum and host and writes ./result (and stdout):
 *   rank R on HOST: checksum HEX
 *   RING SUM OK size=S iterations=I checksum=HEX
 * A run with any sleep, checkpointed and restarted or not, writes the same. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t mix(uint64_t h, double v)
{
	uint64_t x;
	memcpy(&x, &v, sizeof x);
	h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h * 0x100000001b3ULL;
}

static void check(int ok, const char *what, long it, int rank)
{
	if (!ok) {
		fprintf(stderr, "ring_sum: %s mismatch at iteration %ld on rank %d\n", what, it, rank);
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	int rank, size;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	long iterations = argc > 1 ? atol(argv[1]) : 1000;
	long sleep_us = argc > 2 ? atol(argv[2]) : 0;
	int n = argc > 3 ? atoi(argv[3]) : 512;
	long beat_every = argc > 4 ? atol(argv[4]) : 100;
	if (n < 4)
		n = 4;
	if (beat_every < 1)
		beat_every = 1;
	char host[MPI_MAX_PROCESSOR_NAME];
	int hl;
	MPI_Get_processor_name(host, &hl);
	double *tok = malloc(n * sizeof *tok), *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
	int next = (rank + 1) % size, prev = (rank + size - 1) % size;
	/* Every pair of ranks exchanges a message first, so that each connection the run
	 * uses (the final gathers too) exists at any checkpoint: MPI libraries connect lazily,
	 * and a connection first made after a restart on other hosts would start from an
	 * address of the old host (a limit of cairn's migration, see docs/DESIGN.md). */
	{
		int *got = malloc(size * sizeof *got);
		MPI_Request *req = malloc(2 * size * sizeof *req);
		MPI_Status *st = malloc(2 * size * sizeof *st);
		int nreq = 0;
		for (int peer = 0; peer < size; peer++) {
			if (peer == rank)
				continue;
			MPI_Irecv(&got[peer], 1, MPI_INT, peer, 7, MPI_COMM_WORLD, &req[nreq++]);
			MPI_Isend(&rank, 1, MPI_INT, peer, 7, MPI_COMM_WORLD, &req[nreq++]);
		}
		MPI_Waitall(nreq, req, st);
		for (int peer = 0; peer < size; peer++)
			if (peer != rank)
				check(got[peer] == peer, "warm-up", -1, rank);
		free(st);
		free(req);
		free(got);
	}
	FILE *beat = rank == 0 ? fopen("heartbeat", "w") : NULL;
	uint64_t sum = 1469598103934665603ULL;

	for (long it = 0; it < iterations; it++) {
		/* ring: element 0 collects rank+it over all ranks; element k>1 is k*it */
		if (rank == 0) {
			for (int i = 0; i < n; i++)
				tok[i] = (double)i * (double)it;
			tok[0] = (double)it;
			MPI_Send(tok, n, MPI_DOUBLE, next, 0, MPI_COMM_WORLD);
			MPI_Recv(tok, n, MPI_DOUBLE, prev, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			check(tok[0] == (double)it * size + size * (size - 1) / 2.0, "ring", it, rank);
		} else {
			MPI_Recv(tok, n, MPI_DOUBLE, prev, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			check(tok[2] == 2.0 * (double)it, "ring token", it, rank);
			tok[0] += rank + (double)it;
			tok[1] = tok[1] * 0.5 + rank;
			MPI_Send(tok, n, MPI_DOUBLE, next, 0, MPI_COMM_WORLD);
		}
		sum = mix(sum, tok[0]);
		sum = mix(sum, tok[1]);
		/* allreduce: element i of rank r is (r+1)*(i+1) + it */
		for (int i = 0; i < n; i++)
			in[i] = (double)(rank + 1) * (i + 1) + (double)it;
		MPI_Allreduce(in, out, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
		for (int i = 0; i < n; i += n / 4)
			check(out[i] == (size * (size + 1) / 2.0) * (i + 1) + (double)it * size, "allreduce", it, rank);
		sum = mix(sum, out[n - 1]);
		if (rank == 0) {
			if (sleep_us)
				usleep((useconds_t)sleep_us);
			if (beat && it % beat_every == 0) {
				fprintf(beat, "iteration %ld\n", it);
				fflush(beat);
			}
		}
	}

	uint64_t *sums = rank == 0 ? malloc(size * sizeof *sums) : NULL;
	char *hosts = rank == 0 ? malloc((size_t)size * MPI_MAX_PROCESSOR_NAME) : NULL;
	MPI_Gather(&sum, 1, MPI_UINT64_T, sums, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
	MPI_Gather(host, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, hosts, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, MPI_COMM_WORLD);
	if (rank == 0) {
		FILE *res = fopen("result", "w");
		uint64_t all = 0;
		for (int r = 0; r < size; r++) {
			all = mix(all, (double)(sums[r] >> 11));
			fprintf(res, "rank %d on %s: checksum %016llx\n", r, hosts + (size_t)r * MPI_MAX_PROCESSOR_NAME, (unsigned long long)sums[r]);
		}
		fprintf(res, "RING SUM OK size=%d iterations=%ld checksum=%016llx\n", size, iterations, (unsigned long long)all);
		fclose(res);
		printf("RING SUM OK size=%d iterations=%ld checksum=%016llx\n", size, iterations, (unsigned long long)all);
		if (beat)
			fclose(beat);
	}
	MPI_Finalize();
	return 0;
}
