// Package harness starts the built plugin binary (dist/gpx_sheepdog_<os>_<arch>)
// the way Grafana does - hashicorp/go-plugin, Grafana's handshake, gRPC over a
// unix socket, no AutoMTLS - and calls it through the SDK's generated gRPC
// clients, so integration tests exercise exactly what Grafana would run.
package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
)

// PluginID is Sheepdog's plugin id (src/plugin.json).
const PluginID = "sheepdog-anomaly-datasource"

// Executable is the executable name from src/plugin.json.
const Executable = "gpx_sheepdog"

// handshake is Grafana's: a plugin built with another cookie or protocol refuses to start.
var handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  grpcplugin.ProtocolVersion,
	MagicCookieKey:   grpcplugin.MagicCookieKey,
	MagicCookieValue: grpcplugin.MagicCookieValue,
}

// Options configure Start.
type Options struct {
	// Binary is the plugin executable; empty finds dist/gpx_sheepdog_<GOOS>_<GOARCH>
	// in the working directory or one of its parents (or $SHEEPDOG_PLUGIN_BINARY).
	Binary string
	// Env is passed to the plugin process in addition to the variables Grafana sets.
	// The host environment is not inherited, as in Grafana with skip_host_env_var.
	Env []string
	// AppURL is the Grafana URL the plugin is told it runs under (GF_APP_URL).
	AppURL string
	// StartTimeout bounds the handshake; default 20s.
	StartTimeout time.Duration
}

// Plugin is a running plugin process.
type Plugin struct {
	client      *goplugin.Client
	data        pluginv2.DataClient
	diagnostics pluginv2.DiagnosticsClient
	resource    pluginv2.ResourceClient
	logs        *syncBuffer
	Binary      string
}

// FindBinary locates dist/gpx_sheepdog_<GOOS>_<GOARCH> from the working directory upwards.
func FindBinary() (string, error) {
	if p := os.Getenv("SHEEPDOG_PLUGIN_BINARY"); p != "" {
		return p, nil
	}
	name := fmt.Sprintf("%s_%s_%s", Executable, runtime.GOOS, runtime.GOARCH)
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "dist", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("plugin binary dist/%s not found above the working directory: run `npm run build` or `go tool mage -v build:backend` first", name)
		}
		dir = parent
	}
}

// Start launches the plugin and dispenses its data, diagnostics and resource services.
func Start(ctx context.Context, opts Options) (*Plugin, error) {
	bin := opts.Binary
	if bin == "" {
		var err error
		if bin, err = FindBinary(); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("plugin binary: %w", err)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 20 * time.Second
	}
	logs := &syncBuffer{}
	// Grafana starts the plugin with its own variables and, with skip_host_env_var,
	// without the host's; PATH and HOME are kept so the Go runtime behaves normally.
	env := []string{
		"GF_VERSION=13.0.0",
		"GF_EDITION=oss",
		"GF_PLUGIN_VERSION=dev",
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"TMPDIR=" + os.TempDir(),
	}
	if opts.AppURL != "" {
		env = append(env, "GF_APP_URL="+opts.AppURL)
	}
	env = append(env, opts.Env...)
	cmd := exec.Command(bin)
	cmd.Env = env

	logger := hclog.New(&hclog.LoggerOptions{Name: "plugin." + PluginID, Output: logs, Level: hclog.Debug})
	client := goplugin.NewClient(&goplugin.ClientConfig{
		Cmd:             cmd,
		HandshakeConfig: handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{
			grpcplugin.ProtocolVersion: {
				"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{},
				"resource":    &grpcplugin.ResourceGRPCPlugin{},
				"data":        &grpcplugin.DataGRPCPlugin{},
				"stream":      &grpcplugin.StreamGRPCPlugin{},
			},
		},
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		SkipHostEnv:      true,
		AutoMTLS:         false,
		Logger:           logger,
		StartTimeout:     opts.StartTimeout,
	})
	p := &Plugin{client: client, logs: logs, Binary: bin}
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("start plugin %s: %w\nplugin output:\n%s", bin, err, logs.String())
	}
	if proto := client.Protocol(); proto != goplugin.ProtocolGRPC {
		client.Kill()
		return nil, fmt.Errorf("plugin negotiated protocol %q, want grpc", proto)
	}
	if addr := client.ReattachConfig().Addr; addr == nil || addr.Network() != "unix" {
		client.Kill()
		return nil, fmt.Errorf("plugin listens on %v, want a unix socket", addr)
	}
	dispense := func(name string) (any, error) {
		raw, err := rpc.Dispense(name)
		if err != nil {
			return nil, fmt.Errorf("dispense %q: %w", name, err)
		}
		return raw, nil
	}
	var ok bool
	raw, err := dispense("data")
	if err == nil {
		if p.data, ok = raw.(pluginv2.DataClient); !ok {
			err = fmt.Errorf("dispensed data client has type %T", raw)
		}
	}
	if err == nil {
		if raw, err = dispense("diagnostics"); err == nil {
			if p.diagnostics, ok = raw.(pluginv2.DiagnosticsClient); !ok {
				err = fmt.Errorf("dispensed diagnostics client has type %T", raw)
			}
		}
	}
	if err == nil {
		if raw, err = dispense("resource"); err == nil {
			if p.resource, ok = raw.(pluginv2.ResourceClient); !ok {
				err = fmt.Errorf("dispensed resource client has type %T", raw)
			}
		}
	}
	if err != nil {
		client.Kill()
		return nil, err
	}
	return p, nil
}

