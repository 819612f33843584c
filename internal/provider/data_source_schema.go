package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Data source attributes that every kind declares alike; the data source
// counterparts of resource_schema.go. Those that take a kind ("feature
// group") word their description from it.

// lookupNameAttribute is a name the data source looks an object up by.
func lookupNameAttribute(description string) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: description,
		Required:            true,
		Validators:          []validator.String{nameValidator()},
	}
}

// dataSourceEnvironmentAttribute is the environment an object of kind lives in.
func dataSourceEnvironmentAttribute(kind string) schema.StringAttribute {
	return lookupNameAttribute("Name of the environment the " + kind + " lives in.")
}

// dataSourceNameAttribute is the name of an object of kind.
func dataSourceNameAttribute(kind string) schema.StringAttribute {
	return lookupNameAttribute("Name of the " + kind + ".")
}

func dataSourceDescriptionAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "Free text for people; empty when unset.",
		Computed:            true,
	}
}

func dataSourceLabelsAttribute() schema.MapAttribute {
	return schema.MapAttribute{
		MarkdownDescription: "Free key/value labels; null when there are none.",
		ElementType:         types.StringType,
		Computed:            true,
	}
}

func dataSourceUIDAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "Unique ID the control plane assigned on create.",
		Computed:            true,
	}
}

func dataSourceCreatedAtAttribute(kind string) schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "When the " + kind + " was created (RFC 3339).",
		Computed:            true,
	}
}
