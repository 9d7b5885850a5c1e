// Package testutil holds small helpers shared by the project's tests.
package testutil

import (
	"fmt"
	"os"
	"testing"
)

// MissingPrefix starts every message Missing emits, so skipped tests are easy
// to spot in verbose output and to grep for in CI logs.
const MissingPrefix = "SKIP (missing dependency): "

// Missing reports that a dependency the test needs (a binary, a service, an
// environment variable) is not available. When the environment variable CI is
// "true" the test fails via t.Fatalf, so a CI run never silently loses
// coverage; otherwise the test is skipped via t.Skipf with a message starting
// with MissingPrefix. Either way the calling test stops.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := MissingPrefix + fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: a missing dependency is a failure)", msg)
		return
	}
	t.Skipf("%s", msg)
}
