module github.com/sheepdog-anomaly/sheepdog

go 1.26

require (
	github.com/grafana/grafana-plugin-sdk-go v0.299.0 // indirect
	github.com/magefile/mage v1.17.2 // indirect
)

tool github.com/magefile/mage
