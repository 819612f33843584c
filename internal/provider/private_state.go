package provider

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/terraform-plugin-framework/diag"
)

// etagKey is the private-state key of the object's etag. Keeping the etag
// in private state, not in an attribute, means it never shows in a plan, yet
// Update can send it as If-Match so a change made behind Terraform's back
// since the last refresh is a 409, not a silent overwrite.
const etagKey = "etag"

// privateGetter and privateSetter match resp.Private/req.Private in the
// framework's request and response types.
type privateGetter interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

type privateSetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func getETag(ctx context.Context, p privateGetter) (string, diag.Diagnostics) {
	b, diags := p.GetKey(ctx, etagKey)
	if diags.HasError() || len(b) == 0 {
		return "", diags
	}
	var etag string
	if err := json.Unmarshal(b, &etag); err != nil {
		return "", nil
	}
	return etag, diags
}

func setETag(ctx context.Context, p privateSetter, etag string) diag.Diagnostics {
	b, _ := json.Marshal(etag)
	return p.SetKey(ctx, etagKey, b)
}
