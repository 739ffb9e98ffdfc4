package fakeslack

import (
	"encoding/json"
	"testing"
)

func FuzzFormFromJSON(f *testing.F) {
	f.Add([]byte(`{"channel":"C1","text":"hi","blocks":[{"type":"divider"}],"n":1,"b":true,"z":null}`))
	f.Add([]byte(``))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"a":"\u00e9\n"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		form, err := formFromJSON(body)
		if err != nil {
			return
		}
		var fields map[string]any
		if json.Unmarshal(body, &fields) != nil {
			return // empty body
		}
		for key, value := range fields {
			if value == nil {
				if form.Has(key) {
					t.Errorf("null field %q kept", key)
				}
				continue
			}
			if text, ok := value.(string); ok && form.Get(key) != text {
				t.Errorf("field %q = %q, want %q", key, form.Get(key), text)
			}
			if !form.Has(key) {
				t.Errorf("field %q lost", key)
			}
		}
	})
}

func FuzzParseAck(f *testing.F) {
	f.Add([]byte(`{"envelope_id":"e1"}`))
	f.Add([]byte(`{"envelope_id":"e1","payload":{"text":"x"}}`))
	f.Add([]byte(`{"envelope_id":"","payload":null}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := parseAck(data)
		if err != nil {
			return
		}
		if a.EnvelopeID == "" {
			t.Fatal("ack accepted without envelope_id")
		}
		again, err := parseAck(mustJSON(a))
		if err != nil || again.EnvelopeID != a.EnvelopeID {
			t.Errorf("re-encoded ack = %+v, %v", again, err)
		}
	})
}

func FuzzParseTS(f *testing.F) {
	f.Add("1700000000.000100")
	f.Add("1.5")
	f.Add("12")
	f.Add("-1.0")
	f.Add("1.1234567")
	f.Fuzz(func(t *testing.T, ts string) {
		micros, ok := parseTS(ts)
		if !ok {
			return
		}
		back, ok := parseTS(formatTS(micros))
		if !ok || back != micros {
			t.Errorf("%q → %d → %q → %d", ts, micros, formatTS(micros), back)
		}
		if compareTS(ts, formatTS(micros)) != 0 {
			t.Errorf("%q and %q compare unequal", ts, formatTS(micros))
		}
	})
}

func FuzzBlocks(f *testing.F) {
	f.Add(`[{"type":"markdown","text":"**x**"}]`)
	f.Add(`[{"type":"section","text":{"type":"mrkdwn","text":"x"}}]`)
	f.Add(`[{"type":"header","text":1}]`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, raw string) {
		code := checkBlocks(raw)
		text := blocksText(raw)
		if code == "" && !json.Valid([]byte(raw)) {
			t.Errorf("invalid JSON %q accepted", raw)
		}
		if text != "" && code == "invalid_blocks_format" {
			t.Errorf("text %q rendered from unparsable blocks", text)
		}
	})
}
