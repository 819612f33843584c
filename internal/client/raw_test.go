package client

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

func TestListAllJSON_Pages(t *testing.T) {
	_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/environments/dev/models" {
			t.Errorf("path %s", r.URL.Path)
		}
		if r.URL.Query().Get("page_token") == "" {
			_, _ = w.Write([]byte(`{"items":[{"metadata":{"name":"a"},"extra":1}],"next_page_token":"p2"}`))
			return
		}
		_, _ = w.Write([]byte(`{"items":[{"metadata":{"name":"b"}}]}`))
	})
	items, err := c.ListAllJSON(context.Background(), "models", "dev")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || string(items[0]) != `{"metadata":{"name":"a"},"extra":1}` {
		t.Errorf("items = %s", items)
	}
}

func TestGetJSON(t *testing.T) {
	_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/service-accounts/bot" {
			t.Errorf("path %s", r.URL.Path)
		}
		_, _ = w.Write([]byte(`{"metadata":{"name":"bot"},"unknown_to_the_types":true}`))
	})
	raw, err := c.GetJSON(context.Background(), "service-accounts", "ignored", "bot")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || string(m["unknown_to_the_types"]) != "true" {
		t.Errorf("raw = %s (%v); want the body as sent", raw, err)
	}
}

func TestGetJSON_ErrUnknownKind(t *testing.T) {
	_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request was sent: %s", r.URL)
	})
	if _, err := c.GetJSON(context.Background(), "widgets", "dev", "x"); !IsInvalid(err) || ErrorField(err) != "kind" {
		t.Errorf("err = %v", err)
	}
	if _, err := c.ListAllJSON(context.Background(), "widgets", "dev"); !IsInvalid(err) {
		t.Errorf("err = %v", err)
	}
}
