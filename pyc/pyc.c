/* Deterministic, parallel bytecode compilation: see pyc.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/str.h"
#include "pyc/pyc.h"
#include "runtime/sandbox.h"

extern char **environ;

/* The worker: argv[1] the mode ('c' checked-hash, 'u' unchecked-hash, 't'
 * timestamp), argv[2] the levels ("0,1").  It says "H\t<cache tag>" (or
 * "E\t<why>") once, then for each path read, one line: "0\t<pyc>\t<pyc>"
 * or "1\t<why>".  The .pyc is built and written as py_compile does it.
 * The cwd leaves sys.path first, so no file there can stand in for the
 * modules it imports; warnings (SyntaxWarning for a bad escape) are not
 * printed, and cannot be turned into errors by PYTHONWARNINGS. */
static const char pyc_worker[] =
	"import sys\n"
	"if sys.path and sys.path[0] == '':\n"
	"    del sys.path[0]\n"
	"import os, warnings\n"
	"from importlib import util as U, _bootstrap_external as E\n"
	"def main():\n"
	"    warnings.simplefilter('ignore')\n"
	"    mode = sys.argv[1]\n"
	"    opts = [int(o) for o in sys.argv[2].split(',')]\n"
	"    out = sys.stdout.buffer\n"
	"    tag = sys.implementation.cache_tag\n"
	"    if tag is None or not hasattr(E, '_code_to_hash_pyc'):\n"
	"        out.write(b'E\\tit cannot write PEP 552 pycs (Python 3.7 or later is needed)\\n')\n"
	"        return 1\n"
	"    out.write(b'H\\t' + tag.encode() + b'\\n')\n"
	"    out.flush()\n"
	"    os.umask(0o22)\n"
	"    rd = sys.stdin.buffer.readline\n"
	"    while True:\n"
	"        line = rd()\n"
	"        if not line:\n"
	"            return 0\n"
	"        p = os.fsdecode(line[:-1])\n"
	"        try:\n"
	"            with open(p, 'rb') as f:\n"
	"                src = f.read()\n"
	"            st = os.stat(p)\n"
	"            done = []\n"
	"            for o in opts:\n"
	"                c = compile(src, p, 'exec', dont_inherit=True, optimize=o)\n"
	"                cf = U.cache_from_source(p, optimization='' if o == 0 else o)\n"
	"                if mode == 't':\n"
	"                    b = E._code_to_timestamp_pyc(c, st.st_mtime, st.st_size)\n"
	"                else:\n"
	"                    b = E._code_to_hash_pyc(c, U.source_hash(src), mode == 'c')\n"
	"                d = os.path.dirname(cf)\n"
	"                if d:\n"
	"                    os.makedirs(d, exist_ok=True)\n"
	"                E._write_atomic(cf, b, E._calc_mode(p))\n"
	"                done.append(os.fsencode(cf))\n"
	"            out.write(b'0\\t' + b'\\t'.join(done) + b'\\n')\n"
	"        except Exception as e:\n"
	"            if isinstance(e, SyntaxError) and e.lineno:\n"
	"                m = '%s: %s (line %d)' % (type(e).__name__, e.msg, e.lineno)\n"
	"            else:\n"
	"                m = '%s: %s' % (type(e).__name__, e)\n"
	"            out.write(b'1\\t' + ' '.join(m.split()).encode('utf-8', 'replace') + b'\\n')\n"
	"        out.flush()\n"
	"sys.exit(main())\n";

#define PYC_DEPTH 2	/* paths in flight per worker */

static const char *const pyc_mode_names[] = {
	[PYC_CHECKED_HASH] = "checked-hash",
	[PYC_UNCHECKED_HASH] = "unchecked-hash",
	[PYC_TIMESTAMP] = "timestamp",
	[PYC_NONE] = "none",
};

