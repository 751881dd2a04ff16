#!/usr/bin/env bash
# Packages dist/ as the zip Grafana's catalog and `grafana cli --pluginUrl` expect:
# one top-level folder named by the plugin id holding plugin.json, module.js,
# img/, README/CHANGELOG/LICENSE and the gpx_sheepdog_<os>_<arch> executables.
# Then checks the archive's layout. Run `npm run build` (host) or
# `npm run build:all` (every platform) first.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/plugin.json ] && [ -f dist/module.js ] || { echo "package: dist/ is incomplete; run npm run build first" >&2; exit 1; }

read -r id version executable < <(python3 -c 'import json;p=json.load(open("dist/plugin.json"));print(p["id"],p["info"]["version"],p["executable"])')
out="${PACKAGE_DIR:-build}"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$out" "$stage/$id"
cp -R dist/. "$stage/$id/"
rm -f "$stage/$id"/*.map.gz
zipfile="$out/$id-$version.zip"
rm -f "$zipfile"
python3 - "$stage" "$id" "$zipfile" <<'PY'
import os, sys, zipfile
stage, plugin_id, target = sys.argv[1:]
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
    for root, dirs, files in os.walk(os.path.join(stage, plugin_id)):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            arc = os.path.relpath(path, stage)
            info = zipfile.ZipInfo.from_file(path, arc)
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as f:
                z.writestr(info, f.read())
PY
(cd "$out" && sha1sum "$(basename "$zipfile")" > "$(basename "$zipfile").sha1")
python3 - "$zipfile" "$id" "$executable" <<'PY'
import json, stat, sys, zipfile
path, plugin_id, executable = sys.argv[1:]
z = zipfile.ZipFile(path)
names = z.namelist()
problems = []
roots = {n.split("/")[0] for n in names}
if roots != {plugin_id}:
    problems.append(f"archive must have one top-level folder {plugin_id!r}, has {sorted(roots)}")
def need(rel):
    if f"{plugin_id}/{rel}" not in names:
        problems.append(f"missing {rel}")
for rel in ["plugin.json", "module.js", "README.md", "CHANGELOG.md", "LICENSE"]:
    need(rel)
meta = json.loads(z.read(f"{plugin_id}/plugin.json"))
for key in ["small", "large"]:
    need(meta["info"]["logos"][key])
if "%VERSION%" in json.dumps(meta) or "%TODAY%" in json.dumps(meta):
    problems.append("plugin.json still has %VERSION%/%TODAY% placeholders")
binaries = [n for n in names if n.split("/")[-1].startswith(executable + "_")]
if not binaries:
    problems.append(f"no {executable}_<os>_<arch> executable")
for b in binaries:
    mode = z.getinfo(b).external_attr >> 16
    if not mode & stat.S_IXUSR:
        problems.append(f"{b} is not executable")
# The catalog shows README.md away from the repository, so the validator wants absolute links.
import re
readme = z.read(f"{plugin_id}/README.md").decode()
relative = [m for m in re.findall(r"\]\(([^)\s]+)\)", readme) if not re.match(r"(https?:|mailto:|#)", m)]
if relative:
    problems.append(f"README.md has relative links (the catalog needs absolute ones): {', '.join(sorted(set(relative)))}")
if problems:
    print("package check FAILED:\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"package check ok: {path}, {len(names)} files, executables: {', '.join(sorted(b.split('/')[-1] for b in binaries))}")
PY
