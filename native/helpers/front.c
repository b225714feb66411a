// cairn's command-line front (bin/cairn): `cairn command --checkpoint | --bcheckpoint | --kill | --quit` is
// answered here, in C, so that a checkpoint costs its own time and not a Node start-up
// (~0.1 s here) plus gRPC's loading (~0.2 s). Everything else, and anything this front does
// not fully understand (an unknown flag, a missing port file or secret, no coordinator
// answering), goes to the Node CLI (bin/cairn.js) unchanged, which owns every error message
// before a request is sent. Once the request is sent, the outcome is reported here, in the
// CLI's exact words and formats (cli/commands/command.ts, cli/progress.ts).
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "grpc_call.h"

#define SECRET_KEY "x-cairn-secret"
#define DEFAULT_PORT 7779
#define CHECKPOINT_TIMEOUT_MS 10000   // --checkpoint (not waiting), as the Node CLI
#define CONTROL_TIMEOUT_MS 10000      // --kill, --quit, as the Node CLI
#define STATUS_EVERY_MS 250
#define LINE_EVERY_MS 5000

// ---- falling back to the Node CLI ----

static char **g_argv;

/** bin/cairn.js beside the front's link in bin/, from where the front itself is built
    (native/build/helpers/cairn, three levels under the project). */
static void exec_node(void) {
  char exe[PATH_MAX], script[PATH_MAX + 32];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    fprintf(stderr, "cairn: cannot find where cairn is installed (/proc/self/exe)\n");
    exit(1);
  }
  exe[n] = 0;
  for (int up = 0; up < 4; up++) *strrchr(exe, '/') = 0;
  snprintf(script, sizeof script, "%s/bin/cairn.js", exe);
  if (access(script, R_OK) < 0) {
    fprintf(stderr, "cairn: cannot find the Node CLI at %s\nhint: run the cairn built in its own tree (bin/cairn after npm install)\n", script);
    exit(1);
  }
  int argc = 0;
  while (g_argv[argc]) argc++;
  char **args = calloc((size_t)argc + 2, sizeof *args);
  if (!args) exit(1);
  args[0] = "node";
  args[1] = script;
  for (int i = 1; i < argc; i++) args[i + 1] = g_argv[i];
  execvp("node", args);
  fprintf(stderr, "cairn: cannot run node: %s\nhint: install Node.js 20 or later and put it on PATH\n", strerror(errno));
  exit(127);
}

// ---- what the Node CLI would take from the command line and the environment ----

struct opts {
  int checkpoint, bcheckpoint, kill, quit, json;
  const char *coord_host, *coord_port, *port_file, *ckptdir;
};

/** Parses `command ARGS`; 0 when this front can run them, -1 to leave them to Node. */
static int parse(int argc, char **argv, struct opts *o) {
  memset(o, 0, sizeof *o);
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *eq = strchr(a, '=');
    size_t klen = eq ? (size_t)(eq - a) : strlen(a);
    const char **val = NULL;
    int *flag = NULL;
    if (!strcmp(a, "--checkpoint") || !strcmp(a, "-c")) flag = &o->checkpoint;
    else if (!strcmp(a, "--bcheckpoint")) flag = &o->bcheckpoint;
    else if (!strcmp(a, "--kill") || !strcmp(a, "-k")) flag = &o->kill;
    else if (!strcmp(a, "--quit") || !strcmp(a, "-q")) flag = &o->quit;
    else if (!strcmp(a, "--json")) flag = &o->json;
    else if (klen == 12 && !strncmp(a, "--coord-host", klen)) val = &o->coord_host;
    else if (klen == 12 && !strncmp(a, "--coord-port", klen)) val = &o->coord_port;
    else if (klen == 11 && !strncmp(a, "--port-file", klen)) val = &o->port_file;
    else if (klen == 9 && !strncmp(a, "--ckptdir", klen)) val = &o->ckptdir;
    else return -1;   // anything else (aliases with values, --compress, --help...): Node's
    if (flag) {
      if (*flag) return -1;
      *flag = 1;
      continue;
    }
    if (*val) return -1;   // given twice: yargs makes an array of it
    if (eq) *val = eq + 1;
    else if (i + 1 < argc && argv[i + 1][0] != '-') *val = argv[++i];
    else return -1;
    if (!**val) return -1;
  }
  return o->checkpoint + o->bcheckpoint + o->kill + o->quit == 1 ? 0 : -1;
}

