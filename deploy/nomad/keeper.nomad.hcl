# keeper on Nomad: two allocations of one crew on two clients, one active
# through etcd (keeper(1) FAILOVER, deploy/README.md).
#
#   nomad job run -var etcd=http://10.0.0.11:2379 \
#     -var repo=git@git.example.com:site/newsroom.git keeper.nomad.hcl
#
# Each allocation clones the tenant repository at start into its own
# alloc directory and keeps its state there: nothing is shared but etcd
# and the remote.

variable "etcd" {
  type        = string
  description = "etcd client URLs, comma-separated"
}

variable "repo" {
  type        = string
  description = "the tenant repository (origin), cloned at start"
}

variable "image" {
  type    = string
  default = "registry.example.com/keeper:latest"
}

job "keeper-newsroom" {
  type = "service"

  group "keeper" {
    count = 2

    # Two keepers on one client would die together.
    constraint {
      operator = "distinct_hosts"
      value    = "true"
    }

    network {
      port "http" { to = 8080 }
    }

    # The dashboard and /metrics on every allocation; /_health answers
    # 200 on a standby too, so both pass.
    service {
      name     = "keeper-newsroom"
      port     = "http"
      provider = "nomad"
      check {
        type     = "http"
        path     = "/_health"
        interval = "10s"
        timeout  = "2s"
      }
    }

    # Restart in place: a restarted keeper comes back standby.
    restart {
      attempts = 10
      interval = "10m"
      delay    = "5s"
      mode     = "delay"
    }

    task "keeper" {
      driver = "docker"

      config {
        image   = var.image
        ports   = ["http"]
        command = "/bin/sh"
        args = ["-c", <<-EOT
          set -e
          repo=/alloc/data/repo
          [ -d "$repo/.git" ] || git clone "$TENANT_REPO" "$repo"
          exec keeper run --crew /local/crew.org --repo "$repo" \
            --data "$NOMAD_ALLOC_DIR/data/keeper" --listen 0.0.0.0:8080
        EOT
        ]
      }

      env {
        KEEPER_LEASE = var.etcd
        TENANT_REPO  = var.repo
      }

      # The manifest: the same on every allocation.
      template {
        destination = "local/crew.org"
        data        = <<-EOT
          #+TITLE: newsroom
          #+LEASE-TTL: 10s
          * editor
          :PROPERTIES:
          :DEF: /alloc/data/repo/agents/editor.org
          :INTERVAL: 1h
          :END:
        EOT
      }

      # SIGTERM drains: the active keeper finishes its runs, then
      # revokes its lease and the other takes over at once.
      kill_signal  = "SIGTERM"
      kill_timeout = "15m"

      resources {
        cpu    = 500
        memory = 512
      }
    }
  }
}
