package sweep

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPlan: a plan round-trips through its file, lists one numbered run
// per line, rebuilds its grid, and a folder's plan is not replaced by
// another.
func TestPlan(t *testing.T) {
	g := testRunner(t, "", 1).Grid
	g.Limits = map[string]int{"sst2": 40}
	p := NewPlan(g, Plan{Base: PlanBase{Model: "random-tiny", Lowercase: "auto", Title: "random-tiny"}, Data: "/data", Batch: 8, MaxLen: 16})
	var b bytes.Buffer
	require.NoError(t, p.Encode(&b))
	lines := strings.Split(b.String(), "\n")
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), `{"index":`) {
			require.Contains(t, l, `"task":"sst2"`)
			n++
		}
	}
	require.Equal(t, 6, n, "one numbered run per line:\n%s", b.String())

	dir := t.TempDir()
	made, err := WritePlan(dir, p)
	require.NoError(t, err)
	require.True(t, made)
	made, err = WritePlan(dir, p)
	require.NoError(t, err)
	require.False(t, made, "the same plan again: kept")
	got, err := ReadPlan(dir)
	require.NoError(t, err)
	require.Equal(t, p.Runs, got.Runs)
	require.Equal(t, p.Base, got.Base)
	g2, err := got.Grid(2)
	require.NoError(t, err)
	require.Equal(t, g.Runs(), g2.Runs())

	other := p
	other.Batch = 16
	_, err = WritePlan(dir, other)
	require.ErrorContains(t, err, "holds another sweep's plan (batch differ)")

	for _, tc := range []struct {
		name, edit, want string
	}{
		{"renumbered", `{"index":1,`, "run 0 is numbered 1"},
		{"other format", `"format": "x"`, `format "x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			_, err := WritePlan(d, p)
			require.NoError(t, err)
			data, err := os.ReadFile(PlanPath(d))
			require.NoError(t, err)
			s := string(data)
			if tc.name == "renumbered" {
				s = strings.Replace(s, `{"index":0,`, tc.edit, 1)
			} else {
				s = strings.Replace(s, `"format": "petl-sweep-plan"`, tc.edit, 1)
			}
			require.NoError(t, os.WriteFile(PlanPath(d), []byte(s), 0o644))
			_, err = ReadPlan(d)
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err = ReadPlan(t.TempDir())
	require.ErrorContains(t, err, "no plan in")
}

// TestClusterScripts: the Slurm array job (array range and limit, CPUs,
// time, output per task, requeue, the task id), the collect job after it,
// and the Kubernetes Indexed Job.
func TestClusterScripts(t *testing.T) {
	j := ClusterJob{Dir: "/shared/sweep x", Exec: "/opt/petl/petl", Runs: 12, Parallel: 2, CPUs: 3, Time: "1:30:00", Name: "petl-sweep",
		Partition: "cpu", Image: "registry/petl:1", Claim: "sweep-rwx"}
	for _, tc := range []struct {
		name string
		text string
		want []string
	}{
		{"array", j.SlurmArray(), []string{"#SBATCH --array=0-11%2\n", "#SBATCH --cpus-per-task=3\n", "#SBATCH --time=1:30:00\n",
			"#SBATCH --partition=cpu\n", "#SBATCH --output=/shared/sweep x/slurm/run-%a.out\n", "#SBATCH --requeue\n", "#SBATCH --open-mode=append\n",
			`exec /opt/petl/petl sweep --out '/shared/sweep x' --run "$SLURM_ARRAY_TASK_ID" --threads 3` + "\n"}},
		{"collect", j.SlurmCollect(), []string{"#SBATCH --output=/shared/sweep x/slurm/collect.out\n", "sweep --out '/shared/sweep x' --collect\n"}},
		{"submit", j.SlurmSubmit(), []string{"sbatch --parsable '/shared/sweep x/slurm'/array.sbatch", `--dependency=afterany:"$array"`}},
		{"k8s", func() string { r, _ := j.KubernetesJob(); return r }(), []string{"completionMode: Indexed", "completions: 12", "parallelism: 2",
			`\"$JOB_COMPLETION_INDEX\"`, `claimName: "sweep-rwx"`, `mountPath: "/shared/sweep x"`}},
		{"k8s collect", func() string { _, c := j.KubernetesJob(); return c }(), []string{`"--collect"`, "name: petl-sweep-collect"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, w := range tc.want {
				require.Contains(t, tc.text, w)
			}
			if strings.HasPrefix(tc.text, "#!") {
				if _, err := exec.LookPath("bash"); err == nil {
					cmd := exec.Command("bash", "-n")
					cmd.Stdin = strings.NewReader(tc.text)
					out, err := cmd.CombinedOutput()
					require.NoError(t, err, "bash -n: %s", out)
				}
			}
		})
	}
	j.Parallel = 0
	require.Contains(t, j.SlurmArray(), "#SBATCH --array=0-11\n")

	j.Dir = t.TempDir()
	submit, err := j.WriteSlurm()
	require.NoError(t, err)
	require.Equal(t, filepath.Join(j.Dir, SlurmDir, "submit.sh"), submit)
	for _, f := range []string{"array.sbatch", "collect.sbatch", "submit.sh"} {
		require.FileExists(t, filepath.Join(j.Dir, SlurmDir, f))
	}
	job, err := j.WriteKubernetes()
	require.NoError(t, err)
	require.FileExists(t, job)

	bad := j
	bad.Dir = "relative"
	_, err = bad.WriteSlurm()
	require.ErrorContains(t, err, "must be absolute paths")
}
