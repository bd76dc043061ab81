package sweep

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/petl-go/petl/internal/safefile"
)

// ClusterJob says how a cluster's scheduler runs a plan: one task per run,
// each calling "petl sweep --out Dir --run I", then one collect task.
type ClusterJob struct {
	// Dir is the sweep's folder, absolute: it must be on storage that
	// every node sees at the same path (the runs write their outcomes and
	// checkpoints there).
	Dir string
	// Exec is the petl binary at the same absolute path on every node.
	Exec string
	// Runs is the number of runs of the plan (array tasks 0 to Runs-1).
	Runs int
	// Parallel is the most runs at the same time (0: no limit).
	Parallel int
	// CPUs is the CPUs per run, and its kernel threads.
	CPUs int
	// Time is the time limit of one run, in Slurm's format ("2:00:00").
	Time string
	// Partition is the Slurm partition ("": the cluster's default).
	Partition string
	// Name is the job's name.
	Name string
	// Image and Claim are the Kubernetes container image (with Exec in
	// it) and the ReadWriteMany volume claim mounted at Dir.
	Image, Claim string
}

// Folders of a sweep's folder that hold the scripts of a cluster job.
const (
	SlurmDir = "slurm" // array.sbatch, collect.sbatch, submit.sh, and the tasks' output
	K8sDir   = "k8s"   // job.yaml, collect.yaml
)

