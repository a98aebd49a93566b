#include <string.h>

#include <solv/pool.h>
#include <solv/problems.h>
#include <solv/solver.h>
#include <solv/solverdebug.h>

#include "core/ctx.h"
#include "core/str.h"
#include "solver/explain.h"

int explain_problems(struct pkgimg_ctx *ctx, Solver *solv, const char *ecosystem)
{
	return explain_problems_as(ctx, solv, ecosystem, NULL, NULL);
}

int explain_problems_as(struct pkgimg_ctx *ctx, Solver *solv, const char *ecosystem,
			explain_job_fn *job_words, void *data)
{
	int count = solver_problem_count(solv);
	struct sbuf msg = SBUF_INIT;
	Queue rules;

	queue_init(&rules);
	sbuf_addf(&msg, "[resolve] the %s request cannot be satisfied", ecosystem);
	for (Id problem = 1; problem <= count; problem++) {
		struct strv seen = { 0 };

		const char *head = solver_problem2str(solv, problem);

		sbuf_addf(&msg, "\n  %s", head);
		strv_add(&seen, head);
		solver_findallproblemrules(solv, problem, &rules);
		/* the user's own requests first, then the rules that chain them */
		for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < rules.count; i++) {
			Id source, target, dep, rid = rules.elements[i];
			SolverRuleinfo type = solver_ruleinfo(solv, rid, &source, &target, &dep);
			const char *line;
			char buf[1024];
			bool dup = false;

			if ((pass == 0) != (type == SOLVER_RULE_JOB))
				continue;
			if (type == SOLVER_RULE_JOB) {
				Id what = 0, how = solver_rule2job(solv, rid, &what);

				Pool *pool = solv->pool;

				if (job_words && job_words(data, how, what, buf, sizeof buf))
					;	/* the caller's words for a job that is no request */
				else if ((how & SOLVER_SELECTMASK) == SOLVER_SOLVABLE_PROVIDES &&
				    ISRELDEP(what) && GETRELDEP(pool, what)->flags == REL_NAMESPACE)
					/* a spec answered by a namespace callback (conda) */
					snprintf(buf, sizeof buf, "%s was requested",
						 pool_id2str(pool, GETRELDEP(pool, what)->evr));
				else
					snprintf(buf, sizeof buf, "%s was requested",
						 solver_select2str(pool, how & SOLVER_SELECTMASK, what));
				line = buf;
			} else {
				line = solver_problemruleinfo2str(solv, type, source, target, dep);
			}

			for (size_t k = 0; k < seen.n; k++)
				if (!strcmp(seen.v[k], line))
					dup = true;
			if (dup)
				continue;
			strv_add(&seen, line);
			sbuf_addf(&msg, "\n    %s %s", pass == 0 ? "-" : "because", line);
		}
		strv_free(&seen);
	}
	if (count)
		sbuf_adds(&msg, "\n  (drop or change one of the requests above, or pin other versions)");
	pkgimg_err(ctx, -PKGIMG_E_SOLVE, "%s", msg.buf);
	sbuf_free(&msg);
	queue_free(&rules);
	return -PKGIMG_E_SOLVE;
}
