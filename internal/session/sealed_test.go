package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lxc-manager/lxc-manager/internal/session"
	"github.com/lxc-manager/lxc-manager/internal/testutil/redistest"
)

const (
	secretA = "secret-A-0123456789-abcdefghijklmnopq"
	secretB = "secret-B-0123456789-abcdefghijklmnopq"
)

func mustCodec(t *testing.T, secret string, previous ...string) *session.Codec {
	t.Helper()
	c, err := session.NewCodec(secret, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSealFieldBindsSessionAndField(t *testing.T) {
	c := mustCodec(t, secretA)
	sealed, err := c.SealField("id-1", "ticket", "PVE:root@pam:AAAA::sig")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "PVE:") || strings.Contains(sealed, "root@pam") {
		t.Fatalf("sealed value shows the ticket: %q", sealed)
	}
	if got, err := c.OpenField("id-1", "ticket", sealed); err != nil || got != "PVE:root@pam:AAAA::sig" {
		t.Fatalf("OpenField = %q, %v", got, err)
	}
	cases := []struct {
		name  string
		codec *session.Codec
		id    string
		field string
		value string
	}{
		{"another session id", c, "id-2", "ticket", sealed},
		{"another field", c, "id-1", "csrfToken", sealed},
		{"another secret", mustCodec(t, secretB), "id-1", "ticket", sealed},
		{"tampered", c, "id-1", "ticket", sealed[:len(sealed)-2] + "AA"},
		{"plain text", c, "id-1", "ticket", "PVE:root@pam:AAAA::sig"},
	}
	for _, tc := range cases {
		if got, err := tc.codec.OpenField(tc.id, tc.field, tc.value); !errors.Is(err, session.ErrSealedField) {
			t.Errorf("%s: OpenField = %q, %v; want ErrSealedField", tc.name, got, err)
		}
	}
}

func TestSecretRotation(t *testing.T) {
	old := mustCodec(t, secretA)
	rotated := mustCodec(t, secretB, secretA)
	cookie, _ := old.Encode("sid")
	field, _ := old.SealField("sid", "ticket", "T")
	if id, err := rotated.Decode(cookie); err != nil || id != "sid" {
		t.Errorf("cookie sealed with the previous secret: %q, %v", id, err)
	}
	if v, err := rotated.OpenField("sid", "ticket", field); err != nil || v != "T" {
		t.Errorf("field sealed with the previous secret: %q, %v", v, err)
	}
	// New values use the new secret only.
	fresh, _ := rotated.Encode("sid")
	if _, err := old.Decode(fresh); !errors.Is(err, session.ErrInvalidCookie) {
		t.Errorf("a value sealed after rotation, opened with the old secret alone: %v, want ErrInvalidCookie", err)
	}
	// Once the previous secret is dropped, its values no longer open.
	if _, err := mustCodec(t, secretB).Decode(cookie); !errors.Is(err, session.ErrInvalidCookie) {
		t.Errorf("old cookie after the previous secret was removed: %v, want ErrInvalidCookie", err)
	}
}

func TestSealedStoreKeepsNoPlainSecretsInRedis(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	codec := mustCodec(t, secretA)
	store := session.Sealed(session.NewRedisStore(rdb), codec)
	ctx := context.Background()
	id, _ := session.NewID()
	in := session.Session{ID: id, Ticket: "PVE:root@pam:6752A1B0::c2lnbmF0dXJl", CSRFToken: "6752A1B0:dG9rZW4", Username: "root@pam", Realm: "pam",
		ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}
	if err := store.Save(ctx, in, time.Hour); err != nil {
		t.Fatal(err)
	}
	raw := rdb.Get(ctx, session.Key(id)).Val()
	var stored map[string]any
	if err := json.Unmarshal([]byte(raw), &stored); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ticket", "csrfToken", "username", "realm", "expiresAt"} {
		if _, ok := stored[k]; !ok {
			t.Errorf("field %q missing", k)
		}
	}
	if strings.Contains(raw, in.Ticket) || strings.Contains(raw, in.CSRFToken) || strings.Contains(raw, "PVE:") {
		t.Errorf("Redis holds a usable secret: %s", raw)
	}
	loaded, err := store.Load(ctx, id)
	if err != nil || !loaded.Sealed() || loaded.Ticket == in.Ticket {
		t.Fatalf("Load = %+v, %v; want the secrets still sealed", loaded, err)
	}
	out, err := store.Open(loaded)
	if err != nil || out.Sealed() || out.Ticket != in.Ticket || out.CSRFToken != in.CSRFToken || out.Username != "root@pam" {
		t.Fatalf("Open = %+v, %v", out, err)
	}
	// Saving a still-sealed session does not seal twice.
	if err := store.Save(ctx, loaded, time.Hour); err != nil {
		t.Fatal(err)
	}
	if again, err := store.Load(ctx, id); err != nil {
		t.Fatal(err)
	} else if o, err := store.Open(again); err != nil || o.Ticket != in.Ticket {
		t.Fatalf("after re-saving a sealed session: %+v, %v", o, err)
	}

	// A session's sealed values copied into another session do not open.
	other, _ := session.NewID()
	rdb.Set(ctx, session.Key(other), raw, time.Hour)
	loadOpen := func(st *session.SealedStore, id string) (session.Session, error) {
		s, err := st.Load(ctx, id)
		if err != nil {
			return s, err
		}
		return st.Open(s)
	}
	if _, err := loadOpen(store, other); !errors.Is(err, session.ErrNotFound) || !errors.Is(err, session.ErrSealedField) {
		t.Errorf("copied session: %v", err)
	}
	// Another secret cannot use what is stored.
	if _, err := loadOpen(session.Sealed(session.NewRedisStore(rdb), mustCodec(t, secretB)), id); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("other secret: %v", err)
	}
	// The previous secret still reads it during a rotation.
	rotated := session.Sealed(session.NewRedisStore(rdb), mustCodec(t, secretB, secretA))
	if got, err := loadOpen(rotated, id); err != nil || got.Ticket != in.Ticket {
		t.Errorf("rotation: %+v, %v", got, err)
	}
}

