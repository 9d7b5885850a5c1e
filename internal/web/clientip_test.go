package web

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestRealClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	cases := []struct {
		name, remote, xff string
		trusted           []netip.Prefix
		want              string
	}{
		{"no proxy configured", "203.0.113.5:4000", "198.51.100.1", nil, "203.0.113.5"},
		{"untrusted peer's header ignored", "203.0.113.5:4000", "198.51.100.1", trusted, "203.0.113.5"},
		{"trusted proxy", "10.0.0.2:4000", "198.51.100.1", trusted, "198.51.100.1"},
		{"forged left part", "10.0.0.2:4000", "1.2.3.4, 198.51.100.1", trusted, "198.51.100.1"},
		{"proxy chain", "10.0.0.2:4000", "198.51.100.1, 10.0.0.3", trusted, "198.51.100.1"},
		{"all trusted", "10.0.0.2:4000", "10.0.0.9", trusted, "10.0.0.2"},
		{"garbage", "10.0.0.2:4000", "not-an-ip", trusted, "10.0.0.2"},
		{"no header", "[::1]:4000", "", trusted, "::1"},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := realClientIP(r, tc.trusted); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestSessionCookieValue(t *testing.T) {
	cases := []struct {
		headers []string
		want    string
		ok      bool
	}{
		{nil, "", false},
		{[]string{"lxc-session=abc"}, "abc", true},
		{[]string{"a=1; lxc-session=abc; b=2"}, "abc", true},
		{[]string{"a=1", "lxc-session=xyz"}, "xyz", true},
		{[]string{`lxc-session="q"`}, "q", true},
		{[]string{"lxc-session="}, "", false},
		{[]string{"xlxc-session=abc; lxc-sessionx=def"}, "", false},
		{[]string{";;; =; lxc-session"}, "", false},
		{[]string{"__Host-lxc-session=abc"}, "", false},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		for _, h := range tc.headers {
			r.Header.Add("Cookie", h)
		}
		got, ok := sessionCookieValue(r, "lxc-session")
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q: %q, %v", tc.headers, got, ok)
		}
	}
}
