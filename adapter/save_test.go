package adapter

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/petl-go/petl/bert"
	"github.com/petl-go/petl/nn"
	"github.com/petl-go/petl/safetensors"
	"github.com/stretchr/testify/require"
)

// saveChildEnv, when set to "STEP SEED PATH", turns TestSaveKilledAtEveryStep
// into the child that saves the adapter of SEED at PATH and kills itself
// with SIGKILL when the save reaches STEP.
const saveChildEnv = "PETL_ADAPTER_SAVE_CHILD"

// saveSteps are the steps of a save, in order (see the hooks in save.go):
// a kill at each one must leave the old adapter or the new one.
var saveSteps = []string{"lock", "weights", "weights-temp", "commit-temp", "link", "canonical", "config-temp", "cleanup"}

// seededAdapter is the adapter (method adapter, size 3) trained with seed
// on the tiny model: its configuration and parameters.
func seededAdapter(t testing.TB, seed uint64) (FileConfig, []*nn.Param) {
	m, err := bert.NewRandom(tinyConfig(), 2, 11)
	require.NoError(t, err)
	fp := m.Fingerprint()
	s, err := Prepare(m, Plan{Method: MethodAdapter, Adapter: Config{Size: 3}}, 3)
	require.NoError(t, err)
	perturb(s.Trainable, seed)
	return fileConfig(m, s, fp), s.Trainable
}

// saveChild is the child process of TestSaveKilledAtEveryStep.
func saveChild(spec string) {
	f := strings.Fields(spec)
	seed, _ := strconv.ParseUint(f[1], 10, 64)
	saveHook = func(s string) error {
		if s == f[0] {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Minute)
		}
		return nil
	}
	cfg, params := seededAdapter(&testing.T{}, seed)
	if err := Save(f[2], cfg, params); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// adapterSeed tells which seed's adapter the file at path holds: 0 when
// there is none, -1 when it reads as neither of the seeds.
func adapterSeed(t *testing.T, path string, seeds ...uint64) int {
	t.Helper()
	f, err := Read(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	require.NoError(t, err)
	for _, seed := range seeds {
		_, params := seededAdapter(t, seed)
		same := true
		for _, p := range params {
			same = same && slices.Equal(p.W, f.Tensors[p.Name])
		}
		if same {
			return int(seed)
		}
	}
	return -1
}

// folder lists dir.
func folder(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// TestSaveKilledAtEveryStep saves an adapter over another in a child
// process killed (SIGKILL) at each step of the save: what is left must
// load as the old adapter or the new one, never neither, and the next save
// cleans whatever the killed one left. Before the commit the old adapter
// must be there, after it the new one. Also from nothing (the first save
// of an adapter): no adapter or the new one.
func TestSaveKilledAtEveryStep(t *testing.T) {
	if spec := os.Getenv(saveChildEnv); spec != "" {
		saveChild(spec)
	}
	for _, fresh := range []bool{false, true} {
		for i, step := range saveSteps {
			t.Run(fmt.Sprintf("fresh=%v/%s", fresh, step), func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "task")
				const oldSeed, newSeed = 5, 6
				if !fresh {
					cfg, params := seededAdapter(t, oldSeed)
					require.NoError(t, Save(path, cfg, params))
				}
				cmd := exec.Command(os.Args[0], "-test.run=^TestSaveKilledAtEveryStep$", "-test.count=1")
				cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %s", saveChildEnv, step, newSeed, path))
				out, err := cmd.CombinedOutput()
				var exit *exec.ExitError
				require.ErrorAs(t, err, &exit, "the child must be killed at %s; output:\n%s", step, out)
				ws, ok := exit.Sys().(syscall.WaitStatus)
				require.True(t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL, "killed by SIGKILL at %s: %v\n%s", step, err, out)

				got := adapterSeed(t, path, oldSeed, newSeed)
				committed := i >= slices.Index(saveSteps, "link")
				want := oldSeed
				if fresh {
					want = 0
				}
				if committed {
					want = newSeed
				}
				require.Equal(t, want, got, "killed at %s: the adapter is %d (0: none, -1: neither), want %d; folder %q", step, got, want, folder(t, dir))

				// The next save goes through and leaves nothing of the killed one.
				cfg, params := seededAdapter(t, 7)
				require.NoError(t, Save(path, cfg, params))
				require.Equal(t, 7, adapterSeed(t, path, 7))
				require.Equal(t, []string{".task.lock", "task.json", "task.safetensors"}, folder(t, dir))
			})
		}
	}
}