func TestSealedStoreUpdateSeals(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	store := session.Sealed(session.NewRedisStore(rdb), mustCodec(t, secretA))
	ctx := context.Background()
	id, _ := session.NewID()
	in := session.Session{ID: id, Ticket: "PVE:root@pam:6752A1B0::c2lnbmF0dXJl", CSRFToken: "6752A1B0:dG9rZW4", Username: "root@pam", Realm: "pam",
		ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}
	if err := store.Save(ctx, in, time.Hour); err != nil {
		t.Fatal(err)
	}
	loaded, err := store.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// A still-sealed session (a touch) is not sealed twice.
	if err := store.Update(ctx, loaded, session.KeepTTL); err != nil {
		t.Fatal(err)
	}
	opened, err := store.Load(ctx, id)
	if err == nil {
		opened, err = store.Open(opened)
	}
	if err != nil || opened.Ticket != in.Ticket {
		t.Fatalf("after updating a sealed session: ticket kept %v, %v", opened.Ticket == in.Ticket, err)
	}
	// An opened session with a new ticket (a renewal) is sealed again.
	opened.Ticket, opened.CSRFToken = "PVE:root@pam:6752B000::bmV3", "6752B000:bmV3"
	if err := store.Update(ctx, opened, time.Hour); err != nil {
		t.Fatal(err)
	}
	if raw := rdb.Get(ctx, session.Key(id)).Val(); strings.Contains(raw, "PVE:") || strings.Contains(raw, opened.CSRFToken) {
		t.Errorf("Redis holds a usable secret after Update: %s", raw)
	}
	again, err := store.Load(ctx, id)
	if err == nil {
		again, err = store.Open(again)
	}
	if err != nil || again.Ticket != opened.Ticket || again.CSRFToken != opened.CSRFToken {
		t.Fatalf("after a renewal: new ticket stored %v, %v", again.Ticket == opened.Ticket, err)
	}
	// A deleted session stays deleted.
	if err := store.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := store.Update(ctx, opened, time.Hour); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Update after Delete = %v, want ErrNotFound", err)
	}
	if rdb.Exists(ctx, session.Key(id)).Val() != 0 {
		t.Error("Update recreated a deleted session")
	}
}
