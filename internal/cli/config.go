package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

// defaultEndpoint is where mlopsd listens with no flags, as the provider
// assumes too.
const defaultEndpoint = "http://127.0.0.1:8080"

// fileConfig is the config file login writes. It holds a token, so it is
// written 0600 in a 0700 directory.
type fileConfig struct {
	Endpoint   string `json:"endpoint,omitempty"`
	Token      string `json:"token,omitempty"`
	CACertFile string `json:"ca_cert_file,omitempty"`
	Insecure   bool   `json:"insecure,omitempty"`
}

// configFile returns the config file's path: --config, MLOPS_CONFIG, then
// mlopsctl/config.json in the user's config directory.
func (a *app) configFile() (string, error) {
	if a.configPath != "" {
		return a.configPath, nil
	}
	if p := a.getenv("MLOPS_CONFIG"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", usageErrorf("cannot find the user config directory (%v); name a config file with --config or MLOPS_CONFIG", err)
	}
	return filepath.Join(dir, "mlopsctl", "config.json"), nil
}

// readConfig reads the config file; a missing one is an empty config.
func (a *app) readConfig() (fileConfig, string, error) {
	var cfg fileConfig
	path, err := a.configFile()
	if err != nil {
		return cfg, "", err
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return cfg, path, nil
	case err != nil:
		return cfg, path, usageErrorf("reading config file: %v", err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, path, usageErrorf("config file %s is not valid JSON (%v); run mlopsctl login again or fix it", path, err)
	}
	if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 && cfg.Token != "" {
		fmt.Fprintf(a.io.Stderr, "mlopsctl: warning: config file %s holds a token and is readable by others (mode %04o); run chmod 600 %s\n", path, info.Mode().Perm(), path)
	}
	return cfg, path, nil
}

// writeConfig writes cfg to path with mode 0600, replacing the file
// atomically so that a crash leaves the old or the new config.
func writeConfig(path string, cfg fileConfig) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating the config directory: %w", err)
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.json")
	if err != nil {
		return fmt.Errorf("writing config file: %w", err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600 already; Chmod says so explicitly.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing config file: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("writing config file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing config file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing config file: %w", err)
	}
	return nil
}

// settings resolves the connection settings: flag, then environment
// variable, then config file, then the default endpoint.
func (a *app) settings() (client.Config, error) {
	file, _, err := a.readConfig()
	if err != nil {
		return client.Config{}, err
	}
	pick := func(flag, env, fromFile, def string) string {
		for _, v := range []string{flag, a.getenv(env), fromFile} {
			if v != "" {
				return v
			}
		}
		return def
	}
	cfg := client.Config{
		Endpoint:   pick(a.endpoint, "MLOPS_ENDPOINT", file.Endpoint, defaultEndpoint),
		Token:      pick(a.token, "MLOPS_TOKEN", file.Token, ""),
		CACertFile: pick(a.caCertFile, "MLOPS_CA_CERT_FILE", file.CACertFile, ""),
		Insecure:   a.insecure || file.Insecure,
		UserAgent:  "mlopsctl/" + Version,
	}
	if v := a.getenv("MLOPS_INSECURE"); v != "" && !a.insecure {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, usageErrorf("MLOPS_INSECURE is %q; use true or false", v)
		}
		cfg.Insecure = b
	}
	return cfg, nil
}

// client builds the API client from the settings.
func (a *app) client() (*client.Client, error) {
	cfg, err := a.settings()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg)
	if err != nil {
		return nil, &exitError{code: ExitUsage, err: err}
	}
	return c, nil
}
