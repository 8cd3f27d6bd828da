# Rendered by `shardgate render nomad` from the Helm chart's values; render again rather than editing.
# Vault policy of the Shardgate control plane (shardgate): read the Gloo secrets in the KV v2 engine
# at secret/ under gloo/ (Gloo's layout), data and metadata (versions), nothing else.
#   vault policy write shardgate shardgate.vault-policy.hcl
path "secret/data/gloo/*" {
  capabilities = ["read", "list"]
}
path "secret/metadata/gloo/*" {
  capabilities = ["read", "list"]
}
