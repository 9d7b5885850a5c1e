package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/lxc-manager/lxc-manager/internal/lxc"
	"github.com/lxc-manager/lxc-manager/internal/session"
)

// Curated messages: the only error texts a person ever sees.
const (
	msgInvalidCredentials = "Invalid credentials"
	msgUnreachable        = "Unable to reach Proxmox server"
	msgTLS                = "The Proxmox server's certificate is not trusted, so the connection was refused. Ask your administrator to check the dashboard's TLS settings."
	msgStoreUnavailable   = "Session service unavailable. Please try again in a moment."
	msgSecondFactor       = "This account requires a second factor that LXC Manager cannot use yet. Sign in through the Proxmox VE web interface."
	msgWebAuthnOnly       = "This account's second factor is a security key (WebAuthn), which LXC Manager cannot use yet. Sign in through the Proxmox VE web interface, or ask your administrator for a TOTP app or recovery keys."
	msgYubicoOnly         = "This account's second factor is a YubiKey one-time password (Yubico), which LXC Manager cannot use yet. Sign in through the Proxmox VE web interface."
	msgInvalidCode        = "Invalid verification code"
	msgTFAExpired         = "The verification step expired. Please sign in again."
	msgSessionExpired     = "Your session has expired. Please sign in again."
	msgInternal           = "Something went wrong on our side. Please try again."
	msgForbidden          = "You don't have permission to do that."
	msgNotFound           = "Page not found."
	msgCrossOrigin        = "This request came from another site and was refused."
)

// handlerFunc is a handler that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handlerFunc: an error becomes one error page, written in
// one place (serveError).
func (s *Server) handle(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			s.serveError(w, r, err)
		}
	})
}

// userError maps an error to a status and a curated message.
func userError(err error) (int, string) {
	if errors.Is(err, session.ErrUnavailable) {
		return http.StatusServiceUnavailable, msgStoreUnavailable
	}
	if errors.Is(err, lxc.ErrSecondFactor) {
		return http.StatusUnauthorized, msgSecondFactor
	}
	var le *lxc.Error
	switch code := lxc.ErrorCode(err); code {
	case lxc.ECredentials:
		return http.StatusUnauthorized, msgInvalidCredentials
	case lxc.EUnauthorized:
		return http.StatusUnauthorized, msgSessionExpired
	case lxc.EUnreachable:
		return http.StatusBadGateway, msgUnreachable
	case lxc.ETLS:
		return http.StatusBadGateway, msgTLS
	case lxc.EUnavailable:
		return http.StatusServiceUnavailable, msgStoreUnavailable
	case lxc.EForbidden:
		return http.StatusForbidden, msgForbidden
	case lxc.ENotFound:
		return http.StatusNotFound, msgNotFound
	case lxc.EInvalid:
		if errors.As(err, &le) && le.Message != "" {
			return http.StatusBadRequest, le.Message
		}
		return http.StatusBadRequest, "The request was not valid."
	default:
		return http.StatusInternalServerError, msgInternal
	}
}

// serveError logs err with its cause and writes a page (or, for scripts, a
// short text) with the curated message and the request id.
func (s *Server) serveError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := userError(err)
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	s.log.Log(r.Context(), level, "request failed",
		"request_id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path,
		"status", status, "err", err)
	if !wantsHTML(r) {
		http.Error(w, msg, status)
		return
	}
	s.render(w, r, status, "error", errorPage{Title: http.StatusText(status), Message: msg, RequestID: requestID(r.Context())})
}

// notFound answers a path no route serves. It is no failure worth a log
// line of its own: the access line records it.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if !wantsHTML(r) {
		http.Error(w, msgNotFound, http.StatusNotFound)
		return
	}
	s.render(w, r, http.StatusNotFound, "error", errorPage{Title: "Not Found", Message: msgNotFound, RequestID: requestID(r.Context())})
}

func (s *Server) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	s.log.Warn("cross-origin request refused", "request_id", requestID(r.Context()),
		"method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"))
	if !wantsHTML(r) {
		http.Error(w, msgCrossOrigin, http.StatusForbidden)
		return
	}
	s.render(w, r, http.StatusForbidden, "error", errorPage{Title: "Forbidden", Message: msgCrossOrigin, RequestID: requestID(r.Context())})
}

// wantsHTML reports whether the request comes from a person's browser
// navigating (as opposed to a script that wants a status code).
func wantsHTML(r *http.Request) bool {
	if r.Header.Get("HX-Request") != "" {
		return false
	}
	if m := r.Header.Get("Sec-Fetch-Mode"); m != "" && m != "navigate" {
		return false
	}
	accept := r.Header.Get("Accept")
	return accept == "" || containsToken(accept, "text/html")
}
