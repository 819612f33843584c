package sqlstore

import (
	"encoding/base64"
	"unicode/utf8"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// pageLimit applies the default and the maximum page size.
func pageLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return api.DefaultPageSize, nil
	case limit < 0 || limit > api.MaxPageSize:
		return 0, api.Errorf(api.EINVALID, "limit", "limit must be between 1 and %d", api.MaxPageSize)
	}
	return limit, nil
}

// encodePageToken returns the token of the page after name.
func encodePageToken(name string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(name))
}

// decodePageToken returns the name the token continues after ("" for the
// first page). It accepts only tokens encodePageToken could have made.
func decodePageToken(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) == 0 || !utf8.Valid(b) || encodePageToken(string(b)) != token {
		return "", api.NewError(api.EINVALID, "page_token",
			"page_token is not a token this server issued; pass the next_page_token of the previous page, or none for the first page")
	}
	return string(b), nil
}
