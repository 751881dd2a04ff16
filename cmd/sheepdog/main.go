// Command sheepdog runs Sheepdog's embedded anomaly engine from the shell:
// `detect` scores a CSV series, `eval` measures detectors on a labelled
// dataset manifest against a rolling z-score baseline.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

// usage names the engine's choices from its catalogue, so help cannot list a
// method the engine does not have.
var usage = `usage:
  sheepdog detect [--method ` + bar(engine.Methods) + `] [--sensitivity N] [--direction ` + bar(engine.Directions) + `]
                  [--causal] [--seasonality ` + bar(engine.Seasonalities) + `|6h] [--min-duration D] [--warmup N]
                  [--info] < in.csv > out.csv
  sheepdog eval --manifest ../shared/datasets/manifest.json [--method M[,M...]] [--sensitivity N]
                [--direction D] [--seasonality S] [--min-duration D] [--warmup N] [--workers 2]
                [--every K] [--max-points N] [--folder F] [--per-series]

  --period is an alias of --seasonality. Run 'sheepdog detect -h' or 'sheepdog eval -h' for each flag's meaning.

` + detectOutput + `
`

func bar(choices []engine.Choice) string { return strings.Join(engine.Values(choices), "|") }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sheepdog:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(errOut, usage)
		return fmt.Errorf("missing command")
	}
	switch args[0] {
	case "detect":
		return runDetect(ctx, args[1:], in, out, errOut)
	case "eval":
		return runEval(ctx, args[1:], out, errOut)
	case "help", "-h", "--help":
		fmt.Fprint(out, usage)
		return nil
	}
	fmt.Fprint(errOut, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
