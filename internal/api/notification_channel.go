package api

// Notification channel types.
const (
	// ChannelWebhook POSTs AlarmNotificationBody as JSON to URL, signed
	// with HMAC-SHA256 when the channel has a signing secret.
	ChannelWebhook = "webhook"
)

// ChannelTypes lists every notification channel type.
var ChannelTypes = []string{ChannelWebhook}

// NotificationChannelSpec is what a user declares about a notification
// channel.
type NotificationChannelSpec struct {
	// Description is free text for people.
	Description string `json:"description,omitempty"`
	// Type is one of ChannelTypes.
	Type string `json:"type"`
	// URL is the http:// or https:// address a webhook is POSTed to.
	URL string `json:"url"`
	// SigningSecret is write-only: the server keeps it to sign deliveries
	// and never returns it (reads show ""). An update that sends "" with
	// an unchanged SigningSecretVersion keeps the stored secret; one that
	// sends "" with version 0 removes it; rotating means sending a new
	// secret with a new version.
	SigningSecret string `json:"signing_secret,omitempty"`
	// SigningSecretVersion is chosen by the client and read back, so a
	// configuration can tell which secret the server has; 0 means none.
	SigningSecretVersion int64 `json:"signing_secret_version"`
}

// NotificationChannelStatus is observed state of a notification channel.
type NotificationChannelStatus struct {
	Status
	// SigningSecretSet says whether the server holds a signing secret.
	SigningSecretSet bool `json:"signing_secret_set"`
}

// NotificationChannel is where alarm notifications go.
type NotificationChannel struct {
	Metadata Metadata                  `json:"metadata"`
	Spec     NotificationChannelSpec   `json:"spec"`
	Status   NotificationChannelStatus `json:"status"`
}

// NotificationChannelList is one page of notification channels.
type NotificationChannelList struct {
	Items         []NotificationChannel `json:"items"`
	NextPageToken string                `json:"next_page_token,omitempty"`
}

// CreateNotificationChannelRequest is the body of POST .../notification-channels.
type CreateNotificationChannelRequest struct {
	Name string                  `json:"name"`
	Spec NotificationChannelSpec `json:"spec"`
}

// UpdateNotificationChannelRequest is the body of PUT .../notification-channels/{name}.
type UpdateNotificationChannelRequest struct {
	Spec NotificationChannelSpec `json:"spec"`
}
