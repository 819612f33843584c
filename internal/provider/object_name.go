package provider

import "fmt"

// environmentObject names an environment in diagnostics.
func environmentObject(name string) string {
	return fmt.Sprintf("environment %q", name)
}

// envObject names an object that lives in an environment in diagnostics,
// e.g. `compute pool "gpu" in environment "dev"`; kind is the kind in words.
func envObject(kind, env, name string) string {
	return fmt.Sprintf("%s %q in environment %q", kind, name, env)
}
