// Package markdown renders the Markdown of a container's notes (PVE's
// `description`) to HTML that is safe to put on a page: raw HTML in the
// input is shown as text, never interpreted, and links are kept only when
// they point to http or https addresses. It knows the common subset people
// write in notes: headings, paragraphs, emphasis, inline code, fenced code
// blocks, lists, block quotes, rules and links.
package markdown

import (
	"html"
	"html/template"
	"net/url"
	"regexp"
	"strings"
)

// maxInput bounds the text rendered; PVE limits description to 8 KiB.
const maxInput = 64 << 10

// Render turns Markdown text into safe HTML.
func Render(src string) template.HTML {
	if len(src) > maxInput {
		src = src[:maxInput]
	}
	src = strings.ReplaceAll(strings.ReplaceAll(src, "\r\n", "\n"), "\r", "\n")
	var r renderer
	r.blocks(strings.Split(src, "\n"))
	return template.HTML(r.b.String()) //nolint:gosec // every piece of text went through html.EscapeString
}

type renderer struct {
	b strings.Builder
}

var (
	headingRe = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
	ulRe      = regexp.MustCompile(`^\s{0,3}[-*+]\s+(.*)$`)
	olRe      = regexp.MustCompile(`^\s{0,3}\d{1,9}[.)]\s+(.*)$`)
	ruleRe    = regexp.MustCompile(`^\s{0,3}([-*_])(\s*[-*_]){2,}\s*$`)
)

// blocks renders a sequence of lines as block elements.
func (r *renderer) blocks(lines []string) {
	for i := 0; i < len(lines); {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			i++
		case strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~"):
			fence := trimmed[:3]
			j := i + 1
			for j < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[j]), fence) {
				j++
			}
			r.b.WriteString("<pre><code>")
			r.b.WriteString(html.EscapeString(strings.Join(lines[i+1:j], "\n")))
			r.b.WriteString("</code></pre>\n")
			i = min(j+1, len(lines))
		case headingRe.MatchString(line):
			m := headingRe.FindStringSubmatch(line)
			level := string(rune('0' + len(m[1])))
			r.b.WriteString("<h" + level + ">")
			r.inline(m[2])
			r.b.WriteString("</h" + level + ">\n")
			i++
		case ruleRe.MatchString(line):
			r.b.WriteString("<hr>\n")
			i++
		case strings.HasPrefix(trimmed, ">"):
			j := i
			var inner []string
			for j < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[j]), ">") {
				t := strings.TrimPrefix(strings.TrimSpace(lines[j]), ">")
				inner = append(inner, strings.TrimPrefix(t, " "))
				j++
			}
			r.b.WriteString("<blockquote>\n")
			r.blocks(inner)
			r.b.WriteString("</blockquote>\n")
			i = j
		case ulRe.MatchString(line), olRe.MatchString(line):
			re, tag := ulRe, "ul"
			if !ulRe.MatchString(line) {
				re, tag = olRe, "ol"
			}
			r.b.WriteString("<" + tag + ">\n")
			j := i
			for j < len(lines) && re.MatchString(lines[j]) {
				r.b.WriteString("<li>")
				r.inline(re.FindStringSubmatch(lines[j])[1])
				r.b.WriteString("</li>\n")
				j++
			}
			r.b.WriteString("</" + tag + ">\n")
			i = j
		default:
			j := i
			var para []string
			for j < len(lines) && strings.TrimSpace(lines[j]) != "" && !startsBlock(lines[j]) {
				para = append(para, lines[j])
				j++
			}
			if j == i { // a line that starts a block was not consumed above
				para, j = []string{lines[i]}, i+1
			}
			r.b.WriteString("<p>")
			for k, l := range para {
				if k > 0 {
					if strings.HasSuffix(para[k-1], "  ") {
						r.b.WriteString("<br>")
					}
					r.b.WriteByte('\n')
				}
				r.inline(strings.TrimSpace(l))
			}
			r.b.WriteString("</p>\n")
			i = j
		}
	}
}

func startsBlock(line string) bool {
	t := strings.TrimSpace(line)
	return strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") || strings.HasPrefix(t, ">") ||
		headingRe.MatchString(line) || ulRe.MatchString(line) || olRe.MatchString(line) || ruleRe.MatchString(line)
}

// inline renders emphasis, code spans and links within one block's text.
func (r *renderer) inline(s string) {
	for len(s) > 0 {
		switch {
		case s[0] == '`':
			if end := strings.IndexByte(s[1:], '`'); end >= 0 {
				r.b.WriteString("<code>" + html.EscapeString(s[1:1+end]) + "</code>")
				s = s[end+2:]
				continue
			}
		case strings.HasPrefix(s, "**") || strings.HasPrefix(s, "__"):
			if end := strings.Index(s[2:], s[:2]); end > 0 {
				r.b.WriteString("<strong>")
				r.inline(s[2 : 2+end])
				r.b.WriteString("</strong>")
				s = s[end+4:]
				continue
			}
		case s[0] == '*' || s[0] == '_':
			if end := strings.IndexByte(s[1:], s[0]); end > 0 && s[1] != ' ' {
				r.b.WriteString("<em>")
				r.inline(s[1 : 1+end])
				r.b.WriteString("</em>")
				s = s[end+2:]
				continue
			}
		case s[0] == '[':
			if text, href, rest, ok := cutLink(s); ok {
				r.link(text, href)
				s = rest
				continue
			}
		case s[0] == '<':
			if end := strings.IndexByte(s, '>'); end > 0 {
				if u := s[1:end]; safeURL(u) {
					r.link(u, u)
					s = s[end+1:]
					continue
				}
			}
		case s[0] == '\\' && len(s) > 1 && strings.ContainsRune("\\`*_[]<>#", rune(s[1])):
			r.b.WriteString(html.EscapeString(s[1:2]))
			s = s[2:]
			continue
		}
		// Plain text up to the next character that may start markup.
		n := strings.IndexAny(s[1:], "`*_[<\\")
		if n < 0 {
			n = len(s) - 1
		}
		r.b.WriteString(html.EscapeString(s[:n+1]))
		s = s[n+1:]
	}
}

// cutLink reads "[text](href)" at the start of s.
func cutLink(s string) (text, href, rest string, ok bool) {
	close := strings.Index(s, "](")
	if close < 0 {
		return "", "", "", false
	}
	end := strings.IndexByte(s[close+2:], ')')
	if end < 0 {
		return "", "", "", false
	}
	text = s[1:close]
	href = strings.TrimSpace(s[close+2 : close+2+end])
	if i := strings.IndexAny(href, " \t"); i >= 0 { // drop a title
		href = href[:i]
	}
	return text, href, s[close+3+end:], true
}

// link writes an anchor when href is an http(s) address, else the text alone.
func (r *renderer) link(text, href string) {
	if !safeURL(href) {
		r.inline(text)
		return
	}
	r.b.WriteString(`<a href="` + html.EscapeString(href) + `" rel="noopener noreferrer nofollow">`)
	r.inline(text)
	r.b.WriteString("</a>")
}

// safeURL reports whether u is an absolute http or https address.
func safeURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return false
	}
	return p.Scheme == "http" || p.Scheme == "https"
}
