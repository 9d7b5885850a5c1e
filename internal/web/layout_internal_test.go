package web

import (
	"bytes"
	"testing"
)

// TestFastLayoutMatchesTemplate: for every variant of the layout and
// values that need escaping in each of their places, the fast layout
// writes exactly the bytes html/template writes for "layout". (Every page
// the package's other tests render is checked the same way: export_test.go
// sets verifyFastLayout.)
func TestFastLayoutMatchesTemplate(t *testing.T) {
	rd, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	if rd.layout == nil {
		t.Fatal("no fast layout")
	}
	tricky := []string{"", "root@pam", `<script>alert("x")</script>`, "a+b/c=", "o'brien&co", "nul\x00byte", "ünï ✓", "{{.}}"}
	for _, nav := range append(layoutNavs, "other") {
		for _, user := range tricky {
			for _, nonce := range []string{"AbC+/x9", "plain", `"><x`} {
				data := pageData{Nonce: nonce, User: user, RequestID: "0123abcd", Nav: nav,
					Page: errorPage{Title: "T<i>tle+" + user, Message: "M&ssage " + user, RequestID: "r'q"}}
				var fast, slow, whole bytes.Buffer
				ok, err := rd.layout.execute(&fast, rd.pages["error"], data)
				if err != nil {
					t.Fatal(err)
				}
				wholeOK := rd.layout.executeError(&whole, data)
				if err := rd.pages["error"].ExecuteTemplate(&slow, "layout", data); err != nil {
					t.Fatal(err)
				}
				if ok != wholeOK {
					t.Errorf("user %q nav %q: fast layout %v, fast error page %v", user, nav, ok, wholeOK)
				}
				if !ok {
					if nav != "other" {
						t.Errorf("no fast variant for user %q nav %q", user, nav)
					}
					continue
				}
				if !bytes.Equal(fast.Bytes(), slow.Bytes()) {
					t.Errorf("user %q nonce %q nav %q:\nfast %s\nslow %s", user, nonce, nav, fast.String(), slow.String())
				}
				if !bytes.Equal(whole.Bytes(), slow.Bytes()) {
					t.Errorf("error page, user %q nonce %q nav %q:\nfast %s\nslow %s", user, nonce, nav, whole.String(), slow.String())
				}
			}
		}
	}
	// Without a request id the template leaves a line out: no fast page.
	var b bytes.Buffer
	if rd.layout.executeError(&b, pageData{Nav: "", Page: errorPage{Title: "x"}}) || b.Len() != 0 {
		t.Error("the fast error page served a page without a request id")
	}
}
