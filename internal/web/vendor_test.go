package web

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestVendoredFilesMatchTheirChecksums keeps docs/vendor.md true: a
// vendored file changed by hand (or a forgotten table update) fails here.
func TestVendoredFilesMatchTheirChecksums(t *testing.T) {
	want := map[string]string{
		"static/vendor/uplot/uPlot.iife.min.js": "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f",
		"static/vendor/uplot/uPlot.min.css":     "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04",
		"static/vendor/xterm/xterm.js":          "14903579ff54664cd72f8e8699e6961a6272c21863ec1c3b118cdc8af5d4a972",
		"static/vendor/xterm/xterm.css":         "854a7c0fb70e8b1a083c16797ab827299fb18744f5ad34f227b48337e33293c6",
		"static/vendor/xterm/addon-fit.js":      "ba3ea256ce0620a0992a197d6c9baea64823fc93d8da07a9e366ca9943c18527",
	}
	for name, sum := range want {
		b, err := staticFS.ReadFile(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := sha256.Sum256(b)
		if hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: sha256 %x, docs/vendor.md says %s", name, got, sum)
		}
	}
}
