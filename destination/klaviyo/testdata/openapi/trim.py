#!/usr/bin/env python3
"""Trim Klaviyo's stable OpenAPI document to the operations synclayer uses.

Usage: python3 trim.py stable.json > klaviyo.json

Keeps openapi, info, servers and the security scheme; of paths, only the
operations in OPS (other methods of the same path are dropped); of
components, only what those operations reference, transitively. Nothing
kept is modified.
"""
import json
import sys

OPS = {
    ("/api/profile-import", "post"): "create_or_update_profile",
    ("/api/profiles", "get"): "get_profiles",
    ("/api/profiles/{id}", "get"): "get_profile",
    ("/api/profile-subscription-bulk-create-jobs", "post"): "bulk_subscribe_profiles",
    ("/api/profile-subscription-bulk-delete-jobs", "post"): "bulk_unsubscribe_profiles",
    ("/api/lists/{id}", "get"): "get_list",
    ("/api/lists/{id}/relationships/profiles", "post"): "add_profiles_to_list",
    ("/api/lists/{id}/relationships/profiles", "delete"): "remove_profiles_from_list",
    ("/api/data-privacy-deletion-jobs", "post"): "request_profile_deletion",
    ("/api/events", "post"): "create_event",
    ("/api/catalog-items", "post"): "create_catalog_item",
    ("/api/catalog-items/{id}", "patch"): "update_catalog_item",
    ("/api/catalog-items/{id}", "delete"): "delete_catalog_item",
    ("/api/catalog-variants", "post"): "create_catalog_variant",
    ("/api/catalog-variants/{id}", "patch"): "update_catalog_variant",
    ("/api/catalog-variants/{id}", "delete"): "delete_catalog_variant",
    ("/api/catalog-categories", "post"): "create_catalog_category",
    ("/api/catalog-categories/{id}", "patch"): "update_catalog_category",
    ("/api/catalog-categories/{id}", "delete"): "delete_catalog_category",
    ("/api/profile-bulk-import-jobs", "post"): "bulk_import_profiles",
    ("/api/profile-bulk-import-jobs/{job_id}", "get"): "get_bulk_import_profiles_job",
    ("/api/profile-bulk-import-jobs/{id}/import-errors", "get"): "get_errors_for_bulk_import_profiles_job",
    ("/api/events", "get"): "get_events",
    ("/api/metrics", "get"): "get_metrics",
}


def main():
    doc = json.load(open(sys.argv[1]))
    comps = doc["components"]
    keep = {}

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "$ref" and isinstance(v, str) and v.startswith("#/components/"):
                    _, _, kind, name = v.split("/", 3)
                    if name not in keep.setdefault(kind, {}):
                        keep[kind][name] = comps[kind][name]
                        walk(comps[kind][name])
                else:
                    walk(v)
        elif isinstance(o, list):
            for x in o:
                walk(x)

    paths = {}
    for (path, method), op_id in sorted(OPS.items()):
        op = doc["paths"][path][method]
        if op["operationId"] != op_id:
            sys.exit(f"{method} {path} is {op['operationId']}, want {op_id}")
        paths.setdefault(path, {})[method] = op
        walk(op)
    keep["securitySchemes"] = comps["securitySchemes"]
    out = {
        "openapi": doc["openapi"],
        "info": doc["info"],
        "servers": doc["servers"],
        "security": doc.get("security", []),
        "paths": paths,
        "components": {k: dict(sorted(v.items())) for k, v in sorted(keep.items())},
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
