# Rendered by `shardgate render nomad` from the Helm chart's values; render again rather than editing.
# The Shardgate control plane: reads the Gloo objects from Consul KV, secrets from Vault, and serves
# each shard its xDS; registered in Consul as gloo-xds so the gateway proxies find it.
job "shardgate" {
  datacenters = ["*"]
  type = "service"

  group "control-plane" {
    count = 1

    # The state dir (the last good config of rejected resources) follows the allocation across
    # restarts and updates, as the chart's PersistentVolumeClaim does.
    ephemeral_disk {
      sticky = true
      migrate = true
      size = 1024
    }

    network {
      port "xds" {
        to = 9977
      }
      port "admin" {
        to = 9091
      }
    }

    service {
      name = "gloo-xds"
      port = "xds"
      provider = "consul"
      tags = ["shardgate", "xds"]
      check {
        name = "readyz"
        type = "http"
        port = "admin"
        path = "/readyz"
        interval = "10s"
        timeout = "2s"
      }
    }

    task "control-plane" {
      driver = "docker"

      config {
        image = "shardgate/control-plane:1.2.3-test"
        ports = ["xds", "admin"]
        args = [
          "serve",
          "--consul",
          "http://$${attr.unique.network.ip-address}:8500",
          "--vault-addr",
          "https://vault.service.consul:8200",
          "--state-dir",
          "/alloc/data",
          "--xds-address",
          "0.0.0.0",
          "--xds-port",
          "9977",
          "--admin-address",
          "0.0.0.0",
          "--admin-port",
          "9091",
          "--admin-remote-access",
          "metrics",
        ]
      }

      # Nomad's workload identity logs in to Vault with the JWT role of this name, which carries the policy
      # of the same name (shardgate.vault-policy.hcl); the task gets VAULT_TOKEN.
      vault {
        role = "shardgate"
        change_mode = "restart"
      }

      env {
        JAVA_TOOL_OPTIONS = "-XX:MaxRAMPercentage=75"
      }

      resources {
        cpu = 250
        memory = 1024
      }
    }
  }
}
