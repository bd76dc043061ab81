// Package procstatus reads the memory figures of /proc/self/status (Linux),
// for the tests and benchmarks that report or check resident memory.
package procstatus

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// KiB returns the value of a field of /proc/self/status given in kB
// ("RssAnon", "RssFile", "VmHWM", ...), and whether it could be read: false
// on systems without the file or the field.
func KiB(field string) (float64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), field+":")
		if !ok {
			continue
		}
		kib, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		return kib, err == nil
	}
	return 0, false
}

// MiB is KiB in MiB, 0 where the field cannot be read.
func MiB(field string) float64 {
	kib, _ := KiB(field)
	return kib / 1024
}
