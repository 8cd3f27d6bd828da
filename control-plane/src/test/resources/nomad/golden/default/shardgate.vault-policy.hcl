# Rendered by `shardgate render nomad` from the Helm chart's values; render again rather than editing.
# Vault policy of the Shardgate control plane (shardgate): read the Gloo Secrets in the KV v2 engine
# at secret/, at Gloo's paths (serve's --vault-mount and --vault-path-prefix defaults); nothing else.
#   vault policy write shardgate shardgate.vault-policy.hcl
path "secret/data/gloo/gloo.solo.io/v1/Secret/*" {
  capabilities = ["read"]
}