// Close stops the plugin process.
func (p *Plugin) Close() { p.client.Kill() }

// Exited reports whether the plugin process has exited (e.g. crashed).
func (p *Plugin) Exited() bool { return p.client.Exited() }

// Logs returns everything the plugin wrote to its log so far.
func (p *Plugin) Logs() string { return p.logs.String() }

var (
	toProto   = backend.ConvertToProtobuf{}
	fromProto = backend.ConvertFromProtobuf{}
)

// QueryData sends a QueryData request as Grafana does.
func (p *Plugin) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp, err := p.data.QueryData(ctx, toProto.QueryDataRequest(req))
	if err != nil {
		return nil, err
	}
	return fromProto.QueryDataResponse(resp)
}

// CheckHealth sends a health check.
func (p *Plugin) CheckHealth(ctx context.Context, pc backend.PluginContext) (*backend.CheckHealthResult, error) {
	resp, err := p.diagnostics.CheckHealth(ctx, &pluginv2.CheckHealthRequest{PluginContext: toProto.PluginContext(pc)})
	if err != nil {
		return nil, err
	}
	return fromProto.CheckHealthResponse(resp), nil
}

// CollectMetrics returns the plugin's metrics in Prometheus text format.
func (p *Plugin) CollectMetrics(ctx context.Context, pc backend.PluginContext) (string, error) {
	resp, err := p.diagnostics.CollectMetrics(ctx, &pluginv2.CollectMetricsRequest{PluginContext: toProto.PluginContext(pc)})
	if err != nil {
		return "", err
	}
	if resp.Metrics == nil {
		return "", errors.New("CollectMetrics returned no payload")
	}
	return string(resp.Metrics.Prometheus), nil
}

// CallResource sends a resource call and collects the streamed response.
func (p *Plugin) CallResource(ctx context.Context, req *backend.CallResourceRequest) (*backend.CallResourceResponse, error) {
	stream, err := p.resource.CallResource(ctx, toProto.CallResourceRequest(req))
	if err != nil {
		return nil, err
	}
	var out *backend.CallResourceResponse
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		part := fromProto.CallResourceResponse(msg)
		if out == nil {
			out = part
			continue
		}
		out.Body = append(out.Body, part.Body...)
	}
	if out == nil {
		return nil, errors.New("CallResource returned no response")
	}
	return out, nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
