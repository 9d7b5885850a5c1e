package web

import (
	"net/http"
	"time"
)

// Cookie names, without the __Host- prefix they carry when cookies are
// Secure (cookieName).
const (
	// sessionCookie holds only the sealed session id.
	sessionCookie = "lxc-session"
	// deviceCookie marks a browser that signed in before (device.go).
	deviceCookie = "lxc-device"
	// tfaCookie binds a pending second step to the browser that started it
	// (tfa.go).
	tfaCookie = "lxc-tfa"
)

// hostPrefix makes a browser accept a cookie only when it is Secure, set
// over HTTPS, has Path=/ and no Domain: a cookie no sibling or parent
// domain, and no plain-HTTP page, can plant or overwrite.
const hostPrefix = "__Host-"

// cookieName is the name of one of the dashboard's cookies: with the
// __Host- prefix when cookies are Secure, plain for HTTP development.
// Every read and write of a cookie goes through it.
// The names are constants, so the session lookup on every request does
// not build a string.
func (s *Server) cookieName(base string) string {
	if !s.cfg.CookieSecure {
		return base
	}
	switch base {
	case sessionCookie:
		return hostPrefix + sessionCookie
	case deviceCookie:
		return hostPrefix + deviceCookie
	case tfaCookie:
		return hostPrefix + tfaCookie
	}
	return hostPrefix + base
}

// writeCookie sets one of the dashboard's cookies: HttpOnly, SameSite
// Strict, Path=/ and no Domain (as the __Host- prefix demands), Secure per
// configuration. A maxAge below zero deletes it.
func (s *Server) writeCookie(w http.ResponseWriter, base, value string, maxAge time.Duration) {
	ck := &http.Cookie{
		Name:     s.cookieName(base),
		Value:    value,
		Path:     "/",
		MaxAge:   int(maxAge / time.Second),
		HttpOnly: true,
		Secure:   s.cfg.CookieSecure,
		SameSite: http.SameSiteStrictMode,
	}
	if maxAge < 0 {
		ck.Value, ck.MaxAge = "", -1
	}
	http.SetCookie(w, ck)
}

func (s *Server) setCookie(w http.ResponseWriter, sealed string) {
	s.writeCookie(w, sessionCookie, sealed, s.cfg.SessionTTL)
}

func (s *Server) clearCookie(w http.ResponseWriter) {
	s.writeCookie(w, sessionCookie, "", -1)
}
