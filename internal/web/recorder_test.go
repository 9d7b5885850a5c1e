package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/app"
	"github.com/lxc-manager/lxc-manager/internal/config"
)

// loginWithConfig builds a dashboard from cfg (sessions in memory) and signs
// in as root through its handler, returning the recorded answer.
func loginWithConfig(t *testing.T, cfg config.Config) *httptest.ResponseRecorder {
	t.Helper()
	d, err := app.NewDashboard(context.Background(), cfg, app.Deps{MemorySessions: true})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"username": {"root"}, "realm": {"pam"}, "password": {rootPassword}}
	req, _ := http.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	d.Server.ServeHTTP(rec, req)
	return rec
}
