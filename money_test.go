package synclayer_test

import (
	"encoding/json"
	"testing"

	"synclayer"
)

func TestMoney_Parse(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"409.94", "409.94"}, {"0199.65", "199.65"}, {"-0.00", "0.00"}, {"-5", "-5"}, {"1e3", "1000"},
		{"1.5e-3", "0.0015"}, {"2.50E+1", "25.0"}, {"12345678901234567.89", "12345678901234567.89"}, {" 7 ", "7"}, {"", ""},
	} {
		m, err := synclayer.ParseMoney(tc.in)
		if err != nil || m.String() != tc.want {
			t.Errorf("ParseMoney(%q) = %q, %v; want %q", tc.in, m, err, tc.want)
		}
	}
	for _, in := range []string{"abc", "1.", ".5", "1e", "1e999", "--1", "1,5", "0x10", "1e+-2", "NaN"} {
		if _, err := synclayer.ParseMoney(in); synclayer.ErrorCode(err) != synclayer.EINVALID {
			t.Errorf("ParseMoney(%q): err %v, want EINVALID", in, err)
		}
	}
}

func TestMoney_Arithmetic(t *testing.T) {
	m := synclayer.MustMoney
	for _, tc := range []struct{ got, want string }{
		{m("409.94").Sub(m("409.94")).String(), "0.00"},
		{m("0.1").Add(m("0.2")).String(), "0.3"}, // 0.30000000000000004 in float64
		{m("409.94").Sub(m("41.94")).String(), "368.00"},
		{m("5").Sub(m("7.5")).String(), "-2.5"},
		{synclayer.Money{}.Add(m("3.10")).String(), "3.10"},
		{m("-2.5").Abs().String(), "2.5"},
		{m("99999999999999999999.99").Add(m("0.01")).String(), "100000000000000000000.00"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
	if m("9.9").Cmp(m("9.90")) != 0 || m("1").Cmp(m("0.99")) != 1 || (synclayer.Money{}).Sign() != 0 {
		t.Error("Cmp or Sign")
	}
}

func TestMoney_JSON(t *testing.T) {
	var v struct{ A, B, C synclayer.Money }
	if err := json.Unmarshal([]byte(`{"A": 409.94, "B": "19.90", "C": null}`), &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	if string(out) != `{"A":409.94,"B":19.90,"C":null}` {
		t.Errorf("round trip %s", out)
	}
	if err := json.Unmarshal([]byte(`{"A": "12,50"}`), &v); err == nil {
		t.Error("a comma decimal was accepted")
	}
}
