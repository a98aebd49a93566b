/* Turning a failed libsolv solve into words: every problem, with the whole
 * chain of rules that makes it, in the user's terms. */
#ifndef PKGIMG_SOLVER_EXPLAIN_H
#define PKGIMG_SOLVER_EXPLAIN_H

#include <solv/solver.h>

struct pkgimg_ctx;

/* Sets the message on ctx and returns -PKGIMG_E_SOLVE. */
int explain_problems(struct pkgimg_ctx *ctx, Solver *solv, const char *ecosystem);

#endif
