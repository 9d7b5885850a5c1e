package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/app/apptest"
)

func benchLogin(b *testing.B, st *apptest.Stack, c *http.Client) int {
	b.Helper()
	form := url.Values{"username": {"root"}, "realm": {"pam"}, "password": {"proxmox"}}
	req, _ := http.NewRequest(http.MethodPost, st.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = drain(resp)
	return resp.StatusCode
}

func drain(resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(io.Discard, resp.Body)
}
