package provider

import "testing"

func TestQuietUnrequestedLogs(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		// quiet is true when every logger is to be turned off.
		quiet bool
	}{
		{name: "no log asked for", env: map[string]string{}, quiet: true},
		{name: "only a log file without a level", env: map[string]string{"TF_LOG_PATH": "/tmp/tf.log"}, quiet: true},
		{name: "TF_LOG", env: map[string]string{"TF_LOG": "trace"}},
		{name: "TF_LOG json", env: map[string]string{"TF_LOG": "JSON"}},
		{name: "TF_LOG_PROVIDER", env: map[string]string{"TF_LOG_PROVIDER": "debug"}},
		{name: "TF_LOG_PROVIDER_MLOPS", env: map[string]string{"TF_LOG_PROVIDER_MLOPS": "debug"}},
		{name: "TF_LOG_SDK", env: map[string]string{"TF_LOG_SDK": "info"}},
		{name: "TF_LOG_SDK_PROTO", env: map[string]string{"TF_LOG_SDK_PROTO": "trace"}},
		{name: "TF_LOG_SDK_FRAMEWORK", env: map[string]string{"TF_LOG_SDK_FRAMEWORK": "trace"}},
		{name: "TF_ACC_LOG_PATH", env: map[string]string{"TF_ACC_LOG_PATH": "/tmp/acc.log"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set := map[string]string{}
			QuietUnrequestedLogs(func(k string) string { return tc.env[k] }, func(k, v string) error {
				set[k] = v
				return nil
			})
			if !tc.quiet {
				if len(set) != 0 {
					t.Fatalf("set %v although the user asked for logs with %v", set, tc.env)
				}
				return
			}
			for _, v := range quietLogVars {
				if set[v] != "off" {
					t.Errorf("%s = %q, want off", v, set[v])
				}
			}
			if len(set) != len(quietLogVars) {
				t.Errorf("set %v, want exactly %v", set, quietLogVars)
			}
		})
	}
}
