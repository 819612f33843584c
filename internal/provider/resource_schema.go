package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Resource attributes that every kind declares alike. Those that take a
// kind ("feature store") word their description from it; the others take
// the description.

// computedOnceAttribute is a string the provider or server sets on create
// and that never changes, such as id, uid and created_at. It keeps the state's
// value in plans, so an update does not show it as "(known after apply)".
func computedOnceAttribute(description string) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: description,
		Computed:            true,
		PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
}

func uidAttribute(kind string) schema.StringAttribute {
	return computedOnceAttribute("Unique ID the control plane assigned on create; it never changes, and a recreated " + kind + " gets a new one.")
}

func createdAtAttribute(kind string) schema.StringAttribute {
	return computedOnceAttribute("When the " + kind + " was created (RFC 3339).")
}

// immutableNameAttribute is a required object name, the object's own or one
// it refers to. The server refuses to rename, so a change replaces the
// object, and the plan says so.
func immutableNameAttribute(description string) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: description,
		Required:            true,
		PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
		Validators:          []validator.String{nameValidator()},
	}
}

// environmentAttribute is the environment an object of kind lives in.
func environmentAttribute(kind string) schema.StringAttribute {
	return immutableNameAttribute("Name of the environment the " + kind + " lives in. Changing it replaces the " + kind + ".")
}

// nameAttribute is the name of an object of kind that lives in an environment.
func nameAttribute(kind string) schema.StringAttribute {
	return immutableNameAttribute("Name of the " + kind + ", unique in its environment: 1-63 lowercase letters, digits and `-`, starting with a letter. Changing it replaces the " + kind + ".")
}

// descriptionAttribute is the free-text description of an object or of a
// part of one; it defaults to "" as on the server.
func descriptionAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "Free text for people, at most 1024 characters. Defaults to an empty string; changes in place.",
		Optional:            true,
		Computed:            true,
		Default:             stringdefault.StaticString(""),
		Validators:          []validator.String{stringvalidator.LengthAtMost(1024)},
	}
}

// labelsAttribute is an object's labels. It has no default: no labels read
// back as null (see mapFromAPI), as an omitted attribute does.
func labelsAttribute() schema.MapAttribute {
	return schema.MapAttribute{
		MarkdownDescription: "Free key/value labels (at most 64). Keys use lowercase letters, digits, `_`, `.`, `/` and `-`. Changes in place.",
		ElementType:         types.StringType,
		Optional:            true,
		Validators:          []validator.Map{mapvalidator.SizeBetween(1, 64), mapvalidator.KeysAre(labelKeyValidator())},
	}
}
