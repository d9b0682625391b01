#!/usr/bin/env python3
"""Writes src/sim/schemas/<tag>.tsv from a dhis2-core checkout (bare git is fine):
every SchemaDescriptor registered in DefaultSchemaService.init(), with its order
(setOrder, else Ordered.LOWEST_PRECEDENCE = Integer.MAX_VALUE), singular, plural,
class and Schema.isMetadata() (the class implements MetadataObject, directly, through
an interface or a superclass).

usage: tools/schema_catalog.py PATH/TO/dhis2-core.git 2.39.6 2.40.5 2.41.3 2.42.1
"""
import re, subprocess, sys, os

repo = sys.argv[1]
MAX = 2147483647

def git(*a):
    return subprocess.run(["git", "-C", repo, *a], capture_output=True, text=True, check=True).stdout

def catalog(tag):
    files = [l for l in git("ls-tree", "-r", "--name-only", tag, "dhis-2").splitlines()
             if l.endswith(".java") and "/src/main/java/" in l]
    by_class = {}
    for f in files:
        by_class.setdefault(f.rsplit("/", 1)[1][:-5], []).append(f)
    cache = {}
    def show(path):
        if path not in cache:
            cache[path] = git("show", f"{tag}:{path}")
        return cache[path]
    def fqcn(path):
        return path.split("/src/main/java/", 1)[1][:-5].replace("/", ".")
    def resolve(name, ctx_src, ctx_path):
        m = re.search(r"^import\s+([\w.]+\." + re.escape(name) + r");", ctx_src, re.M)
        if m:
            p = [f for f in by_class.get(name, []) if fqcn(f) == m.group(1)]
            return p[0] if p else None
        pkg = fqcn(ctx_path).rsplit(".", 1)[0]
        p = [f for f in by_class.get(name, []) if fqcn(f).rsplit(".", 1)[0] == pkg]
        if p:
            return p[0]
        cands = by_class.get(name, [])
        return cands[0] if len(cands) == 1 else None
    memo = {}
    def is_metadata(path, depth=0):
        if path is None or depth > 12:
            return False
        if path in memo:
            return memo[path]
        src = show(path)
        name = path.rsplit("/", 1)[1][:-5]
        m = re.search(r"(?:class|interface)\s+" + name + r"\b(?:<[^{]*?>)?([^{]*)\{", src, re.S)
        result = False
        if m:
            head = m.group(1)
            supers = re.findall(r"\b([A-Z]\w*)", re.sub(r"<[^<>]*>", "", re.sub(r"<[^<>]*>", "", head)))
            supers = [s for s in supers if s not in ("extends", "implements")]
            if any(s in ("MetadataObject", "SecondaryMetadataObject", "SystemDefaultMetadataObject") for s in supers):
                result = True
            else:
                result = any(is_metadata(resolve(s, src, path), depth + 1) for s in supers)
        memo[path] = result
        return result
    svc = [f for f in files if f.endswith("/schema/DefaultSchemaService.java")][0]
    svc_src = show(svc)
    init = svc_src[svc_src.index("void init()"):]
    init = init[: init.index("\n  }")]
    rows = []
    for d in re.findall(r"register\(new (\w+)\(\)\)", init):
        dpath = resolve(d, svc_src, svc)
        src = show(dpath)
        consts = dict(re.findall(r'static final String (\w+)\s*=\s*"([^"]*)"', src))
        m = re.search(r"new Schema\(\s*(\w+)\.class,\s*(\w+|\"[^\"]*\"),\s*(\w+|\"[^\"]*\")", src)
        klass, sing, plur = m.group(1), m.group(2), m.group(3)
        val = lambda s: s.strip('"') if s.startswith('"') else consts[s]
        om = re.search(r"setOrder\(\s*([^)]*)\)", src)
        order = MAX
        if om:
            expr = om.group(1).strip()
            order = int(expr) if expr.lstrip("-").isdigit() else (MAX if "LOWEST" in expr else int(eval(expr)))
        kpath = resolve(klass, src, dpath)
        rows.append((order, val(sing), val(plur), fqcn(kpath) if kpath else klass, is_metadata(kpath)))
    return rows

out_dir = os.path.join(os.path.dirname(__file__), "..", "src", "sim", "schemas")
os.makedirs(out_dir, exist_ok=True)
for tag in sys.argv[2:]:
    rows = catalog(tag)
    with open(os.path.join(out_dir, f"{tag}.tsv"), "w") as f:
        f.write(f"# dhis2-core {tag}: order, singular, plural, class, metadata (tools/schema_catalog.py; registration order)\n")
        for r in rows:
            f.write("\t".join([str(r[0]), r[1], r[2], r[3], "true" if r[4] else "false"]) + "\n")
    print(tag, len(rows), "schemas,", sum(1 for r in rows if r[4]), "metadata")
