package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"synclayer"
)

// testContactSearch checks that SearchContacts matches part of an email,
// a first or last name or both, ignoring case; that % and _ match only
// themselves; and that it pages newest first.
func testContactSearch(t *testing.T, s synclayer.Store) {
	ctx := context.Background()
	save := func(email, first, last string, at time.Time) string {
		t.Helper()
		c := &synclayer.Contact{SourceIDs: map[string]string{"shopify": email}, UpdatedAt: at}
		fields := map[string]json.RawMessage{"email": json.RawMessage(fmt.Sprintf("%q", email))}
		if first != "" {
			fields[synclayer.FieldFirstName] = json.RawMessage(fmt.Sprintf("%q", first))
		}
		if last != "" {
			fields[synclayer.FieldLastName] = json.RawMessage(fmt.Sprintf("%q", last))
		}
		synclayer.Merge(c, &synclayer.CustomerChange{SourceID: email, Fields: fields}, synclayer.MergeContext{Source: "shopify", At: at})
		c.UpdatedAt = at
		mustTx(t, s, func(tx synclayer.Tx) error { return tx.SaveContact(ctx, c) })
		return c.ID
	}
	ann := save("ann@example.com", "Ann", "Lee", t0)
	bob := save("bob.smith@example.com", "Robert", "Smith", t0.Add(time.Minute))
	und := save("carol@shop.test", "Carol", "Under_Score", t0.Add(2*time.Minute))
	save("dave@shop.test", "Dave", "Underxscore", t0.Add(3*time.Minute))

	for q, want := range map[string][]string{
		"EXAMPLE.com":  {bob, ann},
		"smith":        {bob},
		"robert SMITH": {bob},
		"lee":          {ann},
		"ann@":         {ann},
		"der_sc":       {und},
		"%":            nil,
		"nobody":       nil,
		"  Carol  ":    {und},
	} {
		got, err := s.SearchContacts(ctx, q, 10, 0)
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		ids := make([]string, len(got))
		for i, c := range got {
			ids[i] = c.ID
		}
		if !slices.Equal(ids, want) {
			t.Errorf("search %q: %v, want %v", q, ids, want)
		}
	}
	for offset, want := range map[int][]string{0: {bob}, 1: {ann}, 2: nil} {
		got, err := s.SearchContacts(ctx, "example", 1, offset)
		if err != nil || len(got) != len(want) || (len(want) == 1 && got[0].ID != want[0]) {
			t.Errorf("page at %d: %v, %v; want %v", offset, got, err, want)
		}
	}
}
