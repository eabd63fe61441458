# One template for every reelstack EC2 service; the role's *.pkrvars.hcl picks what differs.
#   packer build -var-file=images/backend/backend.pkrvars.hcl \
#     -var wheel=dist/reelstack-0.1.0-py3-none-any.whl images/reelstack.pkr.hcl
# images/build.sh builds the wheel and runs exactly this.

variable "role" {
  type        = string
  description = "backend, transcoder or progress: the directory of the role's systemd units"

  validation {
    condition     = contains(["backend", "transcoder", "progress"], var.role)
    error_message = "The role must be backend, transcoder or progress."
  }
}

variable "extra_packages" {
  type        = list(string)
  default     = []
  description = "Debian packages the role needs beyond Python (the transcoder: ffmpeg)"
}

variable "wheel" {
  type        = string
  description = "Path of the reelstack wheel to install (python -m pip wheel --no-deps -w dist .)"
}

variable "constraints" {
  type        = string
  default     = "constraints.txt"
  description = "The pinned dependency set the wheel is installed with"
}

variable "git_commit" {
  type        = string
  default     = "unknown"
  description = "The commit the wheel was built from, tagged on the AMI (images/build.sh passes it)"
}

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "Region the AMI is built in (and used by the stack); the AWS agents come from its S3 buckets"
}

variable "instance_type" {
  type        = string
  default     = "t4g.medium"
  description = "Builder instance type; arm64, like the stacks' Graviton instance types"
}

variable "volume_size_gib" {
  type        = number
  default     = 16
  description = "Root volume of the AMI; launch templates may grow it"
}

variable "subnet_id" {
  type        = string
  default     = ""
  description = "Subnet to build in; empty: the default VPC"
}

locals {
  build_time = formatdate("YYYYMMDDhhmmss", timestamp())
}

source "amazon-ebs" "reelstack" {
  region        = var.region
  instance_type = var.instance_type
  subnet_id     = var.subnet_id
  # The stack boots the newest image named reelstack-<role>-* (infra MachineImage): keep the form.
  ami_name        = "reelstack-${var.role}-${local.build_time}"
  ami_description = "reelstack ${var.role}: Python 3.11, the reelstack package, systemd units"

  source_ami_filter {
    filters = {
      name                = "debian-12-arm64-*"
      architecture        = "arm64"
      virtualization-type = "hvm"
      root-device-type    = "ebs"
    }
    owners      = ["136693071363"] # Debian
    most_recent = true
  }
  ssh_username = "admin"

  encrypt_boot = true
  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = var.volume_size_gib
    volume_type           = "gp3"
    iops                  = 3000
    throughput            = 125
    encrypted             = true
    delete_on_termination = true
  }

  tags = {
    Name       = "reelstack-${var.role}"
    project    = "reelstack"
    service    = var.role
    role       = var.role
    built      = local.build_time
    git_commit = var.git_commit
  }
  snapshot_tags = {
    Name       = "reelstack-${var.role}"
    project    = "reelstack"
    service    = var.role
    git_commit = var.git_commit
  }
}

build {
  sources = ["source.amazon-ebs.reelstack"]

  # The file provisioner needs its destination directories to exist.
  provisioner "shell" {
    inline = ["mkdir -p /tmp/reelstack-build/units"]
  }

  provisioner "file" {
    source      = var.wheel
    destination = "/tmp/reelstack-build/"
  }

  provisioner "file" {
    source      = var.constraints
    destination = "/tmp/reelstack-build/constraints.txt"
  }

  provisioner "file" {
    source      = "${path.root}/${var.role}/"
    destination = "/tmp/reelstack-build/units"
  }

  provisioner "shell" {
    script          = "${path.root}/provision.sh"
    execute_command = "chmod +x {{ .Path }}; sudo env {{ .Vars }} {{ .Path }}"
    environment_vars = [
      "REELSTACK_ROLE=${var.role}",
      "REELSTACK_EXTRA_PACKAGES=${join(" ", var.extra_packages)}",
      "REELSTACK_BUILD_DIR=/tmp/reelstack-build",
      "REELSTACK_REGION=${var.region}",
    ]
  }
}
