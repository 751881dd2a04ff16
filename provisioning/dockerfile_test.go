package provisioning_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	dfparser "github.com/moby/buildkit/frontend/dockerfile/parser"
)

// parseDockerfile parses the Dockerfile with BuildKit's own parser, as
// `docker build` would: syntax, flags and heredocs.
func parseDockerfile(t testing.TB) []instructions.Stage {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := dfparser.Parse(f)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile: %s", w.Short)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	return stages
}

func dockerfileStages(t testing.TB) map[string]bool {
	t.Helper()
	stages := map[string]bool{}
	installsPlugin := false
	for _, st := range parseDockerfile(t) {
		if stages[st.Name] {
			t.Errorf("Dockerfile: stage %s defined twice", st.Name)
		}
		for _, c := range st.Commands {
			cp, ok := c.(*instructions.CopyCommand)
			if !ok {
				continue
			}
			if cp.From != "" && !stages[cp.From] {
				t.Errorf("Dockerfile: stage %s copies --from=%s, not an earlier stage", st.Name, cp.From)
			}
			if st.Name == "grafana" && cp.DestPath == "/opt/sheepdog/plugins/sheepdog-anomaly-datasource/" {
				installsPlugin = true
			}
		}
		stages[st.Name] = true
	}
	// The grafana stage must bake the plugin under its id, the way the
	// entrypoint's GF_PATHS_PLUGINS expects.
	if !installsPlugin {
		t.Error("Dockerfile: the grafana stage does not install the plugin at /opt/sheepdog/plugins/sheepdog-anomaly-datasource/")
	}
	return stages
}

// dockerfileScript returns the heredoc script the Dockerfile installs at path.
func dockerfileScript(t *testing.T, path string) string {
	t.Helper()
	for _, st := range parseDockerfile(t) {
		for _, c := range st.Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.DestPath == path && len(cp.SourceContents) == 1 {
				return cp.SourceContents[0].Data
			}
		}
	}
	t.Fatalf("Dockerfile: no heredoc script for %s", path)
	return ""
}

// TestDockerfileScripts runs the images' two shell scripts with /bin/sh,
// pointed at temporary directories: the backfill init (twice: the second run
// must skip) and Grafana's entrypoint in both modes.
func TestDockerfileScripts(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (Debian package prometheus): %v", err)
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/sheepdog-demo")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	_ = os.Symlink(promtool, filepath.Join(bin, "promtool"))
	data := t.TempDir()
	script := strings.Replace(dockerfileScript(t, "/bin/sheepdog-backfill"), "data=/prometheus", "data="+data, 1)
	path := filepath.Join(t.TempDir(), "backfill.sh")
	os.WriteFile(path, []byte(script), 0o755)
	args := append([]string{path}, service(t, loadCompose(t), "prometheus-backfill").Command...)
	for i, a := range args {
		if strings.HasPrefix(a, "--days=") {
			args[i] = "--days=0.05"
		}
	}
	runSh := func() string {
		cmd := exec.Command("/bin/sh", args...)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("backfill script: %v\n%s", err, out)
		}
		return string(out)
	}
	runSh()
	blocks, _ := filepath.Glob(filepath.Join(data, "*", "meta.json"))
	if len(blocks) == 0 {
		t.Fatal("the backfill script wrote no TSDB block")
	}
	if out := runSh(); !strings.Contains(out, "skipping") {
		t.Errorf("second run did not skip: %s", out)
	}
	if again, _ := filepath.Glob(filepath.Join(data, "*", "meta.json")); len(again) != len(blocks) {
		t.Errorf("second run wrote blocks again: %d -> %d", len(blocks), len(again))
	}

	// Grafana's entrypoint: /run.sh replaced by a probe printing the plugin path.
	entry := dockerfileScript(t, "/sheepdog-entrypoint.sh")
	src := t.TempDir()
	entry = strings.ReplaceAll(entry, "/sheepdog-src", src)
	entry = strings.Replace(entry, `exec /run.sh "$@"`, `echo "plugins=$GF_PATHS_PLUGINS"`, 1)
	epath := filepath.Join(t.TempDir(), "entry.sh")
	os.WriteFile(epath, []byte(entry), 0o755)
	for _, c := range []struct {
		dev, want string
		fails     bool
	}{
		{"false", "plugins=/opt/sheepdog/plugins", false},
		{"true", "run 'npm run dev'", true}, // no dist/ yet
	} {
		cmd := exec.Command("/bin/sh", epath)
		cmd.Env = append(os.Environ(), "DEVELOPMENT="+c.dev)
		out, err := cmd.CombinedOutput()
		if (err != nil) != c.fails || !strings.Contains(string(out), c.want) {
			t.Errorf("DEVELOPMENT=%s: %v\n%s", c.dev, err, out)
		}
	}
	os.MkdirAll(filepath.Join(src, "dist"), 0o755)
	os.WriteFile(filepath.Join(src, "dist", "plugin.json"), []byte("{}"), 0o644)
	cmd := exec.Command("/bin/sh", epath)
	cmd.Env = append(os.Environ(), "DEVELOPMENT=true")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "plugins=/opt/sheepdog/dev-plugins") {
		t.Errorf("DEVELOPMENT=true with a dist/: %v\n%s", err, out)
	}
}
