package provisioning_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sheepdog-anomaly/sheepdog/internal/provcheck"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

func datasources(t testing.TB) []provcheck.Datasource {
	t.Helper()
	ds, err := provcheck.LoadDatasources(filepath.Join(repoRoot(t), "provisioning", "datasources"), grafanaEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestDatasources(t *testing.T) {
	ds := datasources(t)
	byUID := map[string]provcheck.Datasource{}
	for _, d := range ds {
		if d.UID == "" || d.Name == "" || d.Type == "" {
			t.Errorf("%s: data source %+v lacks uid, name or type", d.File, d)
		}
		if _, dup := byUID[d.UID]; dup {
			t.Errorf("uid %q provisioned twice", d.UID)
		}
		byUID[d.UID] = d
	}
	for _, uid := range []string{"prometheus", "sheepdog", "sheepdog-remote"} {
		if _, ok := byUID[uid]; !ok {
			t.Errorf("no data source with uid %q", uid)
		}
	}
	if byUID["prometheus"].Type != "prometheus" {
		t.Errorf("uid prometheus has type %q", byUID["prometheus"].Type)
	}
	for _, d := range ds {
		if d.Type != provcheck.PluginType {
			continue
		}
		jsonData, _ := json.Marshal(d.JSONData)
		cfg, err := models.ParseSettings(jsonData, d.SecureJSONData)
		if err != nil {
			t.Errorf("%s: the backend rejects jsonData: %v", d.UID, err)
			continue
		}
		for _, a := range d.JSONData["allowedDatasources"].([]any) {
			if _, ok := byUID[a.(string)]; !ok {
				t.Errorf("%s: allowedDatasources names %q, not a provisioned uid", d.UID, a)
			}
		}
		_ = cfg
		if d.JSONData["engine"] == models.EngineRemote {
			if key := d.SecureJSONData[models.SecureRemoteAPIKey]; !strings.HasPrefix(key, "hs_") {
				t.Errorf("%s: remote API key %q is not an hs_ key from $SHEEPDOG_DEMO_API_KEY", d.UID, key)
			}
			if _, inJSON := d.JSONData[models.SecureRemoteAPIKey]; inJSON {
				t.Errorf("%s: the API key must live in secureJsonData only", d.UID)
			}
		}
	}
	if r := byUID["sheepdog-remote"]; r.JSONData["engine"] != models.EngineRemote || r.JSONData["remoteUrl"] != "http://sheepdog-api:8080" {
		t.Errorf("sheepdog-remote: engine %v remoteUrl %v", r.JSONData["engine"], r.JSONData["remoteUrl"])
	}
}

func dsByUID(t testing.TB) map[string]provcheck.Datasource {
	m := map[string]provcheck.Datasource{}
	for _, d := range datasources(t) {
		m[d.UID] = d
	}
	return m
}
