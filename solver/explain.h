/* Turning a failed libsolv solve into words: every problem, with the whole
 * chain of rules that makes it, in the user's terms. */
#ifndef PKGIMG_SOLVER_EXPLAIN_H
#define PKGIMG_SOLVER_EXPLAIN_H

#include <solv/solver.h>

struct pkgimg_ctx;

/* Sets the message on ctx and returns -PKGIMG_E_SOLVE. */
int explain_problems(struct pkgimg_ctx *ctx, Solver *solv, const char *ecosystem);

/* Words for a job that is not the user's request (a package of a layer
 * below, say): writes them to buf and returns 1, or returns 0 for the
 * default "X was requested". */
typedef int explain_job_fn(void *data, Id how, Id what, char *buf, size_t size);

/* explain_problems, with the caller's words for some jobs. */
int explain_problems_as(struct pkgimg_ctx *ctx, Solver *solv, const char *ecosystem,
			explain_job_fn *job_words, void *data);

#endif
