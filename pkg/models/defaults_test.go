package models

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// Every listed default is what Resolve applies: jsonData naming the default
// resolves as jsonData without the key; naming another value does not (so
// the key is one Resolve reads, and the default is not any value at all).
func TestSettingsDefaults(t *testing.T) {
	base, err := ParseSettings([]byte(`{}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	other := map[string]any{"engine": EngineRemote, "sourceAccess": AccessToken, "prometheusAuth": PromAuthBearer}
	for _, d := range SettingsDefaults() {
		js := func(v any) []byte {
			if dur, ok := v.(time.Duration); ok {
				v = dur.String()
			}
			b, _ := json.Marshal(map[string]any{d.Key: v})
			return b
		}
		got, err := ParseSettings(js(d.Value), nil)
		if err != nil || !reflect.DeepEqual(got, base) {
			t.Errorf("%s = %v resolves to %+v, %v; want the defaults %+v", d.Key, d.Value, got, err, base)
		}
		var alt any
		switch v := d.Value.(type) {
		case time.Duration:
			alt = v + time.Second
		case int:
			alt = v + 1
		case bool:
			alt = !v
		case string:
			alt = other[d.Key]
		default:
			t.Fatalf("%s: a default of type %T", d.Key, d.Value)
		}
		if got, err := ParseSettings(js(alt), nil); err == nil && reflect.DeepEqual(got, base) {
			t.Errorf("%s = %v resolves as the default %v: not a key Resolve reads", d.Key, alt, fmt.Sprint(d.Value))
		}
	}
}
