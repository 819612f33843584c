package provider

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// testAccProtoV6ProviderFactories runs the provider in-process, so
// acceptance tests need no registry and no built binary.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"mlops": providerserver.NewProtocol6WithError(New("test")()),
}

// testAcc is one acceptance test's control plane and a client to change it
// behind Terraform's back.
type testAcc struct {
	srv    *mlopsdtest.Server
	client *client.Client
}

// startAcc skips unless TF_ACC is set, then starts a real mlopsd on a fresh
// SQLite file for this test alone, so tests can run in parallel.
func startAcc(t *testing.T) *testAcc {
	t.Helper()
	return startAccWith(t)
}

// startAccWith is startAcc with a non-default control plane, e.g. one whose
// local driver has little capacity.
func startAccWith(t *testing.T, opts ...mlopsdtest.Option) *testAcc {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests run only with TF_ACC=1 (make testacc)")
	}
	srv := mlopsdtest.Start(t, opts...)
	c, err := client.New(client.Config{Endpoint: srv.URL})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return &testAcc{srv: srv, client: c}
}

// providerConfig points the provider at this test's control plane.
func (a *testAcc) providerConfig() string {
	return fmt.Sprintf("provider \"mlops\" {\n  endpoint = %q\n}\n", a.srv.URL)
}

// checkDestroyed fails if any resource of typ in the state still exists.
func (a *testAcc) checkDestroyed(typ string, get func(ctx context.Context, c *client.Client, attrs map[string]string) error) func(*terraform.State) error {
	return func(s *terraform.State) error {
		for key, rs := range s.RootModule().Resources {
			// A data source of the same type is no resource to destroy.
			if rs.Type != typ || strings.HasPrefix(key, "data.") {
				continue
			}
			err := get(context.Background(), a.client, rs.Primary.Attributes)
			if err == nil {
				return fmt.Errorf("%s %s still exists", typ, rs.Primary.ID)
			}
			if !client.IsNotFound(err) {
				return err
			}
		}
		return nil
	}
}

func TestProvider_schemaIsValid(t *testing.T) {
	p := New("test")()
	_, err := providerserver.NewProtocol6WithError(p)()
	if err != nil {
		t.Fatal(err)
	}
}
