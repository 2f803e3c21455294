//! oxd's errors (`oxd.md` §1.4): a code, its description and its HTTP status; or an OP error passed through.

use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub enum OxdError {
    /// One of oxd's codes.
    Code { status: u16, error: &'static str, description: String },
    /// An OP 4xx answer, returned with the OP's status and raw body (oxd's `Processor.process`).
    Op { status: u16, body: String },
}

const PROTECTED_TAIL: &str = "Command is protected by access_token, please provide valid token or otherwise switch off \
     protection in configuration with protect_commands_with_access_token=false";

impl OxdError {
    pub fn code(status: u16, error: &'static str, description: impl Into<String>) -> OxdError {
        OxdError::Code { status, error, description: description.into() }
    }

    pub fn internal() -> OxdError {
        OxdError::code(500, "internal_error", "Unknown internal server error occurs.")
    }

    pub fn bad_request() -> OxdError {
        OxdError::code(400, "bad_request", "Command parameters are not specified or otherwise malformed.")
    }

    pub fn blank_oxd_id() -> OxdError {
        OxdError::code(400, "bad_request", "oxd_id is empty or not specified or is otherwise invalid (not registered).")
    }

    pub fn invalid_oxd_id() -> OxdError {
        OxdError::code(
            400,
            "invalid_oxd_id",
            "Invalid oxd_id. Unable to find the site for oxd_id. It does not exist or has been removed from the \
             server. Please use the register_site command to register a site.",
        )
    }

    pub fn invalid_request() -> OxdError {
        OxdError::code(
            400,
            "invalid_request",
            "Request is invalid. It doesn't contains all required parameters or otherwise is malformed.",
        )
    }

    /// Neither `op_configuration_endpoint` nor `op_host` given.
    pub fn no_op_location() -> OxdError {
        OxdError::code(
            400,
            "invalid_op_host_and_configuration_endpoint",
            "Both op_host and op_configuration_endpoint are invalid (empty or blank). At least one parameter should \
             be defined.",
        )
    }

    pub fn no_discovery() -> OxdError {
        OxdError::code(
            500,
            "no_connect_discovery_response",
            "Unable to fetch Connect discovery response /.well-known/openid-configuration",
        )
    }

    pub fn restricted_op_host() -> OxdError {
        OxdError::code(
            400,
            "restricted_op_host",
            "oxd server is not allowed to access op_host. Please check if op_host url is present in allowed_op_hosts \
             field of oxd-server.yml.",
        )
    }

    pub fn blank_access_token() -> OxdError {
        OxdError::code(403, "blank_access_token", format!("access_token is blank. {PROTECTED_TAIL}"))
    }

    pub fn invalid_access_token() -> OxdError {
        OxdError::code(403, "invalid_access_token", format!("Invalid access_token. {PROTECTED_TAIL}"))
    }

    pub fn inactive_access_token() -> OxdError {
        OxdError::code(403, "inactive_access_token", format!("Inactive access_token. {PROTECTED_TAIL}"))
    }

    pub fn insufficient_scope() -> OxdError {
        OxdError::code(
            403,
            "access_token_insufficient_scope",
            "access_token does not have `oxd` scope. Make sure a) scope exists on AS b) register_site is registered \
             with 'oxd' scope c) get_client_token has 'oxd' scope in request",
        )
    }

    pub fn invalid_introspection_response() -> OxdError {
        OxdError::code(
            500,
            "invalid_introspection_response",
            "AS returned introspection response with empty/blank client_id which is required by oxd. Please check \
             your AS installation and make sure AS return client_id for introspection call (CE 3.1.0 or later).",
        )
    }

    pub fn access_denied() -> OxdError {
        OxdError::code(
            403,
            "oxd_access_denied",
            "The caller is not allowed to make request to oxd. To allow add ip_address of caller in \
             `bind_ip_addresses` field of `oxd-server.yml`.",
        )
    }

    pub fn unsupported() -> OxdError {
        OxdError::code(500, "unsupported_operation", "Operation is not supported by server error.")
    }

    pub fn status(&self) -> u16 {
        match self {
            OxdError::Code { status, .. } | OxdError::Op { status, .. } => *status,
        }
    }

    /// The response body oxd sends.
    pub fn body(&self) -> String {
        match self {
            OxdError::Code { error, description, .. } => {
                json!({"error": error, "error_description": description, "details": Value::Null, "reason": Value::Null})
                    .to_string()
            }
            OxdError::Op { body, .. } => body.clone(),
        }
    }
}

impl std::fmt::Display for OxdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OxdError::Code { status, error, description } => write!(f, "{status} {error}: {description}"),
            OxdError::Op { status, body } => write!(f, "OP answered {status}: {body}"),
        }
    }
}

impl std::error::Error for OxdError {}
