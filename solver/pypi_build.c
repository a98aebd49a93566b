/* The small parts of solver/pypi_build.h the solver side owns: the
 * lockfile's spelling of a source kind, and freeing a build's result. */
#include <stdlib.h>
#include <string.h>

#include "core/lockfile.h"
#include "solver/pypi_build.h"

const char *pypi_src_kind_name(enum pypi_src_kind k)
{
	switch (k) {
	case PYPI_SRC_URL: return "url";
	case PYPI_SRC_PATH: return "path";
	case PYPI_SRC_GIT: return "git";
	case PYPI_SRC_SDIST: break;
	}
	return "sdist";
}

void pypi_built_free(struct pypi_built *b)
{
	free(b->name);
	free(b->version);
	free(b->metadata);
	free(b->src_sha256);
	free(b->src_filename);
	free(b->commit);
	free(b->wheel_filename);
	free(b->wheel_sha256);
	for (int i = 0; i < b->nenv; i++)
		lock_pkg_free(&b->env[i]);
	free(b->env);
	memset(b, 0, sizeof *b);
}