// shq quotes s for a POSIX shell.
func shq(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == '+' || r == ':' || r == '=' || r == ',' ||
			r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// check validates j.
func (j ClusterJob) check() error {
	switch {
	case !filepath.IsAbs(j.Dir) || !filepath.IsAbs(j.Exec):
		return fmt.Errorf("sweep: cluster job: the folder %q and the binary %q must be absolute paths", j.Dir, j.Exec)
	case j.Runs <= 0:
		return fmt.Errorf("sweep: cluster job: no runs")
	case j.CPUs <= 0 || j.Parallel < 0:
		return fmt.Errorf("sweep: cluster job: %d CPUs per run, %d at a time", j.CPUs, j.Parallel)
	case strings.ContainsAny(j.Dir+j.Exec+j.Time+j.Partition+j.Name+j.Image+j.Claim, "\n\r%"):
		return fmt.Errorf("sweep: cluster job: a path or setting holds a line break or %%")
	}
	return nil
}

// runCommand is the command of run "$VAR".
func (j ClusterJob) runCommand(indexVar string) string {
	return fmt.Sprintf(`exec %s sweep --out %s --run "$%s" --threads %d`, shq(j.Exec), shq(j.Dir), indexVar, j.CPUs)
}

// SlurmArray is the batch script of the array job: task I runs run I,
// with CPUs CPUs, requeued (and then resumed from its checkpoint) when
// the node fails or the job is preempted; each task's output is
// Dir/slurm/run-I.out, appended to across attempts.
func (j ClusterJob) SlurmArray() string {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	fmt.Fprintf(&b, "# petl sweep: runs 0 to %d of the plan %s, one per array task.\n", j.Runs-1, PlanPath(j.Dir))
	b.WriteString("# Submit with submit.sh (which also submits the collect job), or: sbatch array.sbatch\n")
	fmt.Fprintf(&b, "#SBATCH --job-name=%s\n", j.Name)
	array := fmt.Sprintf("0-%d", j.Runs-1)
	if j.Parallel > 0 {
		array += fmt.Sprintf("%%%d", j.Parallel)
	}
	fmt.Fprintf(&b, "#SBATCH --array=%s\n", array)
	b.WriteString("#SBATCH --ntasks=1\n")
	fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n", j.CPUs)
	if j.Time != "" {
		fmt.Fprintf(&b, "#SBATCH --time=%s\n", j.Time)
	}
	if j.Partition != "" {
		fmt.Fprintf(&b, "#SBATCH --partition=%s\n", j.Partition)
	}
	fmt.Fprintf(&b, "#SBATCH --output=%s\n", filepath.Join(j.Dir, SlurmDir, "run-%a.out"))
	b.WriteString("#SBATCH --open-mode=append\n")
	b.WriteString("#SBATCH --requeue\n")
	b.WriteString("# A finished run is skipped; a stopped one (time limit, preemption, requeue)\n")
	b.WriteString("# resumes from its checkpoint. petl stops on SIGTERM after the current step.\n")
	b.WriteString(j.runCommand("SLURM_ARRAY_TASK_ID") + "\n")
	return b.String()
}

// SlurmCollect is the batch script of the collect job, which submit.sh
// makes depend on the whole array (afterany: it runs also when runs
// failed, and names them).
func (j ClusterJob) SlurmCollect() string {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	b.WriteString("# petl sweep: the tables and figures from the runs that finished.\n")
	fmt.Fprintf(&b, "#SBATCH --job-name=%s-collect\n", j.Name)
	b.WriteString("#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n#SBATCH --time=0:30:00\n")
	if j.Partition != "" {
		fmt.Fprintf(&b, "#SBATCH --partition=%s\n", j.Partition)
	}
	fmt.Fprintf(&b, "#SBATCH --output=%s\n", filepath.Join(j.Dir, SlurmDir, "collect.out"))
	fmt.Fprintf(&b, "exec %s sweep --out %s --collect\n", shq(j.Exec), shq(j.Dir))
	return b.String()
}

// SlurmSubmit is the script that submits the array job and the collect
// job after it, printing both job ids.
func (j ClusterJob) SlurmSubmit() string {
	dir := shq(filepath.Join(j.Dir, SlurmDir))
	return `#!/bin/sh
# petl sweep: submits the array job, then the collect job that runs when
# every array task has ended (--dependency=afterany).
set -eu
array=$(sbatch --parsable ` + dir + `/array.sbatch)
array=${array%%;*}
collect=$(sbatch --parsable --dependency=afterany:"$array" ` + dir + `/collect.sbatch)
collect=${collect%%;*}
echo "array job $array, collect job $collect"
echo "follow: squeue -j $array,$collect; outputs in ` + strings.ReplaceAll(dir, "'", "") + `"
`
}

// KubernetesJob is an Indexed Job manifest running the plan's runs, one
// completion index each, and a second Job to apply after it for collect.
func (j ClusterJob) KubernetesJob() (runs, collect string) {
	name := strings.ToLower(j.Name)
	vol := fmt.Sprintf(`        volumeMounts:
        - name: sweep
          mountPath: %q
      volumes:
      - name: sweep
        persistentVolumeClaim:
          claimName: %q
`, j.Dir, j.Claim)
	parallel := j.Parallel
	if parallel == 0 {
		parallel = j.Runs
	}
	runs = fmt.Sprintf(`# petl sweep: runs 0 to %d of the plan %s, one per completion index.
# The volume claim must be ReadWriteMany and mounted at the same path as
# where the plan was written. Apply collect.yaml when this Job is complete.
# Untested here: the Slurm scripts beside it are what petl's CI runs.
apiVersion: batch/v1
kind: Job
metadata:
  name: %s
spec:
  completionMode: Indexed
  completions: %d
  parallelism: %d
  backoffLimit: %d
  template:
    spec:
      # OnFailure restarts a stopped run in place; it resumes from its checkpoint.
      restartPolicy: OnFailure
      containers:
      - name: run
        image: %q
        command: ["/bin/sh", "-c", %q]
        resources:
          requests:
            cpu: "%d"
          limits:
            cpu: "%d"
%s`, j.Runs-1, PlanPath(j.Dir), name, j.Runs, parallel, 3*j.Runs, j.Image, j.runCommand("JOB_COMPLETION_INDEX"), j.CPUs, j.CPUs, vol)
	collect = fmt.Sprintf(`# petl sweep: the tables and figures from the runs that finished; apply
# after the Job %s is complete (kubectl wait --for=condition=complete job/%s).
apiVersion: batch/v1
kind: Job
metadata:
  name: %s-collect
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: OnFailure
      containers:
      - name: collect
        image: %q
        command: [%q, "sweep", "--out", %q, "--collect"]
%s`, name, name, name, j.Image, j.Exec, j.Dir, vol)
	return runs, collect
}

// WriteSlurm writes SlurmArray, SlurmCollect and SlurmSubmit into
// Dir/slurm (array.sbatch, collect.sbatch, submit.sh), atomically, and
// returns the path of submit.sh.
func (j ClusterJob) WriteSlurm() (string, error) {
	if err := j.check(); err != nil {
		return "", err
	}
	dir := filepath.Join(j.Dir, SlurmDir)
	files := []struct{ name, text string }{
		{"array.sbatch", j.SlurmArray()}, {"collect.sbatch", j.SlurmCollect()}, {"submit.sh", j.SlurmSubmit()},
	}
	return filepath.Join(dir, "submit.sh"), writeFiles(dir, files)
}

// WriteKubernetes writes KubernetesJob into Dir/k8s (job.yaml and
// collect.yaml), atomically, and returns the path of job.yaml.
func (j ClusterJob) WriteKubernetes() (string, error) {
	if err := j.check(); err != nil {
		return "", err
	}
	if j.Image == "" || j.Claim == "" {
		return "", fmt.Errorf("sweep: a Kubernetes job needs an image and a volume claim")
	}
	runs, collect := j.KubernetesJob()
	dir := filepath.Join(j.Dir, K8sDir)
	files := []struct{ name, text string }{{"job.yaml", runs}, {"collect.yaml", collect}}
	return filepath.Join(dir, "job.yaml"), writeFiles(dir, files)
}

func writeFiles(dir string, files []struct{ name, text string }) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	for _, f := range files {
		err := safefile.WriteAtomic(filepath.Join(dir, f.name), func(w io.Writer) error {
			_, err := io.WriteString(w, f.text)
			return err
		})
		if err != nil {
			return fmt.Errorf("sweep: %w", err)
		}
	}
	return nil
}
