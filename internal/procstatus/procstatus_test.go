package procstatus

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKiB(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/self/status is Linux's")
	}
	for _, field := range []string{"VmRSS", "RssAnon", "RssFile", "VmHWM"} {
		kib, ok := KiB(field)
		require.True(t, ok, field)
		require.Greater(t, kib, 0.0, field)
		require.InDelta(t, kib/1024, MiB(field), 1, field) // the two reads may differ a little
	}
	_, ok := KiB("NoSuchField")
	require.False(t, ok)
	_, ok = KiB("VmRSS:") // a prefix that is not a whole field name
	require.False(t, ok)
}
