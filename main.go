// Command terraform-provider-mlops is the Terraform provider for mlopsd.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/provider"
)

// version is set by goreleaser (or -ldflags "-X main.version=...").
var version = "dev"

// providerAddress is the provider's registry address. terraform-plugin-go
// names the provider's logger after its type: module "mlops", level from
// TF_LOG_PROVIDER_MLOPS.
const providerAddress = "registry.terraform.io/mlops-as-code/mlops"

func main() {
	var debug, showVersion bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.BoolVar(&showVersion, "version", false, "print the provider's version and exit")
	flag.Parse()
	if showVersion {
		// What a release built with -X main.version reports, as mlopsd
		// version and mlopsctl version do.
		fmt.Printf("terraform-provider-mlops %s (protocol 6)\n", version)
		return
	}

	// Under a debugger the provider's stderr is the developer's terminal,
	// where the SDK's default logs are wanted.
	if !debug {
		provider.QuietUnrequestedLogs(os.Getenv, os.Setenv)
	}
	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: providerAddress,
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}
