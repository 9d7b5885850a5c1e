package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// renderer holds the parsed pages and the asset fingerprints.
type renderer struct {
	pages  map[string]*template.Template
	assets map[string]string // file name -> content hash
	// layout renders the shared layout without html/template's per-action
	// cost (layout.go); nil renders it through the templates.
	layout *fastLayout
}

func newRenderer() (*renderer, error) {
	rd := &renderer{pages: map[string]*template.Template{}, assets: map[string]string{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		rd.assets[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: hash assets: %w", err)
	}
	funcs := template.FuncMap{
		"asset":    rd.assetURL,
		"bytes":    formatBytes,
		"percent":  formatPercent,
		"duration": formatDuration,
		"input":    newInput,
		"field":    newField,
		"boolText": boolText,
		"netData":  func(v containerView, f settingsForms) netFormData { return netFormData{View: v, Forms: f} },
		"netRowData": func(prefix string, row netForm) netRowFields {
			return netRowFields{Prefix: prefix, Row: row}
		},
	}
	// Every page is parsed with the shared layout at start-up, so a broken
	// template stops the server before it serves anything.
	for _, name := range []string{"login", "tfa", "containers", "container", "confirm", "task", "sessions", "error", "console",
		"snapconfirm", "backupconfirm", "create", "manage", "bulk"} {
		files := []string{"templates/layout.html", "templates/fields.html", "templates/" + name + ".html"}
		if name == "container" {
			files = append(files, "templates/settings.html")
			files = append(files, "templates/snapshots.html", "templates/backups.html")
			files = append(files, "templates/ctmanage.html")
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, files...)
		if err != nil {
			return nil, fmt.Errorf("web: parse template %s: %w", name, err)
		}
		rd.pages[name] = t
	}
	fl, err := newFastLayout(funcs, rd.pages["error"])
	if err != nil {
		return nil, err
	}
	rd.layout = fl
	return rd, nil
}

// assetURL returns the versioned URL of a static file. An unknown name fails
// the render, so a typo shows up in the first test that renders the page.
func (rd *renderer) assetURL(name string) (string, error) {
	h, ok := rd.assets[name]
	if !ok {
		return "", fmt.Errorf("web: no static asset %q", name)
	}
	return "/static/" + name + "?v=" + h, nil
}

// pageData is what every page template receives: the page's own data plus
// what the layout needs.
type pageData struct {
	Nonce     string
	User      string // signed-in userid, empty on public pages
	RequestID string
	Nav       string // the sidebar entry of this page: "containers" or "sessions"
	Page      any
}

// navOf is the sidebar entry a path belongs to, marked aria-current.
func navOf(path string) string {
	switch {
	case path == "/" || strings.HasPrefix(path, "/containers/") || strings.HasPrefix(path, "/tasks/"):
		return "containers"
	case path == "/sessions":
		return "sessions"
	}
	return ""
}

// render executes a page into a buffer and writes it with status; a template
// error becomes a plain 500 so a half page is never sent.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, page any) {
	t, ok := s.pages.pages[name]
	if !ok {
		s.log.Error("unknown page template", "name", name)
		http.Error(w, msgInternal, http.StatusInternalServerError)
		return
	}
	data := pageData{Nonce: cspNonce(r.Context()), RequestID: requestID(r.Context()), Nav: navOf(r.URL.Path), Page: page}
	if sess, ok := currentSession(r.Context()); ok {
		data.User = sess.Username
	}
	buf := getBuf()
	defer putBuf(buf)
	if err := s.pages.execute(buf, t, data); err != nil {
		s.log.Error("render page", "name", name, "request_id", data.RequestID, "err", err)
		http.Error(w, msgInternal, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h["Content-Type"] = htmlContentType
	h["Cache-Control"] = noStore
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// Header values shared by every response that sets them (never modified:
// Header.Set replaces a slice, Header.Add appends beyond its capacity).
var (
	htmlContentType = []string{"text/html; charset=utf-8"}
	noStore         = []string{"no-store"}
)

// verifyFastLayout, set by the package's tests, makes every render also
// execute the layout through the templates and fail unless the bytes are
// the same.
var verifyFastLayout bool

// errFastLayout means the fast layout rendered other bytes than the
// templates (only checked under verifyFastLayout).
var errFastLayout = errors.New("web: the fast layout differs from the template")

// execute renders page t with data: through the fast layout when it has
// the variant, else through the templates.
func (rd *renderer) execute(buf *bytes.Buffer, t *template.Template, data pageData) error {
	if rd.layout != nil {
		start := buf.Len()
		ok, err := false, error(nil)
		if t == rd.pages["error"] {
			ok = rd.layout.executeError(buf, data)
		}
		if !ok {
			ok, err = rd.layout.execute(buf, t, data)
		}
		if ok {
			if err == nil && verifyFastLayout {
				var slow bytes.Buffer
				if err := t.ExecuteTemplate(&slow, "layout", data); err != nil {
					return err
				}
				if !bytes.Equal(slow.Bytes(), buf.Bytes()[start:]) {
					return fmt.Errorf("%w: page %s", errFastLayout, t.Name())
				}
			}
			return err
		}
	}
	return t.ExecuteTemplate(buf, "layout", data)
}

// fragment executes one named template of a page (e.g. the live part of
// the container list) into w.
func (rd *renderer) fragment(w *bytes.Buffer, page, name string, data any) error {
	t, ok := rd.pages[page]
	if !ok {
		return fmt.Errorf("web: no page %q", page)
	}
	return t.ExecuteTemplate(w, name, data)
}

// static serves the embedded assets. A request carrying the current content
// hash may be cached for a year.
func (s *Server) static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static") // "static" exists: it is embedded above.
	files := http.FileServerFS(sub)
	return http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := path.Clean(r.URL.Path)
		if h, ok := s.pages.assets[name]; ok && r.URL.Query().Get("v") == h {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	}))
}