int pyc_mode_parse(struct pkgimg_ctx *ctx, const char *s, enum pyc_mode *out)
{
	for (size_t i = 0; i < sizeof pyc_mode_names / sizeof pyc_mode_names[0]; i++)
		if (!strcmp(s, pyc_mode_names[i])) {
			*out = (enum pyc_mode)i;
			return 0;
		}
	return pkgimg_err(ctx, -PKGIMG_E_USAGE, "--pyc %s: give checked-hash (the default), "
			  "unchecked-hash, timestamp or none", s);
}

const char *pyc_mode_name(enum pyc_mode m)
{
	return pyc_mode_names[m];
}

int pyc_levels_parse(struct pkgimg_ctx *ctx, const char *s, unsigned *out)
{
	unsigned set = 0;
	const char *p = s;

	for (;;) {
		if (*p < '0' || *p > '2' || (p[1] && p[1] != ','))
			return pkgimg_err(ctx, -PKGIMG_E_USAGE, "--pyc-opt %s: give optimisation "
					  "levels from 0, 1 and 2, separated by commas (e.g. 0,1)", s);
		set |= 1u << (*p - '0');
		if (!p[1])
			break;
		p += 2;
	}
	*out = set;
	return 0;
}

static unsigned pyc_levels(const struct pyc_opts *o)
{
	return o->levels & 7u ? o->levels & 7u : 1u;
}

static void pyc_levels_text(unsigned set, char *buf)
{
	char *w = buf;

	for (int i = 0; i < 3; i++)
		if (set & (1u << i)) {
			if (w != buf)
				*w++ = ',';
			*w++ = (char)('0' + i);
		}
	*w = 0;
}

char *pyc_step_suffix(const struct pyc_opts *o)
{
	char lv[8];

	if (o->mode == PYC_CHECKED_HASH && pyc_levels(o) == 1u)
		return xstrdup("");
	if (o->mode == PYC_NONE)
		return xstrdup(" [pyc none]");
	pyc_levels_text(pyc_levels(o), lv);
	return xasprintf(" [pyc %s opt %s]", pyc_mode_names[o->mode], lv);
}

void pyc_result_free(struct pyc_result *res)
{
	for (size_t i = 0; i < res->n; i++) {
		free(res->items[i].src);
		for (int k = 0; k < res->items[i].npycs; k++)
			free(res->items[i].pycs[k]);
		free(res->items[i].error);
	}
	free(res->items);
	free(res->cache_tag);
	memset(res, 0, sizeof *res);
}

/* ---- finding the interpreter, walking a tree ---- */

int pyc_find_python(struct pkgimg_ctx *ctx, const char *name, char **out)
{
	const char *path = getenv("PATH");
	struct stat st;

	if (strchr(name, '/')) {
		if (stat(name, &st) < 0 || !S_ISREG(st.st_mode) || access(name, X_OK) < 0)
			return pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [pyc] not an executable "
					  "interpreter%s%s", name, errno ? ": " : "",
					  errno ? strerror(errno) : "");
		*out = xstrdup(name);
		return 0;
	}
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	*out = fs_which(name, path, NULL);
	if (*out)
		return 0;
	return pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [pyc] no such interpreter on PATH (%s); "
			  "install it or name one with --python PATH", name, path);
}

static int pyc_walk(struct pkgimg_ctx *ctx, const char *dir, struct strv *out)
{
	struct strv names = { 0 };
	struct dirent *de;
	DIR *d = opendir(dir);
	int r = 0;

	if (!d)
		return pkgimg_err(ctx, -errno, "%s: [pyc] cannot list: %m", dir);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strv_add(&names, de->d_name);
	closedir(d);
	qsort(names.v, names.n, sizeof *names.v, str_cmp_ptr);
	for (size_t i = 0; r == 0 && i < names.n; i++) {
		const char *nm = names.v[i];
		size_t len = strlen(nm);
		char *full;
		struct stat st, lst;

		if (!strcmp(nm, "__pycache__"))
			continue;
		full = !strcmp(dir, "/") ? xasprintf("/%s", nm) : xasprintf("%s/%s", dir, nm);
		if (lstat(full, &lst) == 0 && S_ISDIR(lst.st_mode))
			r = pyc_walk(ctx, full, out);
		else if (len > 3 && !strcmp(nm + len - 3, ".py") && stat(full, &st) == 0 &&
			 S_ISREG(st.st_mode))
			strv_push(out, full), full = NULL;
		free(full);
	}
	strv_free(&names);
	return r;
}