// TestSaveStoppedEverywhere stops a save (as a crash would: nothing cleaned
// up) at every step, in this process, then reads and saves again.
func TestSaveStoppedEverywhere(t *testing.T) {
	defer func() { saveHook = nil }()
	for _, stop := range saveSteps {
		dir := t.TempDir()
		path := filepath.Join(dir, "x")
		cfg, params := seededAdapter(t, 1)
		require.NoError(t, Save(path, cfg, params))
		saveHook = func(s string) error {
			if s == stop {
				return errStopped
			}
			return nil
		}
		cfg2, params2 := seededAdapter(t, 2)
		require.ErrorIs(t, Save(path, cfg2, params2), errStopped)
		saveHook = nil
		got := adapterSeed(t, path, 1, 2)
		require.Contains(t, []int{1, 2}, got, "stopped at %s", stop)
		require.NoError(t, Save(path, cfg2, params2))
		require.Equal(t, 2, adapterSeed(t, path, 1, 2))
		require.Equal(t, []string{".x.lock", "x.json", "x.safetensors"}, folder(t, dir), "stopped at %s", stop)
	}
}

// TestSaveConcurrent has several goroutines and processes save different
// adapters at one path at the same time while others read it: every read
// finds a whole adapter, and the end state is one of them, with nothing
// left over. (Two unlocked petl train runs used to tear the pair.)
func TestSaveConcurrent(t *testing.T) {
	if spec := os.Getenv(saveChildEnv); spec != "" {
		saveChild(spec)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "task")
	cfg, params := seededAdapter(t, 1)
	require.NoError(t, Save(path, cfg, params))

	stop := make(chan struct{})
	var readers sync.WaitGroup
	var readErr error
	var mu sync.Mutex
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := Read(path); err != nil {
					mu.Lock()
					readErr = err
					mu.Unlock()
				}
			}
		}()
	}
	var writers sync.WaitGroup
	seeds := []uint64{2, 3, 4, 5}
	for _, seed := range seeds[:2] {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for range 5 {
				c, p := seededAdapter(t, seed)
				if err := Save(path, c, p); err != nil {
					mu.Lock()
					readErr = err
					mu.Unlock()
				}
			}
		}()
	}
	for _, seed := range seeds[2:] {
		writers.Add(1)
		go func() {
			defer writers.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestSaveConcurrent$", "-test.count=1")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %s", saveChildEnv, "none", seed, path))
			if out, err := cmd.CombinedOutput(); err != nil {
				mu.Lock()
				readErr = fmt.Errorf("child: %v\n%s", err, out)
				mu.Unlock()
			}
		}()
	}
	writers.Wait()
	close(stop)
	readers.Wait()
	require.NoError(t, readErr)
	got := adapterSeed(t, path, seeds...)
	require.Contains(t, []int{2, 3, 4, 5}, got)
	require.Equal(t, []string{".task.lock", "task.json", "task.safetensors"}, folder(t, dir))
}

// lockChildEnv, when set to a path, turns TestTryLock into a child that
// locks the adapter there, says so, and waits to be killed.
const lockChildEnv = "PETL_ADAPTER_LOCK_CHILD"

