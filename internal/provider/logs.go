package provider

// logLevelVars are the variables with which a user asks for logs that
// reach the provider: TF_LOG and TF_LOG_PROVIDER are read by Terraform
// (which passes its environment on to the provider), the others by
// terraform-plugin-go and terraform-plugin-framework in this process, and
// the last two by the test frameworks.
var logLevelVars = []string{
	"TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PROVIDER_MLOPS",
	"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK",
	"TF_ACC_LOG_PATH", "TF_LOG_PATH_MASK",
}

// quietLogVars set the levels of the loggers that are turned off when no
// log was asked for: the SDK's root logger, its protocol and framework
// subsystems (each is set, because a subsystem with its variable unset
// checks its level only after merging each line's fields), and the
// provider's own logger.
var quietLogVars = []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_MLOPS"}

// QuietUnrequestedLogs turns the SDK's and the provider's loggers off when
// the user asked for no log at all. terraform-plugin-log defaults a logger
// whose variable is unset to TRACE, so without this the provider builds and
// writes a JSON line for every framework step of every resource (a quarter
// of its CPU time in a plan of a few hundred resources), and Terraform,
// which logs nothing without TF_LOG, reads and discards them all. As soon as
// any of logLevelVars is set, every default is left as it is, so each log a
// user asks for still comes out in full. main calls it before serving,
// except under a debugger; bench/cmd/provprof does as main does.
func QuietUnrequestedLogs(getenv func(string) string, setenv func(key, value string) error) {
	for _, v := range logLevelVars {
		if getenv(v) != "" {
			return
		}
	}
	for _, v := range quietLogVars {
		// Setting a variable of this process fails only for an invalid
		// name, and these names are valid.
		_ = setenv(v, "off")
	}
}