int pyc_collect(struct pkgimg_ctx *ctx, const char *path, struct strv *out)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return pkgimg_err(ctx, -errno, "%s: [pyc] %m", path);
	if (S_ISDIR(st.st_mode))
		return pyc_walk(ctx, path, out);
	strv_add(out, path);
	return 0;
}

/* ---- the workers ---- */

struct pyc_worker {
	pid_t pid;
	int in, out;		/* our ends: its stdin, its stdout */
	struct sbuf buf;	/* what it said, not yet a whole line */
	size_t q[PYC_DEPTH];	/* the items it is compiling, oldest first */
	int nq;
	bool ready;		/* it said hello */
	bool gone;
};

struct pyc_run {
	struct pkgimg_ctx *ctx;
	const struct pyc_opts *o;
	struct pyc_result *res;
	struct pyc_worker *w;
	int nw;
	int errfd;		/* the workers' stderr */
	size_t todo;		/* items not answered yet */
};

/* The last lines the workers wrote on stderr, for a message. */
static void pyc_stderr_tail(struct pyc_run *run, struct sbuf *out)
{
	struct sbuf all = SBUF_INIT;
	char buf[4096];
	ssize_t n;
	off_t off = 0;

	if (run->errfd < 0)
		return;
	while ((n = pread(run->errfd, buf, sizeof buf, off)) > 0) {
		sbuf_add(&all, buf, (size_t)n);
		off += n;
	}
	if (all.len) {
		size_t from = all.len > 600 ? all.len - 600 : 0;

		while (all.len && (all.buf[all.len - 1] == '\n'))
			all.len--;
		sbuf_adds(out, ": ");
		for (size_t i = from; i < all.len; i++)
			sbuf_addc(out, all.buf[i] == '\n' ? ' ' : all.buf[i]);
	}
	sbuf_free(&all);
}

static int pyc_spawn(struct pyc_run *run, struct pyc_worker *w, char *const *env)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	char mode[2] = { "cut"[run->o->mode], 0 }, lv[8];
	char *argv[] = { (char *)run->o->python, "-S", "-s", "-B", "-c", (char *)pyc_worker,
			 mode, lv, NULL };
	pid_t pid;

	pyc_levels_text(pyc_levels(run->o), lv);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		int e = errno;

		for (int i = 0; i < 2; i++) {
			if (in[i] >= 0)
				close(in[i]);
			if (out[i] >= 0)
				close(out[i]);
		}
		errno = e;
		return pkgimg_err(run->ctx, -errno, "%s: [pyc] pipe: %m", run->o->python);
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(in[0]), close(in[1]), close(out[0]), close(out[1]);
		errno = e;
		return pkgimg_err(run->ctx, -errno, "%s: [pyc] fork: %m", run->o->python);
	}
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (run->errfd >= 0)
			dup2(run->errfd, 2);
		execve(run->o->python, argv, env);
		dprintf(1, "E\tcannot execute it: %s%s\n", strerror(errno), errno == ENOENT
			? " (it, the file it links to, or its loader is missing)" : "");
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	w->pid = pid;
	w->in = in[1];
	w->out = out[0];
	return 0;
}

static void pyc_fail_item(struct pyc_run *run, size_t i, char *why)
{
	struct pyc_item *it = &run->res->items[i];

	free(it->error);
	it->error = why;
	run->res->nfailed++;
	run->todo--;
}

