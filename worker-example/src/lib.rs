//! The example Cloudflare Worker. Until the worker-example issue lands it only shows that the
//! SDK's public configuration API is usable from a separate crate.

/// Reads the `IDENTITY_CONFIG` JSON a deployment would carry and answers the field it gets wrong.
pub fn check_identity_config(json: &str) -> Result<(), edge_identity::ConfigError> {
    let config = edge_identity::IdentityConfig::from_json(json)?;
    config.azure_ad.validation_options().map(|_| ())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_missing_client_id_is_reported_by_name() {
        let err =
            super::check_identity_config(r#"{"AzureAd": {"TenantId": "common"}}"#).unwrap_err();
        assert_eq!(err.field, "AzureAd.ClientId");
    }
}
