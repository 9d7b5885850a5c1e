package session_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/lxc-manager/lxc-manager/internal/session"
)

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id, err := session.NewID()
		if err != nil {
			t.Fatalf("NewID: %v", err)
		}
		if len(id) != 43 {
			t.Fatalf("NewID = %q (%d characters), want 43", id, len(id))
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(id)
		if err != nil || len(raw) != 32 {
			t.Fatalf("NewID = %q: decodes to %d bytes, %v; want 32 bytes", id, len(raw), err)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
	}
}

func TestKey(t *testing.T) {
	tests := []struct{ id, want string }{
		{id: "abc", want: "session:abc"},
		{id: "", want: "session:"},
		{id: "a:b", want: "session:a:b"},
	}
	for _, tt := range tests {
		if got := session.Key(tt.id); got != tt.want {
			t.Errorf("Key(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestUnavailableError(t *testing.T) {
	cause := &net.OpError{Op: "dial", Net: "tcp", Err: io.EOF}
	var err error = &session.UnavailableError{Op: "load", Err: cause}
	tests := []struct {
		name   string
		target error
		want   bool
	}{
		{name: "ErrUnavailable", target: session.ErrUnavailable, want: true},
		{name: "cause", target: io.EOF, want: true},
		{name: "ErrNotFound", target: session.ErrNotFound, want: false},
		{name: "ErrInvalid", target: session.ErrInvalid, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", err, tt.target, got, tt.want)
			}
		})
	}
	var ue *session.UnavailableError
	if !errors.As(err, &ue) || ue.Op != "load" {
		t.Errorf("errors.As: %v, op %q", ue, ue.Op)
	}
	if errors.Unwrap(err) != cause {
		t.Errorf("Unwrap = %v, want the cause", errors.Unwrap(err))
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Error("errors.As does not reach the *net.OpError cause")
	}
}

func TestSessionFormattingRedactsSecrets(t *testing.T) {
	s := newSession(t)
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("signed in", "session", s)
	var jsonLogged bytes.Buffer
	slog.New(slog.NewJSONHandler(&jsonLogged, nil)).Info("signed in", "session", s)

	outputs := map[string]string{
		"%v":  fmt.Sprintf("%v", s),
		"%+v": fmt.Sprintf("%+v", s),
		"%#v": fmt.Sprintf("%#v", s),
		//lint:ignore S1025 the point is to check what %s prints
		"%s":          fmt.Sprintf("%s", s),
		"pointer %v":  fmt.Sprintf("%v", &s),
		"slog text":   logged.String(),
		"slog json":   jsonLogged.String(),
		"String()":    s.String(),
		"in a slice":  fmt.Sprint([]session.Session{s}),
		"in a struct": fmt.Sprintf("%+v", struct{ S session.Session }{s}),
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			for _, secret := range []string{s.ID, s.Ticket, s.CSRFToken} {
				if strings.Contains(out, secret) {
					t.Errorf("output leaks a secret: %s", out)
				}
			}
			if !strings.Contains(out, "root@pam") {
				t.Errorf("output lacks the username: %s", out)
			}
		})
	}
}