/** What String.prototype.trim removes (the ASCII part of it). */
static int blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static char *trim(char *s) {
  while (blank(*s)) s++;
  size_t n = strlen(s);
  while (n && blank(s[n - 1])) s[--n] = 0;
  return s;
}

/** The first of these variables set to something other than blanks, trimmed (envValue). */
static const char *env_value(const char *const *names, char *buf, size_t cap) {
  for (; *names; names++) {
    const char *v = getenv(*names);
    if (!v || strlen(v) >= cap) continue;
    strcpy(buf, v);
    const char *t = trim(buf);
    if (*t) return memmove(buf, t, strlen(t) + 1);
  }
  return NULL;
}

/** A port as parsePort accepts it (digits, at most 65535, surrounding blanks); -1 if not. */
static int port_of(const char *s) {
  while (blank(*s)) s++;
  long v = 0;
  int digits = 0;
  for (; *s >= '0' && *s <= '9'; s++, digits++)
    if ((v = v * 10 + (*s - '0')) > 65535) return -1;
  while (blank(*s)) s++;
  return digits && !*s ? (int)v : -1;
}

/** The whole (small) file, or NULL. */
static char *slurp(const char *path, size_t max) {
  FILE *f = fopen(path, "re");
  if (!f) return NULL;
  char *buf = malloc(max + 1);
  size_t n = buf ? fread(buf, 1, max, f) : 0;
  fclose(f);
  if (!buf) return NULL;
  buf[n] = 0;
  return buf;
}

/** The job secret as findSecret (common/secret.ts) finds it, or NULL. */
static char *find_secret(const char *ckptdir) {
  static const char *const secret_env[] = {"CAIRN_SECRET", NULL}, *const file_env[] = {"CAIRN_SECRET_FILE", NULL};
  static char buf[4096];
  if (env_value(secret_env, buf, sizeof buf)) return buf;
  char path[PATH_MAX];
  if (!env_value(file_env, path, sizeof path)) snprintf(path, sizeof path, "%s/.cairn-secret", ckptdir);
  struct stat st;
  if (stat(path, &st) < 0 || (st.st_mode & 077)) return NULL;
  char *raw = slurp(path, sizeof buf - 1);
  if (!raw) return NULL;
  char *s = trim(raw);
  size_t n = strlen(s);
  int good = n >= 16 && strspn(s, "0123456789abcdef") == n;
  if (good) memcpy(buf, s, n + 1);
  free(raw);
  return good ? buf : NULL;
}

// ---- protobuf: the few messages of protos/cairn.proto this front reads ----

struct member_write {
  char *host;
  uint64_t bytes, write_us, precopied;
};

struct checkpoint_reply {
  int ok;
  char *error, *gen_dir;
  uint32_t generation;
  uint64_t bytes, duration_us, pause_us;
  struct member_write *writes;   // one per member: a job may span many hosts
  int nwrites;
  char **notes;
  int nnotes;
};

static void *grow_array(void *a, int n, size_t size) {
  if (n && (n < 4 || (n & (n - 1)))) return a;   // room for 4, then doubled when full
  void *b = realloc(a, (n ? (size_t)n * 2 : 4) * size);
  if (!b) exit(1);
  return b;
}

struct pb {
  const uint8_t *p, *end;
};

static int pb_varint(struct pb *b, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64 && b->p < b->end; shift += 7) {
    uint8_t c = *b->p++;
    *v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) return 0;
  }
  return -1;
}

/** The next field: its number, wire type, and its varint or its bytes. */
static int pb_next(struct pb *b, uint32_t *field, int *wire, uint64_t *v, struct pb *sub) {
  uint64_t key;
  if (pb_varint(b, &key) < 0) return -1;
  *field = (uint32_t)(key >> 3);
  *wire = (int)(key & 7);
  switch (*wire) {
    case 0:
      return pb_varint(b, v);
    case 1:
    case 5: {
      size_t n = *wire == 1 ? 8 : 4;
      if ((size_t)(b->end - b->p) < n) return -1;
      b->p += n;
      return 0;
    }
    case 2:
      if (pb_varint(b, v) < 0 || *v > (uint64_t)(b->end - b->p)) return -1;
      sub->p = b->p;
      sub->end = b->p + *v;
      b->p += *v;
      return 0;
    default:
      return -1;
  }
}

