package markdown_test

import (
	"strings"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/markdown"
)

func TestRender(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"paragraph", "hello world", "<p>hello world</p>\n"},
		{"two paragraphs", "a\n\nb", "<p>a</p>\n<p>b</p>\n"},
		{"heading", "## Web server", "<h2>Web server</h2>\n"},
		{"emphasis", "**bold** and *it* and _it_", "<p><strong>bold</strong> and <em>it</em> and <em>it</em></p>\n"},
		{"code span", "run `apt update`", "<p>run <code>apt update</code></p>\n"},
		{"fenced code", "```\n<b>x</b>\n```", "<pre><code>&lt;b&gt;x&lt;/b&gt;</code></pre>\n"},
		{"list", "- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"},
		{"ordered list", "1. one\n2. two", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n"},
		{"quote", "> careful", "<blockquote>\n<p>careful</p>\n</blockquote>\n"},
		{"rule", "---", "<hr>\n"},
		{"https link", "[docs](https://example.com/a?b=1&c=2)", `<p><a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow">docs</a></p>` + "\n"},
		{"autolink", "<http://example.com>", `<p><a href="http://example.com" rel="noopener noreferrer nofollow">http://example.com</a></p>` + "\n"},
		{"line break", "a  \nb", "<p>a<br>\nb</p>\n"},
		{"escaped markup", `\*not em\*`, "<p>*not em*</p>\n"},
		{"windows newlines", "a\r\n\r\nb", "<p>a</p>\n<p>b</p>\n"},
		{"unicode", "Grüße **ünïcode**", "<p>Grüße <strong>ünïcode</strong></p>\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(markdown.Render(tc.in)); got != tc.want {
				t.Errorf("Render(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestRenderIsSafe: raw HTML is text, and only http(s) links survive.
func TestRenderIsSafe(t *testing.T) {
	cases := []struct {
		name, in string
		forbid   []string // must not appear in the output
		want     string   // must appear
	}{
		{"script tag", "<script>alert(1)</script>", []string{"<script"}, "&lt;script&gt;"},
		{"img onerror", `<img src=x onerror=alert(1)>`, []string{"<img"}, "&lt;img"},
		{"javascript link", "[click](javascript:alert(1))", []string{"href", "javascript:"}, "click"},
		{"data link", "[x](data:text/html;base64,PHNjcmlwdD4=)", []string{"href"}, "x"},
		{"relative link", "[x](/logout)", []string{"href"}, "x"},
		{"protocol-relative", "[x](//evil.example)", []string{"href"}, "x"},
		{"javascript autolink", "<javascript:alert(1)>", []string{"href"}, "&lt;javascript:"},
		{"quote breakout", `[x](https://a.example/"onmouseover="alert(1))`, []string{`" onmouseover`, `"onmouseover="alert`}, "x"},
		{"html in link text", "[<b>x</b>](https://a.example)", []string{"<b>"}, "&lt;b&gt;"},
		{"html in heading", "# <i>t</i>", []string{"<i>"}, "&lt;i&gt;"},
		{"html in code", "`<script>`", []string{"<script>"}, "&lt;script&gt;"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := string(markdown.Render(tc.in))
			for _, f := range tc.forbid {
				if strings.Contains(got, f) {
					t.Errorf("Render(%q) = %q contains %q", tc.in, got, f)
				}
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("Render(%q) = %q lacks %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestRenderLongInputIsBounded(t *testing.T) {
	in := strings.Repeat("**a", 40000)
	if got := markdown.Render(in); len(got) == 0 {
		t.Fatal("empty output")
	}
}

func FuzzRender(f *testing.F) {
	for _, s := range []string{"# h", "[a](https://b)", "**x*", "```\n", "<a href=x>", "> - 1."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := string(markdown.Render(s))
		if strings.Contains(strings.ToLower(got), "<script") || strings.Contains(got, "javascript:\"") {
			t.Fatalf("unsafe output for %q: %q", s, got)
		}
	})
}
