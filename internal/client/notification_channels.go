package client

import (
	"context"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// CreateNotificationChannel creates a notification channel name in
// environment env. The spec's signing secret is write-only: the returned
// channel shows "" and Status.SigningSecretSet. Returns an error that
// IsAlreadyExists when the name is taken, and one that IsInvalid (with
// ErrorField) when mlopsd rejects the spec.
func (c *Client) CreateNotificationChannel(ctx context.Context, env, name string, spec api.NotificationChannelSpec) (*api.NotificationChannel, error) {
	return createObject[api.NotificationChannel](ctx, c, api.KindNotificationChannel, env, api.CreateNotificationChannelRequest{Name: name, Spec: spec})
}

// GetNotificationChannel reads a notification channel; its signing secret
// reads as "". Returns an error that IsNotFound when it does not exist.
func (c *Client) GetNotificationChannel(ctx context.Context, env, name string) (*api.NotificationChannel, error) {
	return getObject[api.NotificationChannel](ctx, c, api.KindNotificationChannel, env, name)
}

// UpdateNotificationChannel replaces the spec of a notification channel. A
// spec without a signing secret keeps the stored one when its
// SigningSecretVersion is unchanged and removes it when the version is 0;
// a new secret needs a new version. A non-empty ifMatch (the etag last
// read) makes mlopsd refuse with an error that IsConflict when the object
// changed since.
func (c *Client) UpdateNotificationChannel(ctx context.Context, env, name string, spec api.NotificationChannelSpec, ifMatch string) (*api.NotificationChannel, error) {
	return updateObject[api.NotificationChannel](ctx, c, api.KindNotificationChannel, env, name, api.UpdateNotificationChannelRequest{Spec: spec}, ifMatch)
}

// DeleteNotificationChannel deletes a notification channel; a missing one
// counts as deleted. Alarms that name it report it as missing.
func (c *Client) DeleteNotificationChannel(ctx context.Context, env, name string) (*DeleteResult, error) {
	return deleteObject(ctx, c, api.KindNotificationChannel, env, name)
}

// ListNotificationChannels returns one page of the notification channels in
// environment env.
func (c *Client) ListNotificationChannels(ctx context.Context, env string, opts api.ListOptions) (*api.NotificationChannelList, error) {
	return listObjects[api.NotificationChannelList](ctx, c, api.KindNotificationChannel, env, opts)
}