static char *pb_string(const struct pb *s) {
  size_t n = (size_t)(s->end - s->p);
  char *c = malloc(n + 1);
  if (!c) exit(1);
  memcpy(c, s->p, n);
  c[n] = 0;
  return c;
}

static void free_checkpoint_reply(struct checkpoint_reply *r) {
  free(r->error);
  free(r->gen_dir);
  for (int i = 0; i < r->nwrites; i++) free(r->writes[i].host);
  for (int i = 0; i < r->nnotes; i++) free(r->notes[i]);
  free(r->writes);
  free(r->notes);
}

static int decode_checkpoint_reply(const uint8_t *p, size_t n, struct checkpoint_reply *r) {
  memset(r, 0, sizeof *r);
  r->error = pb_string(&(struct pb){p, p});
  r->gen_dir = pb_string(&(struct pb){p, p});
  struct pb b = {p, p + n}, sub;
  while (b.p < b.end) {
    uint32_t f;
    int w;
    uint64_t v = 0;
    if (pb_next(&b, &f, &w, &v, &sub) < 0) return -1;
    if (w == 0) {
      if (f == 1) r->ok = v != 0;
      else if (f == 3) r->generation = (uint32_t)v;
      else if (f == 5) r->bytes = v;
      else if (f == 6) r->duration_us = v;
      else if (f == 7) r->pause_us = v;
    } else if (w == 2) {
      if (f == 2) free(r->error), r->error = pb_string(&sub);
      else if (f == 4) free(r->gen_dir), r->gen_dir = pb_string(&sub);
      else if (f == 20) {
        r->notes = grow_array(r->notes, r->nnotes, sizeof *r->notes);
        r->notes[r->nnotes++] = pb_string(&sub);
      } else if (f == 8) {
        r->writes = grow_array(r->writes, r->nwrites, sizeof *r->writes);
        struct member_write *m = &r->writes[r->nwrites++];
        m->host = pb_string(&(struct pb){p, p});
        struct pb mb = sub, s2;
        while (mb.p < mb.end) {
          if (pb_next(&mb, &f, &w, &v, &s2) < 0) return -1;
          if (w == 2 && f == 1) free(m->host), m->host = pb_string(&s2);
          else if (w == 0 && f == 2) m->bytes = v;
          else if (w == 0 && f == 3) m->write_us = v;
          else if (w == 0 && f == 4) m->precopied = v;
        }
      }
    }
  }
  return 0;
}

/** StatusReply's progress: checkpoint_in_progress (8), progress_done (13), progress_total (14). */
static int decode_progress(const uint8_t *p, size_t n, int *busy, uint64_t *done, uint64_t *total) {
  struct pb b = {p, p + n}, sub;
  *busy = 0, *done = *total = 0;
  while (b.p < b.end) {
    uint32_t f;
    int w;
    uint64_t v = 0;
    if (pb_next(&b, &f, &w, &v, &sub) < 0) return -1;
    if (w != 0) continue;
    if (f == 8) *busy = v != 0;
    else if (f == 13) *done = v;
    else if (f == 14) *total = v;
  }
  return 0;
}

// ---- the Node CLI's formats ----

/** Number.prototype.toFixed for x >= 0: the nearest of n / 10^digits, ties up. x * 10^digits
    is exact in a long double's 64-bit mantissa for the digits used here (at most 3). */
static void js_fixed(char *out, size_t cap, double x, int digits) {
  long double scaled = (long double)x;
  unsigned long long pow10 = 1;
  for (int i = 0; i < digits; i++) scaled *= 10, pow10 *= 10;
  unsigned long long n = (unsigned long long)floorl(scaled + 0.5L);
  if (digits) snprintf(out, cap, "%llu.%0*llu", n / pow10, digits, n % pow10);
  else snprintf(out, cap, "%llu", n);
}

/** formatBytes (cli/output.ts). */
static void format_bytes(char *out, size_t cap, double n) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (n >= 1024 && i < 4) n /= 1024, i++;
  char num[48];
  js_fixed(num, sizeof num, n, i ? 1 : 0);
  snprintf(out, cap, "%s %s", num, units[i]);
}

