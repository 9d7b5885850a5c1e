package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"
)

// The layout is the same on every page but for a few values: the title,
// the CSP nonce, the page's own head and body, the user's name, and which
// sidebar entry is current. Executing it through html/template costs a
// reflective call for every action and escaper on every request, most of a
// small page's rendering time. So it is executed once at start-up, per
// variant (signed in or not; each sidebar entry), with marker strings in
// place of the values, and cut at the markers. A request then writes the
// parts, the values escaped as html/template escapes them in their places
// (htmlEscape), and the page's "title", "head" and "body" templates.
// TestFastLayoutMatchesTemplate checks that the bytes are the same as
// executing "layout" for every page.

// slot says what goes between two parts of the layout.
type slot int

const (
	slotNone slot = iota
	slotTitle
	slotNonce
	slotHead
	slotUser
	slotBody
	// The error page's own values (errorPage).
	slotErrTitle
	slotErrMessage
	slotErrRequestID
)

// Markers: letters only, so no escaper changes them and they survive in
// every context the layout puts values in.
var slotMarkers = map[string]slot{
	"QXLAYOUTTITLEQX": slotTitle,
	"QXLAYOUTNONCEQX": slotNonce,
	"QXLAYOUTHEADQX":  slotHead,
	"QXLAYOUTUSERQX":  slotUser,
	"QXLAYOUTBODYQX":  slotBody,
	"QXERRTITLEQX":    slotErrTitle,
	"QXERRMESSAGEQX":  slotErrMessage,
	"QXERRREQUESTQX":  slotErrRequestID,
}

// layoutPart is static text followed by a slot.
type layoutPart struct {
	text string
	slot slot
}

// layoutKey picks a variant of the layout.
type layoutKey struct {
	signed bool
	nav    string
}

// fastLayout holds the layout's variants, and the whole error page's
// (the 404, 403 and 503 pages: the layout around errorPage's three
// strings).
type fastLayout struct {
	variants      map[layoutKey][]layoutPart
	errorVariants map[layoutKey][]layoutPart
}

// layoutNavs are the values of pageData.Nav the layout tells apart.
var layoutNavs = []string{"", "containers", "sessions"}

