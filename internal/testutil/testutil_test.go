package testutil_test

import (
	"strings"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/testutil"
)

// recorder captures what Missing does instead of stopping the real test.
type recorder struct {
	testing.TB
	fatal   string
	skipped string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = format
	if len(args) > 0 {
		r.fatal = args[0].(string)
	}
}

func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = format
	if len(args) > 0 {
		r.skipped = args[0].(string)
	}
}

func TestMissing(t *testing.T) {
	tests := []struct {
		name      string
		ci        string
		wantFatal bool
	}{
		{name: "local run skips", ci: "", wantFatal: false},
		{name: "CI=false skips", ci: "false", wantFatal: false},
		{name: "CI=1 is not CI=true", ci: "1", wantFatal: false},
		{name: "CI=true fails", ci: "true", wantFatal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := &recorder{TB: t}
			testutil.Missing(r, "redis-server not on PATH (%s)", "apt-get install redis-server")

			got := r.skipped
			if tt.wantFatal {
				got = r.fatal
				if r.skipped != "" {
					t.Errorf("Skipf called under CI=true: %q", r.skipped)
				}
			} else if r.fatal != "" {
				t.Errorf("Fatalf called without CI=true: %q", r.fatal)
			}
			if !strings.HasPrefix(got, testutil.MissingPrefix) {
				t.Errorf("message %q does not start with %q", got, testutil.MissingPrefix)
			}
			if !strings.Contains(got, "redis-server not on PATH (apt-get install redis-server)") {
				t.Errorf("message %q lacks the formatted reason", got)
			}
		})
	}
}
