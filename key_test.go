package synclayer_test

import (
	"strings"
	"testing"

	"synclayer"
)

func TestRole_Allows(t *testing.T) {
	v, o, a := synclayer.RoleViewer, synclayer.RoleOperator, synclayer.RoleAdmin
	for _, tc := range []struct {
		role, need synclayer.Role
		want       bool
	}{
		{v, v, true}, {v, o, false}, {v, a, false},
		{o, v, true}, {o, o, true}, {o, a, false},
		{a, v, true}, {a, o, true}, {a, a, true},
		{"root", v, false}, {a, "root", false}, {"", "", false},
	} {
		if got := tc.role.Allows(tc.need); got != tc.want {
			t.Errorf("%q.Allows(%q) = %v, want %v", tc.role, tc.need, got, tc.want)
		}
	}
}

func TestNewAPIKey(t *testing.T) {
	k, secret, err := synclayer.NewAPIKey(synclayer.RoleViewer, "dash", t0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "sl_") || len(secret) != 3+52 || strings.ToLower(secret) != secret {
		t.Errorf("secret %q: want sl_ and 52 lowercase base32 characters", secret)
	}
	if k.Hash != synclayer.HashKey(secret) || k.Hash == secret || !strings.HasPrefix(secret, k.Prefix) || len(k.Prefix) != 11 {
		t.Errorf("key %+v does not hold the secret's hash and prefix", k)
	}
	if _, other, _ := synclayer.NewAPIKey(synclayer.RoleViewer, "", t0); other == secret {
		t.Error("two keys are the same")
	}
	if _, _, err := synclayer.NewAPIKey("root", "", t0); synclayer.ErrorCode(err) != synclayer.EINVALID {
		t.Errorf("unknown role: %v, want EINVALID", err)
	}
}