/** JSON.stringify of a string. */
static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
      case '"': fputs("\\\"", f); break;
      case '\\': fputs("\\\\", f); break;
      case '\b': fputs("\\b", f); break;
      case '\f': fputs("\\f", f); break;
      case '\n': fputs("\\n", f); break;
      case '\r': fputs("\\r", f); break;
      case '\t': fputs("\\t", f); break;
      default:
        if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
  }
  fputc('"', f);
}

/** The reply as the Node CLI prints it with --json: proto-loader's object (defaults on,
    64-bit numbers as strings; repeated fields first, as protobufjs builds it). */
static void print_json(const struct checkpoint_reply *r) {
  FILE *f = stdout;
  fputs("{\"writes\":[", f);
  for (int i = 0; i < r->nwrites; i++) {
    const struct member_write *m = &r->writes[i];
    fputs(i ? ",{\"host\":" : "{\"host\":", f);
    json_string(f, m->host);
    fprintf(f, ",\"bytes\":\"%llu\",\"writeUs\":\"%llu\",\"precopied\":\"%llu\"}", (unsigned long long)m->bytes,
            (unsigned long long)m->write_us, (unsigned long long)m->precopied);
  }
  fputs("],\"notes\":[", f);
  for (int i = 0; i < r->nnotes; i++) {
    if (i) fputc(',', f);
    json_string(f, r->notes[i]);
  }
  fprintf(f, "],\"ok\":%s,\"error\":", r->ok ? "true" : "false");
  json_string(f, r->error);
  fprintf(f, ",\"generation\":%u,\"genDir\":", r->generation);
  json_string(f, r->gen_dir);
  fprintf(f, ",\"bytes\":\"%llu\",\"durationUs\":\"%llu\",\"pauseUs\":\"%llu\"}\n", (unsigned long long)r->bytes,
          (unsigned long long)r->duration_us, (unsigned long long)r->pause_us);
}

/** describeCheckpoint (cli/commands/command.ts). */
static void print_text(const struct checkpoint_reply *r, int blocking) {
  if (!blocking) {
    printf("checkpoint requested: generation %u\n", r->generation);
    return;
  }
  char secs[64], pause[64], bytes[64];
  js_fixed(secs, sizeof secs, (double)r->duration_us / 1e6, 3);
  js_fixed(pause, sizeof pause, (double)r->pause_us / 1e3, 0);
  format_bytes(bytes, sizeof bytes, (double)r->bytes);
  printf("checkpoint generation %u written to %s in %s s (%s, job paused %s ms)\n", r->generation, r->gen_dir, secs, bytes, pause);
}

