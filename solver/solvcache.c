/* See solvcache.h. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <solv/repo_solv.h>
#include <solv/repo_write.h>

#include "core/str.h"
#include "solver/solvcache.h"

bool solvcache_load(Repo *repo, const char *path)
{
	FILE *fp = fopen(path, "re");
	bool ok;

	if (!fp)
		return false;
	ok = repo_add_solv(repo, fp, 0) == 0;
	fclose(fp);
	if (!ok)
		repo_empty(repo, 1);	/* a damaged cache: rebuild it */
	return ok;
}

void solvcache_save(Repo *repo, const char *path)
{
	char *tmp = xasprintf("%s.%d.tmp", path, (int)getpid());
	FILE *fp = fopen(tmp, "we");

	if (fp) {
		bool ok = repo_write(repo, fp) == 0;

		if (fclose(fp) != 0)
			ok = false;
		if (ok)
			rename(tmp, path);
		else
			unlink(tmp);
	}
	free(tmp);
}
