/* image/pybuild.c's own: the Python that runs inside the build sandbox.
 *
 * PYBUILD_FRONTEND is a PEP 517 frontend of pkgimg's own (the shape of
 * pyproject_hooks' _in_process: one hook per run, the backend imported
 * from the project's directory, the result as JSON in the output
 * directory).  Run as
 *     python3 frontend.py HOOK
 * with PKGIMG_BACKEND ("module:object"), PKGIMG_BACKEND_PATH (the
 * pyproject's backend-path, ':'-separated, relative to the project) and
 * PKGIMG_OUT (the output directory) in the environment; it writes
 * PKGIMG_OUT/HOOK.json: {"return": …} or {"unsupported": true} (the
 * backend lacks an optional hook) or {"error": "…", "traceback": "…"}.
 * Hooks: get_requires_for_build_wheel, prepare_metadata_for_build_wheel
 * (into PKGIMG_OUT/metadata), build_wheel (into PKGIMG_OUT/wheel).
 *
 * PYBUILD_SITECUSTOMIZE is the isolation, as pip's build environment does
 * it (pip/_internal/build_env.py): first on PYTHONPATH, it removes from
 * sys.path the interpreter's site directories and what their .pth files
 * added, then adds the build environment's site directory
 * (PKGIMG_BUILD_ENV) with its .pth files.  Child processes inherit it. */
#ifndef PKGIMG_IMAGE_PYBUILD_FE_H
#define PKGIMG_IMAGE_PYBUILD_FE_H

#define PYBUILD_FRONTEND \
"import importlib, json, os, sys, traceback\n" \
"\n" \
"\n" \
"def load_backend(spec, paths):\n" \
"    mod, _, obj = spec.partition(':')\n" \
"    paths = [os.path.abspath(p) for p in paths]\n" \
"    sys.path[:0] = paths\n" \
"    backend = importlib.import_module(mod.strip())\n" \
"    if paths:\n" \
"        f = os.path.abspath(getattr(backend, '__file__', '') or '')\n" \
"        if not any(f == p or f.startswith(p.rstrip(os.sep) + os.sep) for p in paths):\n" \
"            raise RuntimeError('backend %s is not in backend-path %s' % (mod, paths))\n" \
"    for part in obj.strip().split('.') if obj.strip() else []:\n" \
"        backend = getattr(backend, part)\n" \
"    return backend\n" \
"\n" \
"\n" \
"def main():\n" \
"    hook = sys.argv[1]\n" \
"    out = os.environ['PKGIMG_OUT']\n" \
"    paths = [p for p in os.environ.get('PKGIMG_BACKEND_PATH', '').split(':') if p]\n" \
"    res = {}\n" \
"    try:\n" \
"        try:\n" \
"            backend = load_backend(os.environ['PKGIMG_BACKEND'], paths)\n" \
"        except ImportError as e:\n" \
"            raise ImportError('backend unavailable: %s' % e)\n" \
"        f = getattr(backend, hook, None)\n" \
"        if hook == 'get_requires_for_build_wheel':\n" \
"            res['return'] = list(f({})) if f else []\n" \
"        elif hook == 'prepare_metadata_for_build_wheel':\n" \
"            if f is None:\n" \
"                res['unsupported'] = True\n" \
"            else:\n" \
"                d = os.path.join(out, 'metadata')\n" \
"                os.makedirs(d, exist_ok=True)\n" \
"                res['return'] = f(d, {})\n" \
"        elif hook == 'build_wheel':\n" \
"            d = os.path.join(out, 'wheel')\n" \
"            os.makedirs(d, exist_ok=True)\n" \
"            res['return'] = f(d, {}, None)\n" \
"        else:\n" \
"            raise RuntimeError('unknown hook ' + hook)\n" \
"    except BaseException as e:\n" \
"        print('pkgimg: %s: %s: %s' % (hook, type(e).__name__, e), file=sys.stderr)\n" \
"        res = {'error': '%s: %s' % (type(e).__name__, e),\n" \
"               'traceback': traceback.format_exc()}\n" \
"    sys.stdout.flush()\n" \
"    sys.stderr.flush()\n" \
"    with open(os.path.join(out, hook + '.json'), 'w') as f:\n" \
"        json.dump(res, f)\n" \
"    return 1 if 'error' in res else 0\n" \
"\n" \
"\n" \
"if __name__ == '__main__':\n" \
"    sys.exit(main())\n"

#define PYBUILD_SITECUSTOMIZE \
"import os, site, sys\n" \
"\n" \
"env = os.environ.get('PKGIMG_BUILD_ENV')\n" \
"if env:\n" \
"    norm = lambda p: os.path.normcase(os.path.abspath(p))\n" \
"    sites = list(site.getsitepackages())\n" \
"    try:\n" \
"        sites.append(site.getusersitepackages())\n" \
"    except Exception:\n" \
"        pass\n" \
"    orig = sys.path[:]\n" \
"    known = set()\n" \
"    for p in sites:\n" \
"        site.addsitedir(p, known_paths=known)\n" \
"    added = set(norm(p) for p in sys.path[len(orig):])\n" \
"    added.update(norm(p) for p in sites)\n" \
"    sys.path[:] = [p for p in orig if norm(p) not in added]\n" \
"    site.addsitedir(env)\n"

#endif
