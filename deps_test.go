package synclayer_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// goList returns each package of the module with its direct imports (not
// the tests') and, apart, everything it depends on, as go list reports.
func goList(t *testing.T, args ...string) (imports, deps map[string][]string) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports, deps = map[string][]string{}, map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
			Deps       []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		imports[p.ImportPath], deps[p.ImportPath] = p.Imports, p.Deps
	}
	return imports, deps
}

// connector is the connector a package belongs to ("destination/brevo"
// for destination/brevo/brevosim), or "" for shared code.
func connector(pkg string) string {
	parts := strings.Split(strings.TrimPrefix(pkg, "synclayer/"), "/")
	if len(parts) >= 2 && (parts[0] == "destination" || parts[0] == "source") && parts[1] != "conformance" && parts[1] != "openapicheck" && parts[1] != "simkit" && parts[1] != "sourcetest" {
		return parts[0] + "/" + parts[1]
	}
	return ""
}

// TestDependencyRule keeps the rule docs/ARCHITECTURE.md states: the root
// package imports only the standard library; a connector's packages import
// no other connector; shared packages import no connector (they reach
// connectors through the root's interfaces, which the program wires); and
// the shipped binary carries no test helper.
func TestDependencyRule(t *testing.T) {
	imports, deps := goList(t, "./...")
	for pkg, direct := range imports {
		for _, dep := range direct {
			if !strings.HasPrefix(dep, "synclayer/") && dep != "synclayer" {
				if pkg == "synclayer" && strings.Contains(strings.Split(dep, "/")[0], ".") {
					t.Errorf("the root package imports %s; it may import only the standard library", dep)
				}
				continue
			}
			if pkg == "synclayer" {
				t.Errorf("the root package imports %s; it may import only the standard library", dep)
			}
			from, to := connector(pkg), connector(dep)
			switch {
			case strings.HasPrefix(pkg, "synclayer/cmd/") || strings.HasPrefix(pkg, "synclayer/bench") || strings.HasPrefix(pkg, "synclayer/faults"):
			case to == "" || to == from:
			case from != "":
				t.Errorf("%s imports %s: a connector's packages may not import another connector", pkg, dep)
			default:
				t.Errorf("%s imports %s: shared code reaches a connector through the root package's interfaces", pkg, dep)
			}
		}
	}
	for _, dep := range deps["synclayer/cmd/synclayer"] {
		if dep == "testing" || strings.HasSuffix(dep, "spec") || strings.HasSuffix(dep, "openapicheck") || strings.Contains(dep, "kin-openapi") || strings.HasSuffix(dep, "storetest") || strings.HasSuffix(dep, "sourcetest") {
			t.Errorf("the shipped binary depends on %s, a test helper", dep)
		}
	}
}
