// Command gpx_sheepdog is the Sheepdog data source's backend, started by Grafana.
package main

import (
	"os"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/sheepdog-anomaly/sheepdog/pkg/plugin"
)

func main() {
	if err := datasource.Manage("sheepdog-anomaly-datasource", plugin.NewDatasource, datasource.ManageOpts{}); err != nil {
		log.DefaultLogger.Error("sheepdog backend stopped", "error", err.Error())
		os.Exit(1)
	}
}
