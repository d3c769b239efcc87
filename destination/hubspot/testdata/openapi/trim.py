"""Trim one of HubSpot's official OpenAPI documents to the operations synclayer uses.

usage: python3 trim.py <full.json> "METHOD /path" ... > trimmed.json

Keeps openapi, info, servers, security, the security schemes, the named
operations (other methods of the same paths are dropped) and the
components they reference, transitively. Nothing kept is modified.
"""
import json
import sys


def refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/components/"):
                out.add(tuple(v[len("#/components/"):].split("/", 1)))
            else:
                refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


def main():
    doc = json.load(open(sys.argv[1]))
    keep = [a.split(" ", 1) for a in sys.argv[2:]]
    paths = {}
    for method, path in keep:
        op = doc["paths"][path][method.lower()]
        paths.setdefault(path, {})[method.lower()] = op
        if "parameters" in doc["paths"][path]:
            paths[path]["parameters"] = doc["paths"][path]["parameters"]
    comps = {"securitySchemes": doc["components"].get("securitySchemes", {})}
    todo = set()
    refs(paths, todo)
    done = set()
    while todo:
        kind, name = todo.pop()
        if (kind, name) in done:
            continue
        done.add((kind, name))
        node = doc["components"][kind][name]
        comps.setdefault(kind, {})[name] = node
        refs(node, todo)
    out = {k: doc[k] for k in ("openapi", "info", "servers", "security") if k in doc}
    out["paths"] = paths
    out["components"] = {k: dict(sorted(v.items())) for k, v in sorted(comps.items())}
    json.dump(out, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


main()