/* One line from worker w. */
static int pyc_line(struct pyc_run *run, struct pyc_worker *w, char *line)
{
	struct pyc_item *it;
	char *tab;
	size_t i;

	if (!w->ready) {
		if (line[0] == 'H' && line[1] == '\t') {
			w->ready = true;
			if (!run->res->cache_tag)
				run->res->cache_tag = xstrdup(line + 2);
			return 0;
		}
		return pkgimg_err(run->ctx, -PKGIMG_E_SCRIPT, "%s: [pyc] %s", run->o->python,
				  line[0] == 'E' && line[1] == '\t' ? line + 2 : line);
	}
	if (w->nq == 0 || (line[0] != '0' && line[0] != '1') || line[1] != '\t')
		return pkgimg_err(run->ctx, -PKGIMG_E_SCRIPT, "%s: [pyc] the worker said '%.200s' "
				  "out of turn", run->o->python, line);
	i = w->q[0];
	memmove(w->q, w->q + 1, (size_t)--w->nq * sizeof w->q[0]);
	it = &run->res->items[i];
	if (line[0] == '1') {
		pyc_fail_item(run, i, xstrdup(line + 2));
		return 0;
	}
	for (char *p = line + 2; *p && it->npycs < 3; p = tab + 1) {
		tab = strchrnul(p, '\t');
		it->pycs[it->npycs++] = xstrndup(p, (size_t)(tab - p));
		run->res->npycs++;
		if (!*tab)
			break;
	}
	run->res->ncompiled++;
	run->todo--;
	return 0;
}

/* Reads what w has to say; at its end, what it was compiling fails. */
static int pyc_read(struct pyc_run *run, struct pyc_worker *w)
{
	char buf[8192], *nl;
	ssize_t n = read(w->out, buf, sizeof buf);
	int r = 0, st;

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0
			: pkgimg_err(run->ctx, -errno, "%s: [pyc] read: %m", run->o->python);
	if (n > 0) {
		sbuf_add(&w->buf, buf, (size_t)n);
		while (r == 0 && (nl = memchr(w->buf.buf, '\n', w->buf.len))) {
			size_t len = (size_t)(nl - w->buf.buf);

			*nl = 0;
			r = pyc_line(run, w, w->buf.buf);
			memmove(w->buf.buf, nl + 1, w->buf.len - len - 1);
			w->buf.len -= len + 1;
		}
		return r;
	}
	/* the end: it exited or was killed */
	w->gone = true;
	close(w->out);
	w->out = -1;
	while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
		;
	w->pid = 0;
	if (!w->ready) {
		struct sbuf why = SBUF_INIT;

		if (w->buf.len)
			sbuf_addf(&why, ": %.*s", (int)w->buf.len, w->buf.buf);
		else
			pyc_stderr_tail(run, &why);
		r = pkgimg_err(run->ctx, -PKGIMG_E_SCRIPT, "%s: [pyc] the interpreter did not "
			       "start (%s %d)%s", run->o->python,
			       WIFSIGNALED(st) ? "signal" : "exit status",
			       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), why.buf ? why.buf : "");
		sbuf_free(&why);
		return r;
	}
	for (int k = 0; k < w->nq; k++)
		pyc_fail_item(run, w->q[k], xasprintf("the interpreter died compiling it (%s %d)",
						      WIFSIGNALED(st) ? "signal" : "exit status",
						      WIFSIGNALED(st) ? WTERMSIG(st)
						      : WEXITSTATUS(st)));
	w->nq = 0;
	return 0;
}

static int pyc_cmp_idx(const void *a, const void *b, void *arg)
{
	const struct pyc_item *items = arg;

	return strcmp(items[*(const size_t *)a].src, items[*(const size_t *)b].src);
}

