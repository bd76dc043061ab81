package serve

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/petl-go/petl"
)

// dirTask is a task that Reload loaded from the adapters directory.
type dirTask struct {
	path string     // its JSON file
	sum  [32]byte   // the SHA-256 of the JSON file, which records its weights' SHA-256
	task *petl.Task // what was loaded
}

// Changes is what a Reload did to the served tasks.
type Changes struct {
	Added     []string // new files
	Replaced  []string // files that changed
	Removed   []string // files that are gone
	Unchanged []string
	// Skipped are files named like a task that Load (or the caller, on
	// the base) loaded: that task stays.
	Skipped []string
}

// String is e.g. "+mrpc ~sst2 -cola (1 unchanged)".
func (c Changes) String() string {
	var parts []string
	for _, l := range []struct {
		sign  string
		names []string
	}{{"+", c.Added}, {"~", c.Replaced}, {"-", c.Removed}} {
		for _, n := range l.names {
			parts = append(parts, l.sign+n)
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no changes")
	}
	s := strings.Join(parts, " ")
	if len(c.Unchanged) > 0 {
		s += fmt.Sprintf(" (%d unchanged)", len(c.Unchanged))
	}
	if len(c.Skipped) > 0 {
		s += fmt.Sprintf(" (skipped %s: loaded by name)", strings.Join(c.Skipped, ", "))
	}
	return s
}

// Load loads the adapter at path (adapter.Paths) as task name and keeps it
// across reloads: a file of the same name in the adapters directory is
// skipped.
func (s *Server) Load(name, path string) (*petl.Task, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	t, err := s.base.Load(name, path)
	if err != nil {
		return nil, fmt.Errorf("adapter %s=%s: %w", name, path, err)
	}
	s.explicit[name] = path
	delete(s.fromDir, name)
	return t, nil
}

// Reload re-reads Options.AdaptersDir: every NAME.json there (with the
// weights file it names) is task NAME. New and changed files are loaded
// (replacing the task of that name), tasks whose file is gone are removed,
// unchanged files are left alone. Requests already holding a task finish
// with it; requests that arrive after a task is removed get 404. A file
// that fails to load is reported in the error and changes nothing (a task
// it would replace stays); the other files are still applied.
func (s *Server) Reload() (Changes, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	ch, err := s.reload()
	result := "ok"
	if err != nil {
		result = "error"
	}
	s.m.reloads.WithLabelValues(result).Inc()
	return ch, err
}

func (s *Server) reload() (Changes, error) {
	var ch Changes
	dir := s.opts.AdaptersDir
	if dir == "" {
		return ch, errors.New("serve: reload: no adapters directory")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ch, fmt.Errorf("serve: reload: %w", err)
	}
	var errs []error
	seen := map[string]bool{}
	for _, e := range entries {
		stem, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if err := petl.ValidName(stem); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
			continue
		}
		seen[stem] = true
		prev, mine := s.fromDir[stem]
		if _, ok := s.explicit[stem]; ok {
			ch.Skipped = append(ch.Skipped, stem)
			continue
		}
		cur, err := s.base.Task(stem)
		if !mine && err == nil {
			ch.Skipped = append(ch.Skipped, stem)
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("adapter %s: %w", path, err))
			continue
		}
		sum := sha256.Sum256(data)
		if mine && prev.sum == sum && cur == prev.task {
			ch.Unchanged = append(ch.Unchanged, stem)
			continue
		}
		t, err := s.base.Load(stem, path)
		if err != nil {
			errs = append(errs, fmt.Errorf("adapter %s: %w", path, err))
			continue
		}
		s.fromDir[stem] = dirTask{path: path, sum: sum, task: t}
		if mine {
			ch.Replaced = append(ch.Replaced, stem)
		} else {
			ch.Added = append(ch.Added, stem)
		}
	}
	for name, dt := range s.fromDir {
		if seen[name] {
			continue
		}
		if cur, err := s.base.Task(name); err == nil && cur == dt.task {
			s.base.Remove(name)
		}
		delete(s.fromDir, name)
		s.capMu.Lock()
		delete(s.capped, name)
		s.capMu.Unlock()
		ch.Removed = append(ch.Removed, name)
	}
	slices.Sort(ch.Removed)
	if err := errors.Join(errs...); err != nil {
		return ch, fmt.Errorf("serve: reload %s: %w", dir, err)
	}
	return ch, nil
}
