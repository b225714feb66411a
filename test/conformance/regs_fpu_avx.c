/* Registers across the checkpoint: general purpose (rbx rbp r8-r10 r12-r15), MXCSR, x87
 * control word and stack, and every vector register the CPU has (xmm, ymm, or zmm + k
 * masks), all held live while the program waits in raw syscalls (which keep them). */
#include "conformance.h"

/* Offsets used by the assembly below. */
struct regs {
	uint64_t gp[9];   /* 0: rbx rbp r8 r9 r10 r12 r13 r14 r15 */
	uint32_t mxcsr;   /* 72 */
	uint16_t fcw, pad; /* 76 */
	double f[2];      /* 80, 88 */
	uint64_t k[8];    /* 96 */
	uint8_t pad2[32]; /* 160 */
	uint8_t v[32][64]; /* 192 */
};

/* cf_reg_loop(go_path, in, out, mode): mode 0 = SSE, 1 = AVX, 2 = AVX-512. */
int cf_reg_loop(const char *go, const struct regs *in, struct regs *out, long mode);
__asm__(
	".text\n.globl cf_reg_loop\n.type cf_reg_loop,@function\ncf_reg_loop:\n"
	"push %rbx\npush %rbp\npush %r12\npush %r13\npush %r14\npush %r15\n"
	"sub $48,%rsp\n"
	"mov %rdi,0(%rsp)\nmov %rsi,8(%rsp)\nmov %rdx,16(%rsp)\nmov %rcx,24(%rsp)\n"
	"cmp $2,%rcx\nje 11f\ncmp $1,%rcx\nje 12f\n"
	".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\nmovdqu (192+\\i*64)(%rsi),%xmm\\i\n.endr\njmp 13f\n"
	"12:\n.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\nvmovdqu (192+\\i*64)(%rsi),%ymm\\i\n.endr\njmp 13f\n"
	"11:\n.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
	"vmovdqu64 (192+\\i*64)(%rsi),%zmm\\i\n.endr\n"
	".irp i,0,1,2,3,4,5,6,7\nkmovq (96+\\i*8)(%rsi),%k\\i\n.endr\n"
	"13:\nldmxcsr 72(%rsi)\nfninit\nfldcw 76(%rsi)\nfldl 80(%rsi)\nfldl 88(%rsi)\n"
	"mov 0(%rsi),%rbx\nmov 8(%rsi),%rbp\nmov 16(%rsi),%r8\nmov 24(%rsi),%r9\nmov 32(%rsi),%r10\n"
	"mov 40(%rsi),%r12\nmov 48(%rsi),%r13\nmov 56(%rsi),%r14\nmov 64(%rsi),%r15\n"
	"14:\nmov $21,%eax\nmov 0(%rsp),%rdi\nxor %esi,%esi\nsyscall\n" /* access(go, F_OK) */
	"test %rax,%rax\njz 15f\n"
	"movq $0,32(%rsp)\nmovq $20000000,40(%rsp)\nmov $35,%eax\nlea 32(%rsp),%rdi\nxor %esi,%esi\nsyscall\n" /* nanosleep 20 ms */
	"jmp 14b\n"
	"15:\nmov 16(%rsp),%rsi\n"
	"mov %rbx,0(%rsi)\nmov %rbp,8(%rsi)\nmov %r8,16(%rsi)\nmov %r9,24(%rsi)\nmov %r10,32(%rsi)\n"
	"mov %r12,40(%rsi)\nmov %r13,48(%rsi)\nmov %r14,56(%rsi)\nmov %r15,64(%rsi)\n"
	"stmxcsr 72(%rsi)\nfstpl 88(%rsi)\nfstpl 80(%rsi)\nfnstcw 76(%rsi)\n"
	"mov 24(%rsp),%rcx\ncmp $2,%rcx\nje 21f\ncmp $1,%rcx\nje 22f\n"
	".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\nmovdqu %xmm\\i,(192+\\i*64)(%rsi)\n.endr\njmp 23f\n"
	"22:\n.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\nvmovdqu %ymm\\i,(192+\\i*64)(%rsi)\n.endr\nvzeroupper\njmp 23f\n"
	"21:\n.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
	"vmovdqu64 %zmm\\i,(192+\\i*64)(%rsi)\n.endr\n"
	".irp i,0,1,2,3,4,5,6,7\nkmovq %k\\i,(96+\\i*8)(%rsi)\n.endr\nvzeroupper\n"
	"23:\nadd $48,%rsp\npop %r15\npop %r14\npop %r13\npop %r12\npop %rbp\npop %rbx\nxor %eax,%eax\nret\n"
	".size cf_reg_loop,.-cf_reg_loop\n");

static struct regs want, got;

int main(void)
{
	cf_start();
	long mode = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx") ? 1 : 0;
	if (getrandom(&want, sizeof want, 0) != sizeof want) cf_fail("getrandom");
	want.mxcsr = 0xffc0; /* all exceptions masked, round toward zero, FTZ, DAZ */
	want.fcw = 0x027f;   /* x87 double precision instead of extended */
	want.f[0] = 3.25 * (double)(want.gp[0] & 0xffff);
	want.f[1] = -1.0 / 3.0;
	memset(&got, 0, sizeof got);
	cf_touch(cf_ready);
	cf_reg_loop(cf_go, &want, &got, mode);
	static const char *gpn[] = { "rbx", "rbp", "r8", "r9", "r10", "r12", "r13", "r14", "r15" };
	for (int i = 0; i < 9; i++) CHECK(got.gp[i] == want.gp[i], "%s is %#llx, expected %#llx", gpn[i], (unsigned long long)got.gp[i], (unsigned long long)want.gp[i]);
	CHECK(got.mxcsr == want.mxcsr, "MXCSR is %#x, expected %#x", got.mxcsr, want.mxcsr);
	CHECK(got.fcw == want.fcw, "x87 control word is %#x, expected %#x", got.fcw, want.fcw);
	CHECK(memcmp(got.f, want.f, sizeof want.f) == 0, "x87 stack is %g %g, expected %g %g", got.f[0], got.f[1], want.f[0], want.f[1]);
	int nvec = mode == 2 ? 32 : 16, width = mode == 2 ? 64 : mode == 1 ? 32 : 16;
	const char *vn = mode == 2 ? "zmm" : mode == 1 ? "ymm" : "xmm";
	for (int i = 0; i < nvec; i++)
		for (int b = 0; b < width; b++)
			CHECK(got.v[i][b] == want.v[i][b], "%s%d byte %d is %#x, expected %#x", vn, i, b, got.v[i][b], want.v[i][b]);
	if (mode == 2)
		for (int i = 0; i < 8; i++) CHECK(got.k[i] == want.k[i], "k%d is %#llx, expected %#llx", i, (unsigned long long)got.k[i], (unsigned long long)want.k[i]);
	return cf_pass();
}
