package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
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
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.Error("render page", "name", name, "request_id", data.RequestID, "err", err)
		http.Error(w, msgInternal, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
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
