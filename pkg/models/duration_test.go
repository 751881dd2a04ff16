package models

import (
	"strings"
	"testing"
)

// Every duration option goes through the one bounded parser: a hostile value
// is a parse-time error naming the option (a 400), never a wrapped-around
// duration (minDuration "1e30w" was a 500 from the engine, history "NaNd"
// fetched from 1734).
func TestHostileDurationsNameTheOption(t *testing.T) {
	hostile := []string{"Infd", "NaNd", "1e300d", "1e30w", "5100w", "-1d"}
	queryFields := []struct{ option, json string }{
		{"detector.minDuration", `"detector":{"minDuration":%q}`},
		{"detector.history", `"detector":{"history":%q}`},
		{"detector.seasonality", `"detector":{"seasonality":%q}`},
		{"alert.window", `"alert":{"enabled":true,"window":%q}`},
	}
	for _, f := range queryFields {
		for _, v := range hostile {
			raw := `{"source":{"type":"csv","csv":"t,v\n1,1"},` + strings.Replace(f.json, "%q", `"`+v+`"`, 1) + `}`
			_, err := ParseQuery([]byte(raw))
			if err == nil || !strings.Contains(err.Error(), f.option) {
				t.Errorf("%s %q: err = %v, want an error naming %s", f.option, v, err, f.option)
			}
		}
	}
	for _, key := range []string{"remoteTimeout", "remoteBackoffBase", "remoteBackoffMax", "remoteBreakerCooldown"} {
		for _, v := range hostile {
			_, err := ParseSettings([]byte(`{"`+key+`":"`+v+`"}`), nil)
			if err == nil || !strings.Contains(err.Error(), key) {
				t.Errorf("%s %q: err = %v, want an error naming %s", key, v, err, key)
			}
		}
	}
}