static int pyc_jobs(const struct pyc_opts *o, size_t n)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	long j = o->jobs > 0 ? o->jobs : cores > 0 ? cores : 1;

	if ((size_t)j > n)
		j = (long)n;
	return j > 0 ? (int)j : 1;
}

static char **pyc_host_env(void)
{
	struct strv env = { 0 };

	for (char **e = environ; e && *e; e++)
		if (strncmp(*e, "PYTHONHASHSEED=", 15) && strncmp(*e, "PYTHONPATH=", 11) &&
		    strncmp(*e, "PYTHONSTARTUP=", 14) && strncmp(*e, "PYTHONINSPECT=", 14))
			strv_add(&env, *e);
	strv_add(&env, "PYTHONHASHSEED=0");
	strv_push(&env, NULL);
	return env.v;
}

/* Hands each ready worker the next files (up to PYC_DEPTH queued), closes
 * the stdin of workers with nothing more to do, and fills pfd with the
 * stdout of each live worker; returns how many, *alive the live count. */
static int pyc_feed(struct pyc_run *run, const size_t *order, size_t *next,
		    struct pollfd *pfd, int *alive)
{
	size_t n = run->res->n;
	int np = 0;

	*alive = 0;
	for (int k = 0; k < run->nw; k++) {
		struct pyc_worker *w = &run->w[k];

		if (w->gone)
			continue;
		(*alive)++;
		while (w->ready && w->nq < PYC_DEPTH && *next < n) {
			size_t i = order[(*next)++];
			const char *src = run->res->items[i].src;
			struct sbuf line = SBUF_INIT;

			if (strpbrk(src, "\n\t")) {
				pyc_fail_item(run, i, xstrdup("its name has a tab or a newline, "
							     "which cannot be handed to the interpreter"));
				continue;
			}
			sbuf_addf(&line, "%s\n", src);
			w->q[w->nq++] = i;
			/* a short line to a pipe with room: a failure means
			 * the worker is gone, which its stdout tells */
			if (write(w->in, line.buf, line.len) < 0)
				errno = 0;
			sbuf_free(&line);
		}
		if (*next >= n && w->in >= 0 && w->nq == 0) {
			close(w->in);	/* nothing more for it: it exits */
			w->in = -1;
		}
		pfd[np].fd = w->out;
		pfd[np].events = POLLIN;
		pfd[np].revents = 0;
		np++;
	}
	return np;
}

/* Every worker's pipes closed and the worker reaped (killed first when the
 * run failed). */
static void pyc_workers_end(struct pyc_run *run, int failed)
{
	for (int k = 0; k < run->nw; k++) {
		struct pyc_worker *w = &run->w[k];
		int st;

		if (w->in >= 0)
			close(w->in);
		if (w->pid > 0) {
			if (failed)
				kill(w->pid, SIGKILL);
			while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
				;
		}
		if (w->out >= 0)
			close(w->out);
		sbuf_free(&w->buf);
	}
}

