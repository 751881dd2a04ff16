package models

// Engines.
const (
	EngineEmbedded = "embedded"
	EngineRemote   = "remote"
)

// Source access modes for other Grafana data sources.
const (
	AccessServiceAccount = "service_account" // the plugin's managed service account (externalServiceAccounts)
	AccessToken          = "token"           // a service-account token stored in secureJsonData.grafanaToken
)

// Prometheus auth modes.
const (
	PromAuthNone   = "none"
	PromAuthBasic  = "basic"  // prometheusUser + secureJsonData.prometheusPassword
	PromAuthBearer = "bearer" // secureJsonData.prometheusToken
)

// Settings is the data source's jsonData. Durations are Go/Grafana duration strings.
type Settings struct {
	Engine string `json:"engine,omitempty"` // embedded (default) or remote

	RemoteURL              string `json:"remoteUrl,omitempty"`
	RemoteTimeout          string `json:"remoteTimeout,omitempty"`          // per attempt, default "5s"
	RemoteRetries          *int   `json:"remoteRetries,omitempty"`          // default 3
	RemoteBackoffBase      string `json:"remoteBackoffBase,omitempty"`      // default "200ms"
	RemoteBackoffMax       string `json:"remoteBackoffMax,omitempty"`       // default "5s"
	RemoteBreakerThreshold *int   `json:"remoteBreakerThreshold,omitempty"` // consecutive failures, default 5
	RemoteBreakerCooldown  string `json:"remoteBreakerCooldown,omitempty"`  // default "30s"
	RemoteMaxInFlight      *int   `json:"remoteMaxInFlight,omitempty"`      // default 8
	RemoteMaxCallsPerQuery *int   `json:"remoteMaxCallsPerQuery,omitempty"` // default 200
	RemoteFallback         *bool  `json:"remoteFallback,omitempty"`         // default true
	RemoteTLSSkipVerify    bool   `json:"remoteTlsSkipVerify,omitempty"`

	SourceAccess       string   `json:"sourceAccess,omitempty"` // service_account (default) or token
	AllowedDatasources []string `json:"allowedDatasources,omitempty"`

	PrometheusURL           string `json:"prometheusUrl,omitempty"`
	PrometheusAuth          string `json:"prometheusAuth,omitempty"` // none (default), basic, bearer
	PrometheusUser          string `json:"prometheusUser,omitempty"`
	PrometheusTLSSkipVerify bool   `json:"prometheusTlsSkipVerify,omitempty"`

	// Resource budgets (see Budgets): what one viewer's query may cost.
	MaxSeriesPerQuery   *int `json:"maxSeriesPerQuery,omitempty"`   // default DefaultMaxSeriesPerQuery
	MaxPointsPerQuery   *int `json:"maxPointsPerQuery,omitempty"`   // default DefaultMaxPointsPerQuery
	MaxPointsPerRequest *int `json:"maxPointsPerRequest,omitempty"` // default DefaultMaxPointsPerRequest
	AlertCacheMaxMiB    *int `json:"alertCacheMaxMiB,omitempty"`    // default DefaultAlertCacheMaxMiB

	// PrometheusHeaderNames holds the custom header names, keyed by N, from
	// the jsonData keys prometheusHeaderName1..N (Grafana's httpHeaderNameN
	// convention); each value is secureJsonData prometheusHeaderValueN.
	// Numbered keys do not fit a struct tag, so UnmarshalJSON collects them.
	PrometheusHeaderNames map[int]string `json:"-"`
}

// Secure setting keys (secureJsonData). Values are never logged or returned.
const (
	SecureRemoteAPIKey       = "remoteApiKey"
	SecureRemoteCACert       = "remoteTlsCaCert"
	SecureGrafanaToken       = "grafanaToken"
	SecurePrometheusPassword = "prometheusPassword"
	SecurePrometheusToken    = "prometheusToken"
	SecurePrometheusCACert   = "prometheusTlsCaCert"
)

// Custom Prometheus request headers: jsonData PrometheusHeaderNamePrefix+N
// names the header, secureJsonData PrometheusHeaderValuePrefix+N holds its
// value (a tenant id or API key is a secret), N = 1, 2, ...
const (
	PrometheusHeaderNamePrefix  = "prometheusHeaderName"
	PrometheusHeaderValuePrefix = "prometheusHeaderValue"
)
