package notify_test

import (
	"testing"

	"synclayer/notify"
)

func TestMaskValues(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`invalid email: "ann smith@example.com" is not a valid email address: it contains a space`: `invalid email: "…" is not a valid email address: it contains a space`,
		`"Total": "oops" is not a decimal amount: write it like 199.65`:                            `"Total": "…" is not a decimal amount: write it like 199.65`,
		`"Accepts Email Marketing": must be yes or no, not "perhaps"`:                              `"Accepts Email Marketing": must be yes or no, not "…"`,
		`email: "Ann@Example.com" is taken`:                                                        `email: "…" is taken`,
		`cannot sync a customer with neither email nor phone`:                                      `cannot sync a customer with neither email nor phone`,
	} {
		if got := notify.MaskValues(in); got != want {
			t.Errorf("MaskValues(%s) = %s, want %s", in, got, want)
		}
	}
}