// TestTryLock checks that a lock held by another process refuses TryLock
// and holds Save back, and that killing the holder releases it.
func TestTryLock(t *testing.T) {
	if path := os.Getenv(lockChildEnv); path != "" {
		if _, err := TryLock(path); err != nil {
			fmt.Println("child:", err)
			os.Exit(3)
		}
		fmt.Println("locked")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "task")
	cmd := exec.Command(os.Args[0], "-test.run=^TestTryLock$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	buf := make([]byte, 64)
	n, _ := stdout.Read(buf)
	require.Contains(t, string(buf[:n]), "locked")

	_, err = TryLock(path)
	require.ErrorIs(t, err, ErrLocked)
	require.ErrorContains(t, err, "task.json")

	cfg, params := seededAdapter(t, 1)
	saved := make(chan error, 1)
	go func() { saved <- Save(path, cfg, params) }()
	select {
	case err := <-saved:
		t.Fatalf("Save went ahead under another process's lock: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	require.NoError(t, cmd.Process.Kill())
	cmd.Wait()
	select {
	case err := <-saved:
		require.NoError(t, err, "the lock of a killed process is released")
	case <-time.After(10 * time.Second):
		t.Fatal("Save still waits after the holder was killed")
	}

	// This process's own lock: Save goes ahead under it; a second TryLock
	// is refused; Unlock releases.
	l, err := TryLock(path)
	require.NoError(t, err)
	_, err = TryLock(path)
	require.ErrorIs(t, err, ErrLocked)
	require.NoError(t, Save(path, cfg, params))
	require.NoError(t, l.Unlock())
	require.NoError(t, l.Unlock())
	l, err = TryLock(path)
	require.NoError(t, err)
	require.NoError(t, l.Unlock())
}

// TestSaveRefusesForeign checks that Save does not replace files that are
// not a petl adapter's: a mistyped output name that lands on a model's
// weights or config leaves them as they were.
func TestSaveRefusesForeign(t *testing.T) {
	dir := t.TempDir()
	cfg, params := seededAdapter(t, 1)

	model := filepath.Join(dir, "model.safetensors")
	require.NoError(t, safetensors.WriteFile(model, []safetensors.Tensor{safetensors.F32Tensor("w", []int{2}, []float32{1, 2})}, map[string]string{"format": "pt"}))
	before, err := os.ReadFile(model)
	require.NoError(t, err)
	for _, out := range []string{model, filepath.Join(dir, "model"), filepath.Join(dir, "model.json")} {
		err := Save(out, cfg, params)
		require.ErrorContains(t, err, "not a petl adapter's weights", out)
		require.ErrorContains(t, err, model)
	}
	after, err := os.ReadFile(model)
	require.NoError(t, err)
	require.Equal(t, before, after)

	conf := filepath.Join(dir, "config.json")
	require.NoError(t, os.WriteFile(conf, []byte(`{"vocab_size": 3}`), 0o644))
	err = Save(filepath.Join(dir, "config"), cfg, params)
	require.ErrorContains(t, err, "not a petl adapter configuration")
	data, err := os.ReadFile(conf)
	require.NoError(t, err)
	require.Equal(t, `{"vocab_size": 3}`, string(data))

	garbage := filepath.Join(dir, "notes.safetensors")
	require.NoError(t, os.WriteFile(garbage, []byte("my notes"), 0o644))
	require.Error(t, Save(garbage, cfg, params))
	data, err = os.ReadFile(garbage)
	require.NoError(t, err)
	require.Equal(t, "my notes", string(data))
}

// TestReadVersion1 reads a pair as petl wrote it before the commit
// protocol: STEM.safetensors named by a version 1 STEM.json.
func TestReadVersion1(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "old")
	cfg, params := seededAdapter(t, 1)
	require.NoError(t, Save(path, cfg, params))
	_, c := Paths(path)
	raw, err := os.ReadFile(c)
	require.NoError(t, err)
	raw = bytes.Replace(raw, []byte(`"format_version": 2`), []byte(`"format_version": 1`), 1)
	require.NoError(t, os.WriteFile(c, raw, 0o644))
	require.Equal(t, 1, adapterSeed(t, path, 1))
	// Saving over it makes a version 2 pair.
	require.NoError(t, Save(path, cfg, params))
	got, err := ReadConfig(path)
	require.NoError(t, err)
	require.Equal(t, FormatVersion, got.FormatVersion)
	require.Equal(t, "old.safetensors", got.Weights)
}

// TestCheckOutput checks the checks a run makes before its work: a
// missing folder, a folder that takes no files, a file that is not an
// adapter's.
func TestCheckOutput(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, CheckOutput(filepath.Join(dir, "a")))
	require.ErrorIs(t, CheckOutput(filepath.Join(dir, "missing", "a")), os.ErrNotExist)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte("not an adapter"), 0o644))
	require.ErrorContains(t, CheckOutput(filepath.Join(dir, "model")), "model.safetensors")
	require.ErrorContains(t, CheckOutput(filepath.Join(dir, "model.safetensors", "a")), "not a folder")
	cfg, params := seededAdapter(t, 1)
	require.NoError(t, Save(filepath.Join(dir, "a"), cfg, params))
	require.NoError(t, CheckOutput(filepath.Join(dir, "a")), "an adapter may be replaced")
	if os.Getuid() != 0 {
		ro := filepath.Join(dir, "ro")
		require.NoError(t, os.Mkdir(ro, 0o555))
		require.ErrorContains(t, CheckOutput(filepath.Join(ro, "a")), "does not take new files")
	}
	require.NoError(t, CheckLabels([]string{"neg", "pos"}))
	require.ErrorContains(t, CheckLabels([]string{"a", "b\tc"}), "tab")
	require.ErrorContains(t, CheckLabels(nil), "0 labels")
}