/** An error as cli/output.ts prints a UserError: `cairn: ...`, then `hint: ...`; status 1. */
static int user_error(const char *hint, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int user_error(const char *hint, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("cairn: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  if (hint) fprintf(stderr, "hint: %s\n", hint);
  return 1;
}

/** describeGrpcError (common/control-client.ts). */
static int grpc_error(const struct grpc_call *call, const char *where) {
  switch (call->status) {
    case 14:
      return user_error("start one with cairn coordinator or cairn launch, or check --coord-host/--coord-port", "no coordinator answers at %s", where);
    case 16:
      return user_error("use the secret of that job: run from its checkpoint directory, pass --ckptdir, or set CAIRN_SECRET",
                        "the coordinator at %s refused the job secret", where);
    case 4:
      return user_error("see cairn command --status", "the coordinator at %s did not answer in time", where);
    default:
      return user_error(NULL, "coordinator %s: %s", where, call->message[0] ? call->message : "the call failed");
  }
}

// ---- progress lines (ProgressBar of cli/progress.ts, off a terminal) ----

struct progress {
  double start, last;
  struct {
    double t;
    double done;
  } samples[64];
  int n;
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void progress_update(struct progress *pg, double done, double total) {
  double now = now_ms();
  if (total <= 0) return;
  if (pg->n == 64) memmove(&pg->samples[0], &pg->samples[1], --pg->n * sizeof pg->samples[0]);
  pg->samples[pg->n].t = now, pg->samples[pg->n].done = done, pg->n++;
  while (pg->n > 2 && now - pg->samples[0].t > 3000) memmove(&pg->samples[0], &pg->samples[1], --pg->n * sizeof pg->samples[0]);
  if (now - (pg->last ? pg->last : pg->start) < LINE_EVERY_MS) return;
  pg->last = now;
  double frac = done / total < 1 ? done / total : 1;
  double dt = (now - pg->samples[0].t) / 1000;
  double rate = dt > 0.2 ? (done - pg->samples[0].done) / dt : done / fmax(0.001, (now - pg->start) / 1000);
  double eta = rate > 0 ? fmax(0, (total - done) / rate) : NAN;
  char pct[32], d[64], t[64], mbs[64], eta_text[96] = "";
  js_fixed(pct, sizeof pct, frac * 100, 0);
  format_bytes(d, sizeof d, done);
  format_bytes(t, sizeof t, total);
  js_fixed(mbs, sizeof mbs, rate > 0 ? rate / 1e6 : 0, 0);
  if (isfinite(eta)) {
    if (eta < 60) snprintf(eta_text, sizeof eta_text, ", ETA %.0f s", ceil(eta));
    else snprintf(eta_text, sizeof eta_text, ", ETA %.0f min %.0f s", floor(eta / 60), ceil(fmod(eta, 60)));
  }
  fprintf(stderr, "cairn: checkpoint %s%% %s of %s, %s MB/s%s\n", pct, d, t, mbs, eta_text);
}

/** The coordinator the Node CLI would call (coordTarget), connected: 0, or -1 to leave the
 * command to Node, which says what is wrong. */
static int connect_coord(const struct opts *o, struct grpc_conn *c, char *where, size_t where_cap, const char **secret) {
  static const char *const host_env[] = {"CAIRN_COORD_HOST", "DMTCP_COORD_HOST", "DMTCP_HOST", NULL};
  static const char *const port_env[] = {"CAIRN_COORD_PORT", "DMTCP_COORD_PORT", "DMTCP_PORT", NULL};
  static const char *const dir_env[] = {"CAIRN_CHECKPOINT_DIR", "DMTCP_CHECKPOINT_DIR", NULL};
  static char hbuf[1024];
  char pbuf[64], dbuf[PATH_MAX];
  const char *host = o->coord_host ? o->coord_host : env_value(host_env, hbuf, sizeof hbuf);
  if (!host) host = "localhost";
  int port;
  if (o->port_file) {
    char *text = slurp(o->port_file, 64);
    port = text ? port_of(text) : -1;
    free(text);
  } else if (o->coord_port) {
    port = port_of(o->coord_port);
  } else {
    const char *env = env_value(port_env, pbuf, sizeof pbuf);
    port = env ? port_of(env) : DEFAULT_PORT;
  }
  const char *dir = o->ckptdir ? o->ckptdir : env_value(dir_env, dbuf, sizeof dbuf);
  if (!dir) dir = ".";
  *secret = port >= 0 ? find_secret(dir) : NULL;
  if (!*secret || grpc_connect(c, host, port) < 0) return -1;
  snprintf(where, where_cap, "%s:%d", host, port);
  return 0;
}

// ---- cairn command --kill | --quit: one call with an empty request ----

static int kill_or_quit(const struct opts *o) {
  struct grpc_conn c;
  const char *secret;
  char where[1100];
  if (connect_coord(o, &c, where, sizeof where, &secret) < 0) return -1;
  struct grpc_call call;
  if (grpc_start(&c, &call, where, o->kill ? "/cairn.v1.Control/Kill" : "/cairn.v1.Control/Quit", SECRET_KEY, secret, NULL, 0,
                 CONTROL_TIMEOUT_MS) < 0)
    call.done = 1, call.status = 14;
  double deadline = now_ms() + CONTROL_TIMEOUT_MS;
  while (!call.done) {
    double now = now_ms();
    if (now >= deadline) {
      call.done = 1, call.status = 4;
      break;
    }
    struct grpc_call *calls[1] = {&call};
    grpc_pump(&c, calls, 1, (int)(deadline - now) + 1);
  }
  // KillReply{members = 1}; QuitReply is empty
  uint64_t members = 0;
  size_t n;
  const uint8_t *m = call.status == 0 ? grpc_reply(&call, &n) : NULL;
  if (call.status == 0 && !m) call.status = 13, snprintf(call.message, sizeof call.message, "a reply cairn cannot read");
  for (struct pb b = {m, m ? m + n : NULL}; call.status == 0 && b.p < b.end;) {
    uint32_t field;
    int wire;
    uint64_t v;
    struct pb sub;
    if (pb_next(&b, &field, &wire, &v, &sub) < 0) {
      call.status = 13, snprintf(call.message, sizeof call.message, "a reply cairn cannot read");
      break;
    }
    if (field == 1 && wire == 0) members = v;
  }
  grpc_call_free(&call);
  grpc_close(&c);
  if (call.status != 0) return grpc_error(&call, where);
  if (o->kill) printf(o->json ? "{\"members\":%llu}\n" : "kill sent to %llu member(s)\n", (unsigned long long)members);
  else puts(o->json ? "{\"ok\":true}" : "coordinator is quitting");
  return 0;
}

// ---- cairn command --checkpoint | --bcheckpoint ----

static int checkpoint(const struct opts *o) {
  struct grpc_conn c;
  const char *secret;
  char where[1100];
  if (connect_coord(o, &c, where, sizeof where, &secret) < 0) return -1;   // Node says what is wrong

  int blocking = o->bcheckpoint;
  uint8_t req[2] = {0x08, 0x01};   // CheckpointRequest{wait: true}; compress "" (each agent's own)
  struct grpc_call call, status;
  if (grpc_start(&c, &call, where, "/cairn.v1.Control/Checkpoint", SECRET_KEY, secret, req, blocking ? 2 : 0,
                 blocking ? 0 : CHECKPOINT_TIMEOUT_MS) < 0)
    call.done = 1, call.status = 14;
  // A blocking checkpoint off a terminal polls the status for progress lines, as Node does.
  int show_progress = blocking && !o->json;
  struct progress pg = {.start = now_ms()};
  double deadline = blocking ? 0 : now_ms() + CHECKPOINT_TIMEOUT_MS, next_poll = now_ms() + STATUS_EVERY_MS;
  int polling = 0;
  while (!call.done) {
    double now = now_ms();
    if (deadline && now >= deadline) {
      call.done = 1, call.status = 4;
      break;
    }
    if (show_progress && !polling && now >= next_poll) {
      grpc_start(&c, &status, where, "/cairn.v1.Control/Status", SECRET_KEY, secret, NULL, 0, 5000);
      polling = 1;
    }
    double until = deadline ? deadline : 1e300;
    if (show_progress && !polling && next_poll < until) until = next_poll;
    int wait = until > 1e299 ? -1 : (int)(until - now) + 1;
    struct grpc_call *calls[2] = {&call, polling ? &status : NULL};
    grpc_pump(&c, calls, 2, wait);
    if (polling && status.done) {
      size_t n;
      const uint8_t *m = status.status == 0 ? grpc_reply(&status, &n) : NULL;
      int busy;
      uint64_t done, total;
      if (m && decode_progress(m, n, &busy, &done, &total) == 0 && busy) progress_update(&pg, (double)done, (double)total);
      grpc_call_free(&status);
      polling = 0;
      next_poll = now_ms() + STATUS_EVERY_MS;
    }
  }
  size_t n;
  const uint8_t *m = call.status == 0 ? grpc_reply(&call, &n) : NULL;
  struct checkpoint_reply r = {0};
  if (call.status == 0 && (!m || decode_checkpoint_reply(m, n, &r) < 0)) call.status = 13, snprintf(call.message, sizeof call.message, "a reply cairn cannot read");
  grpc_call_free(&call);
  if (polling) grpc_call_free(&status);
  grpc_close(&c);
  int rc;
  if (call.status != 0) {
    rc = grpc_error(&call, where);
  } else if (!r.ok) {
    rc = user_error("the previous checkpoint is still the latest; see cairn command --status", "checkpoint failed: %s", r.error);
  } else {
    if (o->json) print_json(&r);
    else print_text(&r, blocking);
    if (!o->json)
      for (int i = 0; i < r.nnotes; i++) fprintf(stderr, "cairn: note: %s\n", r.notes[i]);
    rc = 0;
  }
  free_checkpoint_reply(&r);
  return rc;
}

int main(int argc, char **argv) {
  g_argv = argv;
  struct opts o;
  // A blocking checkpoint on a terminal draws Node's progress bar.
  if (argc >= 2 && !strcmp(argv[1], "command") && parse(argc, argv, &o) == 0 && !(o.bcheckpoint && !o.json && isatty(2))) {
    int rc = o.kill || o.quit ? kill_or_quit(&o) : checkpoint(&o);
    if (rc >= 0) {
      fflush(stdout);
      return rc;
    }
  }
  exec_node();
}