int pyc_compile(struct pkgimg_ctx *ctx, const struct pyc_opts *o, char *const *env,
		const char *const *paths, size_t n, struct pyc_result *res)
{
	struct pyc_result out = { 0 };
	struct pyc_run run = { .ctx = ctx, .o = o, .res = &out, .errfd = -1 };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	struct pollfd *pfd = NULL;
	size_t *order = NULL, next = 0;
	char **own_env = NULL;
	int r = 0;

	out.n = n;
	out.items = xcalloc(n + 1, sizeof *out.items);
	for (size_t i = 0; i < n; i++)
		out.items[i].src = xstrdup(paths[i]);
	run.todo = n;
	if (n == 0 || o->mode == PYC_NONE)
		goto done;
	order = xcalloc(n, sizeof *order);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof *order, pyc_cmp_idx, out.items);
	if (!env)
		env = own_env = pyc_host_env();
	run.errfd = memfd_create("pkgimg-pyc-stderr", MFD_CLOEXEC);
	run.nw = pyc_jobs(o, n);
	run.w = xcalloc((size_t)run.nw, sizeof *run.w);
	pfd = xcalloc((size_t)run.nw, sizeof *pfd);
	sigaction(SIGPIPE, &ign, &old);	/* a worker that died is seen on its stdout */
	for (int k = 0; k < run.nw; k++) {
		run.w[k].in = run.w[k].out = -1;
		r = pyc_spawn(&run, &run.w[k], env);
		if (r < 0)
			goto out;
	}
	while (run.todo > 0) {
		int np, alive;

		np = pyc_feed(&run, order, &next, pfd, &alive);
		if (run.todo == 0)
			break;
		if (alive == 0) {
			struct sbuf why = SBUF_INIT;

			pyc_stderr_tail(&run, &why);
			r = pkgimg_err(ctx, -PKGIMG_E_SCRIPT, "%s: [pyc] every worker died with %zu "
				       "files left%s", o->python, run.todo, why.buf ? why.buf : "");
			sbuf_free(&why);
			goto out;
		}
		if (poll(pfd, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = pkgimg_err(ctx, -errno, "%s: [pyc] poll: %m", o->python);
			goto out;
		}
		np = 0;
		for (int k = 0; k < run.nw && r == 0; k++) {
			if (run.w[k].gone)
				continue;
			if (pfd[np++].revents & (POLLIN | POLLHUP | POLLERR))
				r = pyc_read(&run, &run.w[k]);
		}
		if (r < 0)
			goto out;
	}
out:
	pyc_workers_end(&run, r < 0);
	if (run.nw)
		sigaction(SIGPIPE, &old, NULL);
	if (run.errfd >= 0)
		close(run.errfd);
	free(run.w);
	free(pfd);
	free(order);
	if (own_env) {
		for (char **e = own_env; *e; e++)
			free(*e);
		free(own_env);
	}
done:
	if (r < 0) {
		pyc_result_free(&out);
		return r;
	}
	*res = out;
	return 0;
}

/* ---- inside an image ---- */

struct pyc_image_arg {
	const struct pyc_opts *o;
	const char *const *paths;
	size_t n;
	int fd;			/* the report: a memfd both sides see */
};

/* In the sandbox: compile, and write the result to a->fd as lines
 * "T\t<tag>", "C\t<i>\t<pyc>...", "F\t<i>\t<why>", or "X\t<code>\t<why>". */
