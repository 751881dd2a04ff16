// Package provcheck loads the demo stack's provisioning (provisioning/, the
// Grafana data sources, dashboards and alert rules, and docker-compose.yaml)
// into typed values and extracts every query in it, so tests can check that
// references resolve and that the queries are ones the stack really answers.
package provcheck

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// PluginType is Sheepdog's data source type (plugin id).
const PluginType = "sheepdog-anomaly-datasource"

// RepoRoot finds the repository root (the directory holding the plugin's
// go.mod, not provisioning/'s own) from the working directory upwards.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if mod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modulePath(mod) == "github.com/sheepdog-anomaly/sheepdog" {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of github.com/sheepdog-anomaly/sheepdog above the working directory")
		}
		dir = parent
	}
}

// modulePath returns the path a go.mod's module directive declares.
func modulePath(mod []byte) string {
	for _, line := range strings.Split(string(mod), "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(p), `"`)
		}
	}
	return ""
}

// ExpandEnv expands $VAR and ${VAR} the way Grafana's provisioning does,
// reporting the names that env lacks. "$$" is a literal "$".
func ExpandEnv(s string, env map[string]string) (string, []string) {
	var missing []string
	const placeholder = "\x00dollar\x00"
	s = strings.ReplaceAll(s, "$$", placeholder)
	out := os.Expand(s, func(name string) string {
		v, ok := env[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	return strings.ReplaceAll(out, placeholder, "$"), missing
}

// ---- data sources ----

// Datasource is one provisioned data source.
type Datasource struct {
	Name           string            `yaml:"name"`
	UID            string            `yaml:"uid"`
	Type           string            `yaml:"type"`
	OrgID          int               `yaml:"orgId"`
	Access         string            `yaml:"access"`
	Editable       bool              `yaml:"editable"`
	URL            string            `yaml:"url"`
	IsDefault      bool              `yaml:"isDefault"`
	JSONData       map[string]any    `yaml:"jsonData"`
	SecureJSONData map[string]string `yaml:"secureJsonData"`
	File           string            `yaml:"-"`
}

type datasourceFile struct {
	APIVersion  int          `yaml:"apiVersion"`
	Datasources []Datasource `yaml:"datasources"`
}

// LoadDatasources reads every YAML file in dir, expanding env like Grafana.
func LoadDatasources(dir string, env map[string]string) ([]Datasource, error) {
	var out []Datasource
	err := eachYAML(dir, env, func(path string, data []byte) error {
		var f datasourceFile
		if err := decodeStrict(data, &f); err != nil {
			return err
		}
		if f.APIVersion != 1 {
			return fmt.Errorf("apiVersion %d, want 1", f.APIVersion)
		}
		for _, d := range f.Datasources {
			d.File = path
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// ---- alerting ----

// AlertFile is Grafana's alerting file provisioning format (the parts used here).
type AlertFile struct {
	APIVersion    int            `yaml:"apiVersion"`
	Groups        []AlertGroup   `yaml:"groups"`
	ContactPoints []ContactPoint `yaml:"contactPoints"`
	Policies      []Policy       `yaml:"policies"`
}

// AlertGroup is a rule group.
type AlertGroup struct {
	OrgID    int         `yaml:"orgId"`
	Name     string      `yaml:"name"`
	Folder   string      `yaml:"folder"`
	Interval string      `yaml:"interval"`
	Rules    []AlertRule `yaml:"rules"`
}

// AlertRule is one Grafana-managed rule.
type AlertRule struct {
	UID          string            `yaml:"uid"`
	Title        string            `yaml:"title"`
	Condition    string            `yaml:"condition"`
	Data         []AlertQuery      `yaml:"data"`
	NoDataState  string            `yaml:"noDataState"`
	ExecErrState string            `yaml:"execErrState"`
	For          string            `yaml:"for"`
	Labels       map[string]string `yaml:"labels"`
	Annotations  map[string]string `yaml:"annotations"`
	IsPaused     bool              `yaml:"isPaused"`
}

// AlertQuery is one query or expression of a rule.
type AlertQuery struct {
	RefID             string         `yaml:"refId"`
	RelativeTimeRange map[string]int `yaml:"relativeTimeRange"`
	DatasourceUID     string         `yaml:"datasourceUid"`
	Model             map[string]any `yaml:"model"`
}

// ContactPoint is a provisioned contact point.
type ContactPoint struct {
	OrgID     int        `yaml:"orgId"`
	Name      string     `yaml:"name"`
	Receivers []Receiver `yaml:"receivers"`
}

// Receiver is one integration of a contact point.
type Receiver struct {
	UID                   string         `yaml:"uid"`
	Type                  string         `yaml:"type"`
	DisableResolveMessage bool           `yaml:"disableResolveMessage"`
	Settings              map[string]any `yaml:"settings"`
}

// Policy is a notification policy tree (root).
type Policy struct {
	OrgID          int      `yaml:"orgId"`
	Receiver       string   `yaml:"receiver"`
	GroupBy        []string `yaml:"group_by"`
	GroupWait      string   `yaml:"group_wait"`
	GroupInterval  string   `yaml:"group_interval"`
	RepeatInterval string   `yaml:"repeat_interval"`
	Routes         []Policy `yaml:"routes"`
}

// LoadAlerting reads and merges every alerting YAML file in dir.
func LoadAlerting(dir string, env map[string]string) (*AlertFile, error) {
	all := &AlertFile{APIVersion: 1}
	err := eachYAML(dir, env, func(path string, data []byte) error {
		var f AlertFile
		if err := decodeStrict(data, &f); err != nil {
			return err
		}
		if f.APIVersion != 1 {
			return fmt.Errorf("apiVersion %d, want 1", f.APIVersion)
		}
		all.Groups = append(all.Groups, f.Groups...)
		all.ContactPoints = append(all.ContactPoints, f.ContactPoints...)
		all.Policies = append(all.Policies, f.Policies...)
		return nil
	})
	return all, err
}

// ---- dashboards ----

// DashboardProvider is one entry of a dashboards provider file.
type DashboardProvider struct {
	Name    string `yaml:"name"`
	OrgID   int    `yaml:"orgId"`
	Folder  string `yaml:"folder"`
	Type    string `yaml:"type"`
	Options struct {
		Path string `yaml:"path"`
	} `yaml:"options"`
}

// LoadDashboardProviders reads the provider YAML files of dir.
func LoadDashboardProviders(dir string, env map[string]string) ([]DashboardProvider, error) {
	var out []DashboardProvider
	err := eachYAML(dir, env, func(path string, data []byte) error {
		var f struct {
			APIVersion int                 `yaml:"apiVersion"`
			Providers  []DashboardProvider `yaml:"providers"`
		}
		if err := yaml.Unmarshal(data, &f); err != nil {
			return err
		}
		out = append(out, f.Providers...)
		return nil
	})
	return out, err
}

// Dashboard is a dashboard JSON, kept generic: the checks walk it.
type Dashboard struct {
	File  string
	UID   string
	Title string
	Raw   map[string]any
}

// LoadDashboards reads every *.json in dir.
func LoadDashboards(dir string) ([]Dashboard, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []Dashboard
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var raw map[string]any
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		uid, _ := raw["uid"].(string)
		title, _ := raw["title"].(string)
		out = append(out, Dashboard{File: p, UID: uid, Title: title, Raw: raw})
	}
	return out, nil
}

// Target is one query found in a dashboard: a panel target or an annotation
// query, with the data source it runs on.
type Target struct {
	Where      string         // "panel 3 \"Anomaly score\" target A", "annotation \"Sheepdog anomalies\""
	Datasource map[string]any // the target's (or its panel's) data source reference
	Model      map[string]any // the query model as stored
}

// DatasourceUID returns the target's data source uid ("" if none).
func (t Target) DatasourceUID() string {
	uid, _ := t.Datasource["uid"].(string)
	return uid
}

// DatasourceType returns the target's data source type ("" if none).
func (t Target) DatasourceType() string {
	typ, _ := t.Datasource["type"].(string)
	return typ
}

// Targets lists every query of the dashboard: panel targets (rows' nested
// panels included) and annotation queries.
func (d Dashboard) Targets() []Target {
	var out []Target
	var walk func(panels []any)
	walk = func(panels []any) {
		for _, p := range panels {
			panel, ok := p.(map[string]any)
			if !ok {
				continue
			}
			pds, _ := panel["datasource"].(map[string]any)
			targets, _ := panel["targets"].([]any)
			for _, t := range targets {
				tm, ok := t.(map[string]any)
				if !ok {
					continue
				}
				ds, _ := tm["datasource"].(map[string]any)
				if ds == nil {
					ds = pds
				}
				out = append(out, Target{
					Where:      fmt.Sprintf("panel %v %q target %v", panel["id"], panel["title"], tm["refId"]),
					Datasource: ds, Model: tm,
				})
			}
			if nested, ok := panel["panels"].([]any); ok {
				walk(nested)
			}
		}
	}
	panels, _ := d.Raw["panels"].([]any)
	walk(panels)
	if ann, ok := d.Raw["annotations"].(map[string]any); ok {
		list, _ := ann["list"].([]any)
		for _, a := range list {
			am, ok := a.(map[string]any)
			if !ok {
				continue
			}
			if am["builtIn"] != nil {
				continue // Grafana's own annotations
			}
			ds, _ := am["datasource"].(map[string]any)
			target, _ := am["target"].(map[string]any)
			out = append(out, Target{Where: fmt.Sprintf("annotation %q", am["name"]), Datasource: ds, Model: target})
		}
	}
	return out
}

// Variable is a dashboard template variable.
type Variable struct {
	Name  string
	Type  string
	Query any
	Raw   map[string]any
}

// Variables lists the dashboard's template variables.
func (d Dashboard) Variables() []Variable {
	var out []Variable
	tpl, _ := d.Raw["templating"].(map[string]any)
	list, _ := tpl["list"].([]any)
	for _, v := range list {
		vm, ok := v.(map[string]any)
		if !ok {
			continue
		}
		name, _ := vm["name"].(string)
		typ, _ := vm["type"].(string)
		out = append(out, Variable{Name: name, Type: typ, Query: vm["query"], Raw: vm})
	}
	return out
}

// CustomOptions returns a custom variable's values (the part after " : "
// when an option is written "text : value"), as Grafana splits them.
func (v Variable) CustomOptions() []string {
	q, _ := v.Query.(string)
	var out []string
	for _, opt := range regexp.MustCompile(`(?:\\,|[^,])+`).FindAllString(q, -1) {
		opt = strings.ReplaceAll(opt, `\,`, ",")
		if _, val, ok := strings.Cut(opt, " : "); ok {
			opt = val
		}
		out = append(out, strings.TrimSpace(opt))
	}
	return out
}

// ---- PromQL helpers ----

var (
	reVarRef     = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(:[a-z]+)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]`)
	reQuoted     = regexp.MustCompile(`"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'`)
	reGrouping   = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	reBraces     = regexp.MustCompile(`\{[^}]*\}`)
	reBrackets   = regexp.MustCompile(`\[[^\]]*\]`)
	reIdentifier = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
)

