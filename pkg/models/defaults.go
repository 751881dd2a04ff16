package models

//go:generate go run ../../internal/gen/settings -o ../../src/generated/settings.ts

// SettingDefault is what Resolve applies when jsonData has no Key: a string,
// an int, a bool or a time.Duration (written as its String, "5s").
type SettingDefault struct {
	Key   string
	Value any
}

// SettingsDefaults lists the settings' defaults by jsonData key, in the config
// editor's order. It is the one copy: the frontend's SETTINGS_DEFAULTS is
// generated from it (src/generated/settings.ts), and TestSettingsDefaults
// checks that Resolve applies each of them.
func SettingsDefaults() []SettingDefault {
	return []SettingDefault{
		{"engine", EngineEmbedded},
		{"remoteTimeout", DefaultRemoteTimeout},
		{"remoteRetries", DefaultRemoteRetries},
		{"remoteBackoffBase", DefaultRemoteBackoffBase},
		{"remoteBackoffMax", DefaultRemoteBackoffMax},
		{"remoteBreakerThreshold", DefaultRemoteBreakerThreshold},
		{"remoteBreakerCooldown", DefaultRemoteBreakerCooldown},
		{"remoteMaxInFlight", DefaultRemoteMaxInFlight},
		{"remoteMaxCallsPerQuery", DefaultRemoteMaxCallsPerQuery},
		{"remoteFallback", true},
		{"sourceAccess", AccessServiceAccount},
		{"prometheusAuth", PromAuthNone},
		{"maxSeriesPerQuery", DefaultMaxSeriesPerQuery},
		{"maxPointsPerQuery", DefaultMaxPointsPerQuery},
		{"maxPointsPerRequest", DefaultMaxPointsPerRequest},
		{"alertCacheMaxMiB", DefaultAlertCacheMaxMiB},
	}
}