static int pyc_image_fn(struct pkgimg_ctx *ctx, char *const *env, void *arg)
{
	struct pyc_image_arg *a = arg;
	struct pyc_result res;
	struct sbuf rep = SBUF_INIT;
	int r = pyc_compile(ctx, a->o, env, a->paths, a->n, &res);
	size_t off = 0;

	if (r < 0) {
		sbuf_addf(&rep, "X\t%d\t", r);
		for (const char *p = ctx->errmsg; *p; p++)
			sbuf_addc(&rep, *p == '\n' || *p == '\t' ? ' ' : *p);
		sbuf_addc(&rep, '\n');
	} else {
		sbuf_addf(&rep, "T\t%s\n", res.cache_tag ? res.cache_tag : "");
		for (size_t i = 0; i < res.n; i++) {
			const struct pyc_item *it = &res.items[i];

			if (it->error) {
				sbuf_addf(&rep, "F\t%zu\t%s\n", i, it->error);
			} else if (it->npycs) {
				sbuf_addf(&rep, "C\t%zu", i);
				for (int k = 0; k < it->npycs; k++)
					sbuf_addf(&rep, "\t%s", it->pycs[k]);
				sbuf_addc(&rep, '\n');
			}
		}
		pyc_result_free(&res);
	}
	while (off < rep.len) {
		ssize_t w = write(a->fd, rep.buf + off, rep.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	sbuf_free(&rep);
	return r < 0 || off < rep.len ? 1 : 0;
}

static int pyc_image_report(struct pkgimg_ctx *ctx, const struct pyc_opts *o, int fd,
			    struct pyc_result *out)
{
	struct sbuf rep = SBUF_INIT;
	char buf[65536];
	ssize_t n;
	off_t off = 0;
	int r = 0;

	while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
		sbuf_add(&rep, buf, (size_t)n);
		off += n;
	}
	sbuf_addc(&rep, 0);
	for (char *line = rep.buf, *nl; r == 0 && *line; line = nl + 1) {
		char *f1, *end;
		unsigned long long i;

		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = 0;
		f1 = strchr(line, '\t');
		if (!f1)
			continue;
		f1++;
		if (line[0] == 'X') {
			long code = strtol(f1, &end, 10);

			r = pkgimg_err(ctx, code < 0 ? (int)code : -PKGIMG_E_SCRIPT, "%s",
				       *end == '\t' ? end + 1 : f1);
			break;
		}
		if (line[0] == 'T') {
			out->cache_tag = xstrdup(f1);
			continue;
		}
		i = strtoull(f1, &end, 10);
		if (i >= out->n || *end != '\t')
			continue;
		if (line[0] == 'F') {
			out->items[i].error = xstrdup(end + 1);
			out->nfailed++;
		} else if (line[0] == 'C') {
			struct pyc_item *it = &out->items[i];

			for (char *p = end + 1, *tab; it->npycs < 3; p = tab + 1) {
				tab = strchrnul(p, '\t');
				it->pycs[it->npycs++] = xstrndup(p, (size_t)(tab - p));
				out->npycs++;
				if (!*tab)
					break;
			}
			out->ncompiled++;
		}
	}
	if (r == 0 && !out->cache_tag && o->mode != PYC_NONE && out->n)
		r = pkgimg_err(ctx, -PKGIMG_E_SCRIPT, "%s: [pyc] the compiler in the image stopped "
			       "without a report", o->python);
	sbuf_free(&rep);
	return r;
}

int pyc_compile_image(struct pkgimg_ctx *ctx, const struct pyc_opts *o,
		      const struct sandbox_opts *sb, const char *const *paths, size_t n,
		      struct pyc_result *res)
{
	struct strv env = { 0 };
	struct pyc_image_arg a = { .o = o, .paths = paths, .n = n, .fd = -1 };
	struct pyc_result out = { 0 };
	char *argv[] = { (char *)o->python, NULL };
	struct sandbox_opts so = *sb;
	int r, status = 0;

	out.n = n;
	out.items = xcalloc(n + 1, sizeof *out.items);
	for (size_t i = 0; i < n; i++)
		out.items[i].src = xstrdup(paths[i]);
	if (n == 0 || o->mode == PYC_NONE) {
		*res = out;
		return 0;
	}
	a.fd = memfd_create("pkgimg-pyc-report", MFD_CLOEXEC);
	if (a.fd < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [pyc] memfd_create: %m", o->python);
		goto out;
	}
	sandbox_default_env(&env, SANDBOX_ENV_BASE, NULL);
	strv_add(&env, "PYTHONHASHSEED=0");
	strv_add(&env, "PYTHONDONTWRITEBYTECODE=1");
	so.argv = argv;
	so.env = env.v;
	so.fn = pyc_image_fn;
	so.fn_arg = &a;
	r = sandbox_run(ctx, &so, &status);
	if (r < 0)
		goto out;
	r = pyc_image_report(ctx, o, a.fd, &out);
	if (r == 0 && status != 0 && out.ncompiled + out.nfailed < n)
		r = pkgimg_err(ctx, -PKGIMG_E_SCRIPT, "%s: [pyc] the compiler in the image "
			       "ended with status %d", o->python, status);
out:
	strv_free(&env);
	if (a.fd >= 0)
		close(a.fd);
	if (r < 0) {
		pyc_result_free(&out);
		return r;
	}
	*res = out;
	return 0;
}