// Substitute replaces dashboard variable references ($name, ${name},
// ${name:fmt}, [[name]]) with values[name] (values["name:fmt"] first for a
// formatted reference); it reports unknown names.
func Substitute(s string, values map[string]string) (string, []string) {
	var unknown []string
	out := reVarRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := reVarRef.FindStringSubmatch(m)
		name := sub[1] + sub[3] + sub[4]
		if v, ok := values[name+sub[2]]; ok && sub[2] != "" {
			return v
		}
		v, ok := values[name]
		if !ok {
			unknown = append(unknown, name)
			return m
		}
		return v
	})
	return out, unknown
}

var promqlWords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "by": true, "without": true,
	"on": true, "ignoring": true, "group_left": true, "group_right": true, "inf": true, "nan": true, "atan2": true,
}

// MetricNames returns the metric names a PromQL expression reads: identifiers
// that are not functions, aggregations, keywords, label names or strings.
func MetricNames(expr string) []string {
	s := reQuoted.ReplaceAllString(expr, `""`)
	s = reGrouping.ReplaceAllString(s, " ")
	s = reBraces.ReplaceAllString(s, " ")
	s = reBrackets.ReplaceAllString(s, " ")
	seen := map[string]bool{}
	var out []string
	for _, loc := range reIdentifier.FindAllStringIndex(s, -1) {
		name := s[loc[0]:loc[1]]
		rest := strings.TrimLeft(s[loc[1]:], " \t\n")
		if strings.HasPrefix(rest, "(") || promqlWords[strings.ToLower(name)] {
			continue
		}
		if loc[0] > 0 && (s[loc[0]-1] >= '0' && s[loc[0]-1] <= '9' || s[loc[0]-1] == '.') {
			continue // exponent or unit of a number, e.g. 1e-9
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	// A selector written {__name__="x"} names its metric inside the braces.
	for _, m := range regexp.MustCompile(`__name__\s*=\s*"([^"]+)"`).FindAllStringSubmatch(expr, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	return out
}

// ---- helpers ----

func eachYAML(dir string, env map[string]string, fn func(path string, data []byte) error) error {
	var paths []string
	for _, ext := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(dir, ext))
		if err != nil {
			return err
		}
		paths = append(paths, m...)
	}
	sort.Strings(paths)
	if len(paths) == 0 {
		return fmt.Errorf("no YAML files in %s", dir)
	}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		expanded, missing := ExpandEnv(string(raw), env)
		if len(missing) > 0 {
			return fmt.Errorf("%s: environment variables not set for Grafana: %v", p, missing)
		}
		if err := fn(p, []byte(expanded)); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

// decodeStrict decodes YAML refusing unknown fields, so a typo in a key
// (which Grafana would silently ignore) fails the check.
func decodeStrict(data []byte, v any) error {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// DecodeYAMLAsJSON decodes YAML into v using v's json tags.
func DecodeYAMLAsJSON(data []byte, v any) error {
	var generic any
	if err := yaml.Unmarshal(data, &generic); err != nil {
		return err
	}
	j, err := json.Marshal(generic)
	if err != nil {
		return err
	}
	return json.Unmarshal(j, v)
}
