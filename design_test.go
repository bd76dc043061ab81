package petl_test

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// module is this module's path; the design document names packages below it.
const module = "github.com/petl-go/petl"

// designRows reads the layer table of docs/design.md: package (relative to
// the module, "." for the root) to row number.
func designRows(t *testing.T) map[string]int {
	t.Helper()
	f, err := os.Open("docs/design.md")
	require.NoError(t, err)
	defer f.Close()
	row := regexp.MustCompile("^\\| *([0-9]+) *\\|([^|]*)\\|")
	quoted := regexp.MustCompile("`([^`]+)`")
	rows := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := row.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		for _, q := range quoted.FindAllStringSubmatch(m[2], -1) {
			_, dup := rows[q[1]]
			require.False(t, dup, "docs/design.md lists %s twice", q[1])
			rows[q[1]] = n
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, rows, "no layer table in docs/design.md")
	return rows
}

// TestDesignLayers checks the layer table of docs/design.md against the
// module's packages as `go list` sees them: every package in one row, no
// row naming a package that does not exist, and every import of a module
// package going to a row above the importer's.
func TestDesignLayers(t *testing.T) {
	rows := designRows(t)
	goCmd, err := exec.LookPath("go")
	require.NoError(t, err, "go list reads the packages' imports")
	for _, goarch := range []string{"amd64", "arm64"} {
		cmd := exec.Command(goCmd, "list", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "./...")
		cmd.Env = append(os.Environ(), "GOARCH="+goarch)
		out, err := cmd.Output()
		require.NoError(t, err, "go list (GOARCH=%s)", goarch)
		seen := map[string]bool{}
		for line := range strings.Lines(string(out)) {
			fields := strings.Fields(line)
			pkg := rel(fields[0])
			seen[pkg] = true
			r, ok := rows[pkg]
			if !ok {
				t.Errorf("package %s is not in the layer table of docs/design.md", pkg)
				continue
			}
			for _, imp := range fields[1:] {
				if imp != module && !strings.HasPrefix(imp, module+"/") {
					continue
				}
				dep := rel(imp)
				if dr, ok := rows[dep]; ok && dr >= r {
					t.Errorf("%s (row %d) imports %s (row %d): a package imports only rows above its own (GOARCH=%s)", pkg, r, dep, dr, goarch)
				}
			}
		}
		for pkg := range rows {
			if !seen[pkg] {
				t.Errorf("docs/design.md lists %s, which go list does not know (GOARCH=%s)", pkg, goarch)
			}
		}
	}
}

// rel is a module package's path relative to the module ("." for the root).
func rel(path string) string {
	if path == module {
		return "."
	}
	return strings.TrimPrefix(path, module+"/")
}
