package pveschema

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// ErrNotFound is returned by Dir when no schema directory is found.
var ErrNotFound = errors.New("pveschema: ../shared/pve-schema not found next to the module root")

// Dir finds the schema directory: it walks up from the working directory
// to the directory holding go.mod (the module root) and returns
// <root>/../shared/pve-schema if that directory exists, else ErrNotFound.
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			dir := filepath.Join(filepath.Dir(d), "shared", "pve-schema")
			if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
				return dir, nil
			}
			return "", ErrNotFound
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", ErrNotFound
		}
		d = parent
	}
}

// Locate is Dir for tests: it returns the schema directory, or "" when
// it is absent (the caller decides whether to skip or fail).
func Locate(t testing.TB) string {
	t.Helper()
	dir, err := Dir()
	if err != nil {
		return ""
	}
	return dir
}