// newFastLayout executes the layout with markers for each variant. The
// layout must show the title, nonce, head and body exactly once, and the
// user once when signed in, in that order; otherwise it returns an error
// and pages are rendered the slow way.
func newFastLayout(funcs template.FuncMap, errorPageT *template.Template) (*fastLayout, error) {
	skel, err := template.New("skeleton").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err == nil {
		_, err = skel.Parse(`{{define "title"}}QXLAYOUTTITLEQX{{end}}{{define "head"}}QXLAYOUTHEADQX{{end}}{{define "body"}}QXLAYOUTBODYQX{{end}}`)
	}
	if err != nil {
		return nil, fmt.Errorf("web: fast layout: %w", err)
	}
	fl := &fastLayout{variants: map[layoutKey][]layoutPart{}, errorVariants: map[layoutKey][]layoutPart{}}
	for _, signed := range []bool{false, true} {
		for _, nav := range layoutNavs {
			data := pageData{Nonce: "QXLAYOUTNONCEQX", Nav: nav}
			want := []slot{slotTitle, slotNonce, slotHead, slotBody}
			if signed {
				data.User = "QXLAYOUTUSERQX"
				want = []slot{slotTitle, slotNonce, slotHead, slotUser, slotBody}
			}
			var buf bytes.Buffer
			if err := skel.ExecuteTemplate(&buf, "layout", data); err != nil {
				return nil, fmt.Errorf("web: fast layout: %w", err)
			}
			parts := cutAtMarkers(buf.String())
			var got []slot
			for _, p := range parts {
				if p.slot != slotNone {
					got = append(got, p.slot)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				return nil, fmt.Errorf("web: fast layout: the layout shows %v, not %v", got, want)
			}
			fl.variants[layoutKey{signed, nav}] = parts

			// The error page: every value a marker.
			data.Page = errorPage{Title: "QXERRTITLEQX", Message: "QXERRMESSAGEQX", RequestID: "QXERRREQUESTQX"}
			buf.Reset()
			if err := errorPageT.ExecuteTemplate(&buf, "layout", data); err != nil {
				return nil, fmt.Errorf("web: fast layout: error page: %w", err)
			}
			fl.errorVariants[layoutKey{signed, nav}] = cutAtMarkers(buf.String())
		}
	}
	return fl, nil
}

// cutAtMarkers splits s into text and the slots the markers stand for.
func cutAtMarkers(s string) []layoutPart {
	var parts []layoutPart
	for {
		at, which := -1, ""
		for m := range slotMarkers {
			if i := strings.Index(s, m); i >= 0 && (at < 0 || i < at) {
				at, which = i, m
			}
		}
		if at < 0 {
			return append(parts, layoutPart{text: s})
		}
		parts = append(parts, layoutPart{text: s[:at], slot: slotMarkers[which]})
		s = s[at+len(which):]
	}
}

// executeError writes the error page for data (whose Page is an
// errorPage) into buf, without templates. It reports false, having written
// nothing, for a variant it does not have or an error page without a
// request id (the template leaves that line out).
func (fl *fastLayout) executeError(buf *bytes.Buffer, data pageData) bool {
	ep, ok := data.Page.(errorPage)
	if !ok || ep.RequestID == "" {
		return false
	}
	parts, ok := fl.errorVariants[layoutKey{data.User != "", data.Nav}]
	if !ok {
		return false
	}
	for _, p := range parts {
		buf.WriteString(p.text)
		switch p.slot {
		case slotNonce:
			htmlEscape(buf, data.Nonce)
		case slotUser:
			htmlEscape(buf, data.User)
		case slotErrTitle:
			htmlEscape(buf, ep.Title)
		case slotErrMessage:
			htmlEscape(buf, ep.Message)
		case slotErrRequestID:
			htmlEscape(buf, ep.RequestID)
		}
	}
	return true
}

// execute writes the page t with data into buf. It reports false, having
// written nothing, when data asks for a variant it does not have.
func (fl *fastLayout) execute(buf *bytes.Buffer, t *template.Template, data pageData) (bool, error) {
	parts, ok := fl.variants[layoutKey{data.User != "", data.Nav}]
	if !ok {
		return false, nil
	}
	for _, p := range parts {
		buf.WriteString(p.text)
		var err error
		switch p.slot {
		case slotTitle:
			err = t.ExecuteTemplate(buf, "title", data)
		case slotNonce:
			htmlEscape(buf, data.Nonce)
		case slotHead:
			err = t.ExecuteTemplate(buf, "head", data)
		case slotUser:
			htmlEscape(buf, data.User)
		case slotBody:
			err = t.ExecuteTemplate(buf, "body", data)
		}
		if err != nil {
			return true, err
		}
	}
	return true, nil
}

// htmlEscape writes s as html/template writes a string in HTML text, in
// RCDATA and in a quoted attribute value: NUL becomes U+FFFD, and " & ' +
// < > become character references.
func htmlEscape(w io.StringWriter, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case 0:
			rep = "\uFFFD"
		case '"':
			rep = "&#34;"
		case '&':
			rep = "&amp;"
		case '\'':
			rep = "&#39;"
		case '+':
			rep = "&#43;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		default:
			continue
		}
		_, _ = w.WriteString(s[last:i])
		_, _ = w.WriteString(rep)
		last = i + 1
	}
	_, _ = w.WriteString(s[last:])
}

// bufPool recycles render buffers up to maxPooledBuf.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBuf = 64 << 10

func getBuf() *bytes.Buffer { return bufPool.Get().(*bytes.Buffer) }

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuf {
		b.Reset()
		bufPool.Put(b)
	}
}
